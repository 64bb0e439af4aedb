package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// Options change how strict parsing is.
type Options struct {
	// AllowMissingRunbooks turns a missing runbook into a warning instead of an error.
	AllowMissingRunbooks bool
}

var (
	alertNameRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	promParser  = parser.NewParser(parser.Options{})
)

// ParseExpr parses a PromQL expression with the parser Prometheus itself uses.
func ParseExpr(expr string) (parser.Expr, error) {
	return promParser.ParseExpr(expr)
}

// Parse reads a spec. It returns the spec and every problem found; the spec is nil when any
// problem is not a warning.
func Parse(file string, data []byte, opts Options) (*Spec, Errors) {
	d := &decoder{file: file}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", "empty spec; expected a mapping with apiVersion: %s", APIVersion)
		} else {
			d.errorf(nil, "", "invalid YAML: %v", err)
		}
		return nil, d.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "", "a spec file holds one YAML document; found a second one")
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	s := &Spec{File: file}
	var (
		tiersNode, alertsNode, defaultsNode *yaml.Node
		apiPos                              Pos
	)
	ok := d.mapping(doc, "", fields{
		"apiVersion":     d.strPos(&s.APIVersion, &apiPos),
		"business_hours": func(n *yaml.Node, p string) { d.businessHours(n, p, &s.BusinessHours) },
		"tiers":          func(n *yaml.Node, _ string) { tiersNode = n },
		"receivers":      func(n *yaml.Node, p string) { d.receivers(n, p, s) },
		"defaults":       func(n *yaml.Node, _ string) { defaultsNode = n },
		"alerts":         func(n *yaml.Node, _ string) { alertsNode = n },
		"gates":          func(n *yaml.Node, p string) { s.Gates = d.gates(n, p) },
	})
	if !ok {
		return nil, d.errs
	}
	switch {
	case s.APIVersion == "":
		d.errorf(doc, "apiVersion", "missing apiVersion; expected %q", APIVersion)
	case s.APIVersion != APIVersion:
		d.errs = append(d.errs, &Error{Pos: apiPos, Msg: fmt.Sprintf("unsupported apiVersion %q; expected %q", s.APIVersion, APIVersion)})
	}
	if tiersNode == nil {
		d.errorf(doc, "tiers", "missing tiers; define at least one of P1, P2, P3, P4")
	} else {
		d.tiers(tiersNode, "tiers", s)
	}
	s.Defaults = Defaults{For: 5 * time.Minute, KeepFiringFor: 5 * time.Minute}
	if defaultsNode != nil {
		d.defaults(defaultsNode, "defaults", &s.Defaults)
	}
	if alertsNode == nil {
		d.errorf(doc, "alerts", "missing alerts; expected a list of alerts")
	} else {
		d.list(alertsNode, "alerts", func(n *yaml.Node, p string) {
			if a := d.alert(n, p, s, opts); a != nil {
				s.Alerts = append(s.Alerts, a)
			}
		})
	}
	d.validate(s)
	d.errs.sort()
	if len(d.errs.Fatal()) > 0 {
		return nil, d.errs
	}
	return s, d.errs
}

// amParse runs an Alertmanager time-interval type's own YAML parser on a spec value, so
// business hours accept exactly what the generated time_intervals entry will load with.
func amParse(dst interface{ UnmarshalYAML(func(any) error) error }, v any) error {
	return dst.UnmarshalYAML(func(out any) error {
		var n yaml.Node
		if err := n.Encode(v); err != nil {
			return err
		}
		return n.Decode(out)
	})
}

// timeRange is the YAML of an Alertmanager time range.
type timeRange struct {
	StartTime string `yaml:"start_time"`
	EndTime   string `yaml:"end_time"`
}

