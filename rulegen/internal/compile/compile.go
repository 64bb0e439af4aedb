// Package compile turns a validated spec into Prometheus recording and alerting rules and
// promtool unit tests, one file per alert kind. Every generated expression is parsed with
// the Prometheus PromQL parser and checked for label-set mismatches on binary operators and
// for selectors that read the rule's own output.
package compile

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// Rule is one generated recording or alerting rule.
type Rule struct {
	Record        string
	Alert         string
	Expr          string
	For           time.Duration
	KeepFiringFor time.Duration
	Labels        map[string]string
	Annotations   map[string]string
	// Tier of an alerting rule (an SLO has a fast and a slow one).
	Tier string
	// Condition in words, for the catalog.
	Condition string
}

// Group is the rules of one spec alert; rules in a group run in order, so recording rules
// come before the alert reading them.
type Group struct {
	Name  string
	Alert *spec.Alert
	Rules []Rule
	Tests *TestFile
	// NoTests explains why some generated scenarios are missing (e.g. a blip cannot be shorter
	// than `for` when the expression's range window is longer).
	NoTests []string
	// Notes are facts about the generated rules worth a line in the catalog (a burn window a
	// preset's objective makes impossible, say).
	Notes []string
	// Series estimates how many series the group's rules produce per label combination.
	Series int
}

// Result is a compiled spec.
type Result struct {
	Spec     *spec.Spec
	Groups   []*Group
	Warnings spec.Errors
}

