package output

import (
	"fmt"
	"strings"

	"github.com/opscentre/opscentre/rulegen/compile"
)

// Catalog renders the alert catalog: every alert with its tier, owner, condition in words
// and runbook, and a budget line with the number of rules and series the spec creates.
func Catalog(source string, res *compile.Result) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- %s Source: %s -->\n\n# Alert catalog\n\n", Header, source)
	records, alerts, series := 0, 0, 0
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				records++
			} else {
				alerts++
			}
		}
		series += g.Series
	}
	fmt.Fprintf(&b, "Budget: %d spec alerts compile to %d recording rules and %d alerting rules, creating %d recorded series per label combination (e.g. per model).\n\n", len(res.Groups), records, alerts, series)
	b.WriteString("| Alert | Tier | Team / owner | Kind | Fires when | Runbook |\n|---|---|---|---|---|---|\n")
	for _, g := range res.Groups {
		a := g.Alert
		kind := a.Kind()
		if a.Preset != "" {
			kind += " (preset " + a.Preset + ")"
		}
		runbook := a.RunbookURL
		if runbook != "" {
			runbook = "[link](" + runbook + ")"
		}
		if len(a.Runbook) > 0 {
			if runbook != "" {
				runbook += "; "
			}
			runbook += fmt.Sprintf("%d inline steps", len(a.Runbook))
		}
		if runbook == "" {
			runbook = "**missing**"
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s | %s |\n", r.Alert, r.Tier, a.Team, a.Owner, kind, escape(r.Condition), runbook)
		}
	}
	var notes []string
	for _, g := range res.Groups {
		for _, n := range g.Notes {
			notes = append(notes, fmt.Sprintf("- %s: %s", g.Alert.Name, n))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n" + strings.Join(notes, "\n") + "\n")
	}
	notes = nil
	for _, g := range res.Groups {
		for _, n := range g.NoTests {
			notes = append(notes, fmt.Sprintf("- %s: %s", g.Alert.Name, n))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Test scenarios not generated\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return []byte(b.String())
}

func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