func (d *decoder) businessHours(n *yaml.Node, path string, bh *BusinessHours) {
	var startPos, endPos, tzPos Pos
	d.mapping(n, path, fields{
		"timezone": d.strPos(&bh.Timezone, &tzPos),
		"weekdays": func(n *yaml.Node, p string) {
			d.stringList(&bh.Weekdays)(n, p)
			for i, w := range bh.Weekdays {
				if amParse(&timeinterval.WeekdayRange{}, w) != nil {
					d.errorf(resolve(n).Content[i], index(p, i), "invalid weekday %q; expected a day name or range such as monday:friday", w)
				}
			}
		},
		"start": d.strPos(&bh.Start, &startPos),
		"end":   d.strPos(&bh.End, &endPos),
	})
	if bh.Timezone != "" {
		if amParse(&timeinterval.Location{}, bh.Timezone) != nil {
			d.errs = append(d.errs, &Error{Pos: tzPos, Msg: fmt.Sprintf("unknown timezone %q; expected an IANA name such as Europe/Berlin", bh.Timezone)})
		}
	}
	// Each bound against the widest partner first, so the message points at the bad one.
	okStart := bh.Start == "" || amParse(&timeinterval.TimeRange{}, timeRange{bh.Start, "24:00"}) == nil
	okEnd := bh.End == "" || amParse(&timeinterval.TimeRange{}, timeRange{"00:00", bh.End}) == nil
	if !okStart {
		d.errs = append(d.errs, &Error{Pos: startPos, Msg: fmt.Sprintf("invalid time %q; expected HH:MM (24h) before 24:00", bh.Start)})
	}
	if !okEnd {
		d.errs = append(d.errs, &Error{Pos: endPos, Msg: fmt.Sprintf("invalid time %q; expected HH:MM (24h) after 00:00", bh.End)})
	}
	if bh.Start != "" && bh.End != "" && okStart && okEnd && amParse(&timeinterval.TimeRange{}, timeRange{bh.Start, bh.End}) != nil {
		d.errs = append(d.errs, &Error{Pos: endPos, Msg: fmt.Sprintf("end %s must be after start %s", bh.End, bh.Start)})
	}
}

func (d *decoder) receivers(n *yaml.Node, path string, s *Spec) {
	d.list(n, path, func(n *yaml.Node, p string) {
		r := &Receiver{Pos: d.pos(resolve(n), p)}
		d.mapping(n, p, fields{"name": d.str(&r.Name), "url": d.str(&r.URL)})
		if r.Name == "" {
			d.errorf(n, join(p, "name"), "missing receiver name")
			return
		}
		if r.URL == "" {
			d.errorf(n, join(p, "url"), "missing url; expected the webhook URL, e.g. http://127.0.0.1:9478/api/v1/alertmanager")
			return
		}
		if !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
			d.errorf(n, join(p, "url"), "url %q must start with http:// or https://", r.URL)
			return
		}
		s.Receivers = append(s.Receivers, r)
	})
}

func (d *decoder) tiers(n *yaml.Node, path string, s *Spec) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of tiers (P1..P4), got %s", kindName(n))
		return
	}
	byID := map[string]*Tier{}
	fs := fields{}
	for _, id := range tierIDs {
		fs[id] = func(n *yaml.Node, p string) {
			t := &Tier{ID: id, Pos: d.pos(resolve(n), p)}
			d.mapping(n, p, fields{
				"name":            d.str(&t.Name),
				"severity":        d.str(&t.Severity),
				"response_time":   d.str(&t.ResponseTime),
				"hours":           d.str(&t.Hours),
				"receivers":       d.stringList(&t.Receivers),
				"group_wait":      d.duration(&t.GroupWait, nil),
				"group_interval":  d.duration(&t.GroupInterval, nil),
				"repeat_interval": d.duration(&t.RepeatInterval, nil),
			})
			if t.Name == "" {
				d.errorf(n, join(p, "name"), "missing tier name (e.g. Critical)")
			}
			if t.ResponseTime == "" {
				d.errorf(n, join(p, "response_time"), "missing response_time (e.g. immediate, 1h)")
			}
			switch t.Hours {
			case "":
				t.Hours = "always"
			case "always", "business":
			default:
				d.errorf(n, join(p, "hours"), "invalid hours %q; expected always or business", t.Hours)
			}
			if t.Severity == "" {
				t.Severity = map[string]string{"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}[id]
			}
			if t.GroupWait == 0 {
				t.GroupWait = 30 * time.Second
			}
			if t.GroupInterval == 0 {
				t.GroupInterval = 5 * time.Minute
			}
			if t.RepeatInterval == 0 {
				t.RepeatInterval = 4 * time.Hour
			}
			byID[id] = t
		}
	}
	d.mapping(n, path, fs)
	for _, id := range tierIDs {
		if t := byID[id]; t != nil {
			s.Tiers = append(s.Tiers, t)
		}
	}
}

