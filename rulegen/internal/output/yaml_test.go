package output

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/rulegen/internal/check"
	"github.com/opscentre/opscentre/rulegen/internal/compile"
)

// The reflective encoding rule files were written with before ruleYAML; ruleYAML must
// produce the same bytes, so committed outputs stay as they are.
type refRule struct {
	Record        string            `yaml:"record,omitempty"`
	Alert         string            `yaml:"alert,omitempty"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for,omitempty"`
	KeepFiringFor string            `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty"`
	Annotations   map[string]string `yaml:"annotations,omitempty"`
}

type refGroup struct {
	Name  string    `yaml:"name"`
	Rules []refRule `yaml:"rules"`
}

type refGroups struct {
	Groups []refGroup `yaml:"groups"`
}

func refEncode(t testing.TB, gs []*compile.Group) []byte { return refEncodeIn(t, "", gs) }

// refEncodeIn encodes the groups, under the key parent when it is not empty.
func refEncodeIn(t testing.TB, parent string, gs []*compile.Group) []byte {
	var out refGroups
	out.Groups = []refGroup{}
	for _, g := range gs {
		rg := refGroup{Name: "opscentre-" + g.Name}
		for _, r := range g.Rules {
			ann := map[string]string{}
			for k, v := range r.Annotations {
				if v != "" {
					ann[k] = v
				}
			}
			rg.Rules = append(rg.Rules, refRule{Record: r.Record, Alert: r.Alert, Expr: r.Expr,
				For: durStr(r.For), KeepFiringFor: durStr(r.KeepFiringFor), Labels: r.Labels, Annotations: ann})
		}
		out.Groups = append(out.Groups, rg)
	}
	var v any = out
	if parent != "" {
		v = map[string]refGroups{parent: out}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	require.NoError(t, enc.Encode(v))
	require.NoError(t, enc.Close())
	return b.Bytes()
}

func fuzzGroups(name, expr, key, value string) []*compile.Group {
	return []*compile.Group{
		{Name: name, Rules: []compile.Rule{
			{Record: "model:" + name + ":value", Expr: expr},
			{Alert: value, Expr: expr, For: 5 * time.Minute, KeepFiringFor: 90 * time.Second,
				Labels:      map[string]string{key: value, "tier": "P1", "severity": value},
				Annotations: map[string]string{"summary": value, key: expr, "runbook": value + "\n" + expr, "empty": ""}},
		}},
		{Name: "second", Rules: []compile.Rule{{Alert: "A", Expr: "up == 0", Labels: map[string]string{"a": ""}}}},
	}
}

// FuzzRuleYAML: for any strings in any position, the hand-written rule YAML equals what
// yaml.v3 writes for the same groups, at the indentation of a rule file and of the
// PrometheusRule resource.
func FuzzRuleYAML(f *testing.F) {
	for _, s := range [][4]string{
		{"x", "sum by (model) (rate(x[5m])) > 0.05", "summary", "{{ $labels.model }} is slow"},
		{"x", "a: b", "k", "true"},
		{"x", "5m", "on", "No"},
		{"x", " lead", "#c", "trail "},
		{"x", "multi\nline\n", "k", "'quoted' \"double\""},
		{"x", "é ünïcode — × 14.4", "k", "\t tab"},
		{"x", "- item", "? q", ": colon"},
		{"x", "---", "...", "%pct"},
		{"x", "0x1F", "1e3", "2001-12-14"},
		{"x", "a #b", "a#b", "1:20"},
		{"x", "\u2028ls", "\u0085nel", "\ufeffbom"},
		{"x", "😀 four bytes", "k", "\x00nul"},
		{"x", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, name, expr, key, value string) {
		gs := fuzzGroups(name, expr, key, value)
		want := refEncode(t, gs)
		y := newRuleYAML()
		got := y.groups(nil, 0, gs)
		require.Equal(t, string(want), string(got))
		// Cached fallbacks give the same bytes again.
		require.Equal(t, string(want), string(y.groups(nil, 0, gs)))
		// Nested two columns deeper (the PrometheusRule resource), the same lines move right.
		require.Equal(t, string(refEncodeIn(t, "spec", gs)), "spec:\n"+string(y.groups(nil, 2, gs)))
	})
}

// TestRuleYAMLLoadsInRulefmt: a generated rule file with awkward strings loads in rulefmt
// and reads back the same values.
func TestRuleYAMLLoadsInRulefmt(t *testing.T) {
	gs := fuzzGroups("x", "sum by (model) (rate(x[5m])) > 0.05", "k", "it's: 'odd' #1 — ×")
	b := newRuleYAML().groups(nil, 0, gs)
	require.NoError(t, check.RuleFile(b))
	var back refGroups
	require.NoError(t, yaml.Unmarshal(b, &back))
	require.Equal(t, "it's: 'odd' #1 — ×", back.Groups[0].Rules[1].Annotations["summary"])
	require.Equal(t, model.Duration(90*time.Second).String(), back.Groups[0].Rules[1].KeepFiringFor)
}
