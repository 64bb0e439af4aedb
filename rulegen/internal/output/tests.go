package output

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/opscentre/opscentre/rulegen/internal/compile"
)

// plain reports whether YAML reads s back unchanged without quotes: [A-Za-z_][A-Za-z0-9_./-]*
// (a hand-written match: the regular expression was a tenth of the test files' cost).
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '/' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// quote writes a YAML scalar: plain when unambiguous, otherwise a JSON string, which is a
// valid YAML double-quoted scalar.
func quote(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return `"` + s + `"`
	}
	if plain(s) {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func writeMap(b *strings.Builder, indent string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(indent + quote(k) + ": " + quote(m[k]) + "\n")
	}
}

// testFile writes the promtool unit tests of one group; they read the group's own rule file.
// The file is written directly rather than through a YAML encoder: test inputs are long
// value strings, and encoding thousands of them dominated the time to generate a large spec.
func testFile(source string, g *compile.Group) []byte {
	var b strings.Builder
	b.WriteString(header(source))
	for _, n := range g.NoTests {
		b.WriteString("# Not generated: " + n + "\n")
	}
	b.WriteString("rule_files:\n  - " + quote("../rules/"+g.Name+".rules.yml") + "\n")
	b.WriteString("evaluation_interval: " + durStr(g.Tests.EvalInterval) + "\n")
	b.WriteString("tests:\n")
	for _, tc := range g.Tests.Tests {
		b.WriteString("  - name: " + quote(tc.Name) + "\n")
		b.WriteString("    interval: " + durStr(tc.Interval) + "\n")
		b.WriteString("    input_series:\n")
		for _, in := range tc.Inputs {
			b.WriteString("      - series: " + quote(in.Series) + "\n")
			b.WriteString("        values: " + quote(in.Values) + "\n")
		}
		b.WriteString("    alert_rule_test:\n")
		for _, ch := range tc.Checks {
			b.WriteString("      - eval_time: " + durStr(ch.EvalTime) + "\n")
			b.WriteString("        alertname: " + quote(ch.Alertname) + "\n")
			if len(ch.Exp) == 0 {
				b.WriteString("        exp_alerts: []\n")
				continue
			}
			b.WriteString("        exp_alerts:\n")
			for _, e := range ch.Exp {
				b.WriteString("          - exp_labels:\n")
				writeMap(&b, "              ", e.Labels)
				if len(e.Annotations) > 0 {
					b.WriteString("            exp_annotations:\n")
					writeMap(&b, "              ", e.Annotations)
				}
			}
		}
	}
	return []byte(b.String())
}