func (d *decoder) defaults(n *yaml.Node, path string, def *Defaults) {
	d.mapping(n, path, fields{
		"for":             d.duration(&def.For, nil),
		"keep_firing_for": d.duration(&def.KeepFiringFor, nil),
		"team":            d.str(&def.Team),
		"owner":           d.str(&def.Owner),
		"labels":          d.stringMap(&def.Labels),
	})
}

func (d *decoder) gates(n *yaml.Node, path string) *Gates {
	g := &Gates{Window: time.Hour, Pos: d.pos(resolve(n), path)}
	d.mapping(n, path, fields{
		"window":               d.duration(&g.Window, nil),
		"max_accuracy_drop":    d.number(&g.MaxAccuracyDrop, &g.MaxAccuracyDropSet),
		"no_firing_tiers":      d.stringList(&g.NoFiringTiers),
		"max_drifted_share":    d.number(&g.MaxDriftedShare, &g.MaxDriftedShareSet),
		"max_p95_latency":      d.number(&g.MaxP95Latency, &g.MaxP95LatencySet),
		"max_cost_per_request": d.number(&g.MaxCostPerRequest, &g.MaxCostPerRequestSet),
	})
	if g.Window <= 0 {
		d.errorf(n, join(path, "window"), "window must be > 0")
	}
	for i, t := range g.NoFiringTiers {
		if !contains(tierIDs, t) {
			d.errorf(n, index(join(path, "no_firing_tiers"), i), "unknown tier %q; expected one of P1, P2, P3, P4", t)
		}
	}
	return g
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// alert decodes one alert; the kind-specific blocks are decoded by kinds.go.
func (d *decoder) alert(n *yaml.Node, path string, s *Spec, opts Options) *Alert {
	a := &Alert{Pos: d.pos(resolve(n), path)}
	var (
		forSet, kffSet bool
		kinds          []string
		presetNode     *yaml.Node
		paramsNode     *yaml.Node
		presetPath     string
		paramsPath     string
	)
	kind := func(name string, f func(*yaml.Node, string)) func(*yaml.Node, string) {
		return func(n *yaml.Node, p string) {
			kinds = append(kinds, name)
			a.ExprPos = d.pos(resolve(n), p)
			f(n, p)
		}
	}
	ok := d.mapping(n, path, fields{
		"name":            d.str(&a.Name),
		"tier":            d.str(&a.Tier),
		"team":            d.str(&a.Team),
		"owner":           d.str(&a.Owner),
		"runbook_url":     d.str(&a.RunbookURL),
		"runbook":         d.stringList(&a.Runbook),
		"summary":         d.str(&a.Summary),
		"description":     d.str(&a.Description),
		"labels":          d.stringMap(&a.Labels),
		"for":             d.duration(&a.For, &forSet),
		"keep_firing_for": d.duration(&a.KeepFiringFor, &kffSet),
		"threshold":       kind("threshold", func(n *yaml.Node, p string) { a.Threshold = d.threshold(n, p) }),
		"change":          kind("change", func(n *yaml.Node, p string) { a.Change = d.change(n, p) }),
		"anomaly":         kind("anomaly", func(n *yaml.Node, p string) { a.Anomaly = d.anomaly(n, p) }),
		"trend":           kind("trend", func(n *yaml.Node, p string) { a.Trend = d.trend(n, p) }),
		"absence":         kind("absence", func(n *yaml.Node, p string) { a.Absence = d.absence(n, p) }),
		"slo":             kind("slo", func(n *yaml.Node, p string) { a.SLO = d.slo(n, p) }),
		"preset": func(n *yaml.Node, p string) {
			kinds = append(kinds, "preset")
			presetNode, presetPath = n, p
			a.ExprPos = d.pos(resolve(n), p)
			d.str(&a.Preset)(n, p)
		},
		"params":   func(n *yaml.Node, p string) { paramsNode, paramsPath = n, p },
		"evidence": func(n *yaml.Node, p string) { a.Evidence = d.evidence(n, p) },
	})
	if !ok {
		return nil
	}
	if a.Name == "" {
		d.errorf(n, join(path, "name"), "missing alert name")
	} else if !alertNameRE.MatchString(a.Name) {
		d.errorf(n, join(path, "name"), "invalid alert name %q; expected UpperCamelCase letters and digits (e.g. AccuracyDrop)", a.Name)
	}
	switch len(kinds) {
	case 0:
		d.errorf(n, path, "alert %q has no kind; expected exactly one of threshold, change, anomaly, trend, absence, slo, preset", a.Name)
	case 1:
	default:
		d.errorf(n, path, "alert %q has %d kinds (%s); expected exactly one", a.Name, len(kinds), strings.Join(kinds, ", "))
	}
	if paramsNode != nil && presetNode == nil {
		d.errorf(paramsNode, paramsPath, "params is only valid with preset")
	}
	if presetNode != nil && a.Preset != "" {
		d.expandPreset(a, presetNode, presetPath, paramsNode, paramsPath)
	}
	if a.Tier == "" {
		d.errorf(n, join(path, "tier"), "missing tier; expected one of P1, P2, P3, P4")
	} else if s.Tier(a.Tier) == nil {
		d.errorf(n, join(path, "tier"), "alert %q uses tier %q, which is not defined under tiers", a.Name, a.Tier)
	}
	if a.Team == "" {
		a.Team = s.Defaults.Team
	}
	if a.Owner == "" {
		a.Owner = s.Defaults.Owner
	}
	if a.Owner == "" {
		a.Owner = a.Team
	}
	if a.Team == "" {
		d.errorf(n, join(path, "team"), "alert %q has no team; set team on the alert or under defaults", a.Name)
	}
	if !forSet {
		a.For = s.Defaults.For
	}
	if !kffSet {
		a.KeepFiringFor = s.Defaults.KeepFiringFor
	}
	labels := map[string]string{}
	for k, v := range s.Defaults.Labels {
		labels[k] = v
	}
	for k, v := range a.Labels {
		labels[k] = v
	}
	a.Labels = labels
	for k := range a.Labels {
		if !model.LegacyValidation.IsValidLabelName(k) {
			d.errorf(n, join(join(path, "labels"), k), "invalid label name %q", k)
		}
		switch k {
		case "tier", "severity", "team", "owner", "alertname":
			d.errorf(n, join(join(path, "labels"), k), "label %q is set by rulegen from the alert's fields; remove it from labels", k)
		}
	}
	if a.RunbookURL == "" && len(a.Runbook) == 0 {
		msg := fmt.Sprintf("alert %q has no runbook; set runbook_url or runbook (inline steps)", a.Name)
		if opts.AllowMissingRunbooks {
			d.warnf(n, join(path, "runbook_url"), "%s", msg)
		} else {
			d.errorf(n, join(path, "runbook_url"), "%s (or pass --allow-missing-runbooks)", msg)
		}
	}
	if a.RunbookURL != "" && !strings.HasPrefix(a.RunbookURL, "http://") && !strings.HasPrefix(a.RunbookURL, "https://") {
		d.errorf(n, join(path, "runbook_url"), "runbook_url %q must be an http(s) URL", a.RunbookURL)
	}
	return a
}

// evidence decodes an alert's evidence hints: features and causes, each a list of names.
func (d *decoder) evidence(n *yaml.Node, path string) *EvidenceHints {
	h := &EvidenceHints{}
	if !d.mapping(n, path, fields{
		"features": d.stringList(&h.Features),
		"causes":   d.stringList(&h.Causes),
	}) {
		return nil
	}
	for i, f := range h.Features {
		// The annotation joins the features with commas, so a name may not hold one.
		if strings.TrimSpace(f) == "" || strings.ContainsAny(f, ",\n") || len(f) > 200 {
			d.errorf(n, index(join(path, "features"), i), "invalid feature %q; expected a feature name (no commas or newlines, at most 200 bytes)", f)
		}
	}
	for i, c := range h.Causes {
		if !contains(EvidenceCauses(), c) {
			d.errorf(n, index(join(path, "causes"), i), "unknown cause %q; expected one of %s", c, strings.Join(EvidenceCauses(), ", "))
		}
	}
	if len(h.Features) == 0 && len(h.Causes) == 0 {
		d.errorf(n, path, "evidence hints are empty; expected features, causes or both")
	}
	return h
}

// durString formats a duration the way Prometheus writes it (1d, 5m, 1h30m).
func durString(v time.Duration) string { return model.Duration(v).String() }