// Compile compiles every alert of s. Problems carry the position of the alert at fault.
func Compile(s *spec.Spec) (*Result, spec.Errors) {
	res := &Result{Spec: s}
	// Alerts compile independently; spread them over the cores and collect in spec order,
	// so output stays deterministic.
	ctxs := make([]*ctx, len(s.Alerts))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ctxs[i] = compileAlert(s, s.Alerts[i])
			}
		}()
	}
	for i := range s.Alerts {
		work <- i
	}
	close(work)
	wg.Wait()
	var errs spec.Errors
	names := Names{}
	for _, c := range ctxs {
		if err := names.Add(c.group); err != nil {
			c.errs = append(c.errs, err)
		}
		errs = append(errs, c.errs...)
		res.Warnings = append(res.Warnings, c.warns...)
		if len(c.errs) == 0 {
			res.Groups = append(res.Groups, c.group)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return res, nil
}

// Alert compiles one alert of s: its group of rules and tests, warnings and errors. Alerts
// compile independently of each other; Names catches two whose names collide.
func Alert(s *spec.Spec, a *spec.Alert) (g *Group, warnings, errs spec.Errors) {
	c := compileAlert(s, a)
	return c.group, c.warns, c.errs
}

// Names remembers the slug of every alert compiled so far, in spec order.
type Names map[string]*spec.Alert

// Add records g's name and returns an error when an earlier alert had the same slug.
func (n Names) Add(g *Group) *spec.Error {
	a := g.Alert
	prev, dup := n[g.Name]
	n[g.Name] = a
	if !dup {
		return nil
	}
	return &spec.Error{Pos: a.Pos, Msg: fmt.Sprintf("alert %q and alert %q (line %d) both become %q in rule and file names; rename one", a.Name, prev.Name, prev.Pos.Line, g.Name)}
}

func compileAlert(s *spec.Spec, a *spec.Alert) *ctx {
	c := &ctx{spec: s, alert: a, group: &Group{Name: slug(a.Name), Alert: a}, asts: map[string]parsed{}, tmpls: map[string]parser.Expr{}}
	fn, ok := kinds[a.Kind()]
	if !ok {
		c.errs = append(c.errs, &spec.Error{Pos: a.Pos, Msg: fmt.Sprintf("alert %q has no kind", a.Name)})
		return c
	}
	fn(c)
	c.check()
	return c
}

// kinds maps an alert kind to the function compiling it; each lives in its own file.
var kinds = map[string]func(*ctx){
	"threshold": compileThreshold,
	"change":    compileChange,
	"anomaly":   compileAnomaly,
	"trend":     compileTrend,
	"absence":   compileAbsence,
	"slo":       compileSLO,
}

// ctx carries one alert through compilation.
type ctx struct {
	spec  *spec.Spec
	alert *spec.Alert
	group *Group
	errs  spec.Errors
	warns spec.Errors
	// inputs are the user's (or preset's) expressions, which must not read this alert's output.
	inputs []string
	// asts holds every expression of the alert parsed once: kinds, test generation, label
	// checks and rulefmt read the same AST instead of parsing the text again.
	asts map[string]parsed
	// tmpls are SLO templates parsed with a sentinel window (window.go).
	tmpls map[string]parser.Expr
}

type parsed struct {
	expr parser.Expr
	err  error
}

// parse parses a PromQL expression with the Prometheus parser, once per alert.
func (c *ctx) parse(expr string) (parser.Expr, error) {
	if p, ok := c.asts[expr]; ok {
		return p.expr, p.err
	}
	e, err := spec.ParseExpr(expr)
	c.asts[expr] = parsed{e, err}
	return e, err
}

// parseInput parses a user's expression, its {{window}} placeholder (SLOs) read as 5m.
func (c *ctx) parseInput(expr string) (parser.Expr, error) {
	return c.parse(strings.ReplaceAll(expr, spec.WindowPlaceholder, "5m"))
}

func (c *ctx) errorf(format string, args ...any) {
	c.errs = append(c.errs, &spec.Error{Pos: c.alert.ExprPos, Msg: fmt.Sprintf(format, args...)})
}

func (c *ctx) warnf(format string, args ...any) {
	c.warns = append(c.warns, &spec.Error{Pos: c.alert.ExprPos, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// record adds a recording rule named level:metric:operations and returns its name.
func (c *ctx) record(by []string, ops, expr string) string {
	name := level(by) + ":" + c.group.Name + ":" + ops
	c.group.Rules = append(c.group.Rules, Rule{Record: name, Expr: expr})
	return name
}

// alertRule adds the alerting rule with the tier's labels and the annotations.
func (c *ctx) alertRule(name, tierID, expr, condition string, forDur time.Duration) {
	a := c.alert
	t := c.spec.Tier(tierID)
	labels := map[string]string{}
	for k, v := range a.Labels {
		labels[k] = v
	}
	labels["tier"] = tierID
	labels["severity"] = t.Severity
	labels["team"] = a.Team
	labels["owner"] = a.Owner
	ann := map[string]string{
		"response_time": t.ResponseTime,
		"summary":       a.Summary,
		"description":   a.Description,
	}
	if ann["summary"] == "" {
		ann["summary"] = a.Name + " (" + a.Kind() + ") is firing"
	}
	if ann["description"] == "" {
		ann["description"] = "Fires when " + condition + "."
	}
	if a.RunbookURL != "" {
		ann["runbook_url"] = a.RunbookURL
	}
	if len(a.Runbook) > 0 {
		steps := make([]string, len(a.Runbook))
		for i, s := range a.Runbook {
			steps[i] = fmt.Sprintf("%d. %s", i+1, s)
		}
		ann["runbook"] = strings.Join(steps, "\n")
	}
	if h := a.Evidence; h != nil {
		// incidentd reads these from the incident's opening alert to order its evidence.
		ann[spec.AnnotationEvidenceFeatures] = strings.Join(h.Features, ",")
		ann[spec.AnnotationEvidenceCauses] = strings.Join(h.Causes, ",")
	}
	for k, v := range ann {
		if v == "" {
			delete(ann, k) // a tier without a response time: no empty annotation
		}
	}
	c.group.Rules = append(c.group.Rules, Rule{
		Alert: name, Expr: expr, For: forDur, KeepFiringFor: a.KeepFiringFor,
		Labels: labels, Annotations: ann, Tier: tierID, Condition: condition,
	})
}

var (
	camelRE   = regexp.MustCompile(`([a-z0-9])([A-Z])`)
	nonWordRE = regexp.MustCompile(`[^a-z0-9_]+`)
)

// slug turns AccuracyDrop into accuracy_drop for metric and file names.
func slug(name string) string {
	s := strings.ToLower(camelRE.ReplaceAllString(name, "${1}_${2}"))
	return nonWordRE.ReplaceAllString(s, "_")
}

// level is the aggregation level of a recording rule: the labels it keeps.
func level(by []string) string {
	if len(by) == 0 {
		return "global"
	}
	return strings.Join(by, "_")
}

func num(v float64) string { return spec.FormatNum(v) }

func dur(d time.Duration) string { return spec.FormatDuration(d) }

func onBy(by []string) string { return "on (" + strings.Join(by, ", ") + ")" }

// rulefmt is the rule as its rule file states it, for validation with Prometheus's rulefmt.
func (r *Rule) rulefmt() rulefmt.Rule {
	return rulefmt.Rule{
		Record: r.Record, Alert: r.Alert, Expr: r.Expr,
		For: model.Duration(r.For), KeepFiringFor: model.Duration(r.KeepFiringFor),
		Labels: r.Labels, Annotations: r.Annotations,
	}
}
