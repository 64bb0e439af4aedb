package lint

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana replaces these before the query reaches Prometheus. The linter puts
// distinctive durations in their place, so the parsed range of a matrix
// selector tells which variable it came from.
const (
	rateIntervalStandIn = 7*time.Minute + 13*time.Second
	rangeStandIn        = 3*time.Hour + 17*time.Minute + 19*time.Second
	intervalStandIn     = time.Minute + 1*time.Second
)

// stringStandIn replaces a variable inside a string literal; it keeps the
// name, so a rule can tell model=~"$model" from model=~"$version".
func stringStandIn(name string) string { return "var_" + name }

var (
	varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]`)

	timeVars = map[string]string{
		"__rate_interval": "7m13s",
		"__range":         "3h17m19s",
		"__interval":      "1m1s",
		"__range_s":       "11839",
		"__range_ms":      "11839000",
		"__interval_ms":   "61000",
	}
)

// Substitute replaces Grafana variables in a PromQL expression with values
// that keep it valid: durations for the time variables, var_<name> inside a
// string (a label matcher's value) and a number elsewhere (a threshold or
// budget typed into a textbox variable).
func Substitute(expr string) string {
	quoted := quotedSpans(expr)
	var b strings.Builder
	last := 0
	for _, loc := range varRef.FindAllStringSubmatchIndex(expr, -1) {
		b.WriteString(expr[last:loc[0]])
		last = loc[1]
		name := ""
		for g := 1; g <= 3; g++ {
			if loc[2*g] >= 0 {
				name = expr[loc[2*g]:loc[2*g+1]]
			}
		}
		switch v, ok := timeVars[name]; {
		case ok:
			b.WriteString(v)
		case quoted[loc[0]]:
			b.WriteString(stringStandIn(name))
		default:
			b.WriteString("1")
		}
	}
	b.WriteString(expr[last:])
	return b.String()
}

// quotedSpans marks the bytes of expr that lie inside a PromQL string literal
// ("…", '…' or `…`), honouring backslash escapes in the first two.
func quotedSpans(expr string) []bool {
	in := make([]bool, len(expr))
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
		case quote != 0 && c == '\\' && quote != '`':
			in[i] = true
			if i+1 < len(expr) {
				i++
				in[i] = true
			}
			continue
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			in[i] = true
		}
	}
	return in
}

// ParsePromQL parses a dashboard expression after substituting its variables.
func ParsePromQL(expr string) (parser.Expr, error) {
	sub := Substitute(expr)
	e, err := parser.NewParser(parser.Options{}).ParseExpr(sub)
	if err != nil {
		if sub != expr { // the positions in err refer to the substituted text
			return nil, fmt.Errorf("PromQL does not parse: %w (in %s)", err, sub)
		}
		return nil, fmt.Errorf("PromQL does not parse: %w", err)
	}
	return e, nil
}

// MetricNames returns the metric names an expression selects, sorted and
// without duplicates.
func MetricNames(expr string) ([]string, error) {
	e, err := ParsePromQL(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if name := selectorName(vs); name != "" {
				seen[name] = true
			}
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func selectorName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// labelValuesQuery matches a Prometheus template-variable query
// label_values(<selector>, <label>), whose selector is PromQL.
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// VariableSelector returns the PromQL selector inside a label_values() variable
// query, or "" when the query has another form.
func VariableSelector(query string) string {
	m := labelValuesQuery.FindStringSubmatch(query)
	if m == nil {
		return ""
	}
	return m[1]
}

func isRangeFunc(name string) bool {
	switch name {
	case "rate", "irate", "increase":
		return true
	}
	return false
}

func formatDuration(d time.Duration) string {
	switch d {
	case rateIntervalStandIn:
		return "$__rate_interval"
	case rangeStandIn:
		return "$__range"
	case intervalStandIn:
		return "$__interval"
	}
	return model.Duration(d).String()
}
