package lint

import (
	"fmt"
	"regexp"
	"sort"
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
// that keep it valid: durations for the time variables, a plain word for the
// rest (they appear inside label matcher strings).
func Substitute(expr string) string {
	return varRef.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := timeVars[name]; ok {
			return v
		}
		return "x"
	})
}

// ParsePromQL parses a dashboard expression after substituting its variables.
func ParsePromQL(expr string) (parser.Expr, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(Substitute(expr))
	if err != nil {
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
