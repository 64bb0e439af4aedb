package output

import (
	"fmt"
	"strings"

	"github.com/opscentre/opscentre/rulegen/internal/compile"
)

// Catalog renders the alert catalog: every alert with its tier, owner, condition in words
// and runbook, and a budget line with the number of rules and series the spec creates.
func Catalog(source string, res *compile.Result) []byte {
	var c catalog
	for _, g := range res.Groups {
		c.add(catalogOf(g))
	}
	return c.render(source)
}

// catalogPart is one alert's share of the catalog.
type catalogPart struct {
	rows                    string
	notes, noTests          []string
	records, alerts, series int
}

func catalogOf(g *compile.Group) catalogPart {
	var p catalogPart
	for _, r := range g.Rules {
		if r.Record != "" {
			p.records++
		} else {
			p.alerts++
		}
	}
	p.series = g.Series
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
	var b strings.Builder
	for _, r := range g.Rules {
		if r.Alert == "" {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s | %s |\n", r.Alert, r.Tier, a.Team, a.Owner, kind, escape(r.Condition), runbook)
	}
	p.rows = b.String()
	for _, n := range g.Notes {
		p.notes = append(p.notes, fmt.Sprintf("- %s: %s", a.Name, n))
	}
	for _, n := range g.NoTests {
		p.noTests = append(p.noTests, fmt.Sprintf("- %s: %s", a.Name, n))
	}
	return p
}

// catalog gathers the parts of every alert, in spec order.
type catalog struct {
	rows                            strings.Builder
	notes, noTests                  []string
	groups, records, alerts, series int
}

func (c *catalog) add(p catalogPart) {
	c.rows.WriteString(p.rows)
	c.notes = append(c.notes, p.notes...)
	c.noTests = append(c.noTests, p.noTests...)
	c.groups++
	c.records += p.records
	c.alerts += p.alerts
	c.series += p.series
}

func (c *catalog) render(source string) []byte {
	var b strings.Builder
	b.Grow(c.rows.Len() + 1024)
	fmt.Fprintf(&b, "<!-- %s Source: %s -->\n\n# Alert catalog\n\n", Header, source)
	fmt.Fprintf(&b, "Budget: %d spec alerts compile to %d recording rules and %d alerting rules, creating %d recorded series per label combination (e.g. per model).\n\n", c.groups, c.records, c.alerts, c.series)
	b.WriteString("| Alert | Tier | Team / owner | Kind | Fires when | Runbook |\n|---|---|---|---|---|---|\n")
	b.WriteString(c.rows.String())
	if len(c.notes) > 0 {
		b.WriteString("\n## Notes\n\n" + strings.Join(c.notes, "\n") + "\n")
	}
	if len(c.noTests) > 0 {
		b.WriteString("\n## Test scenarios not generated\n\n" + strings.Join(c.noTests, "\n") + "\n")
	}
	return []byte(b.String())
}

// cellEscaper keeps a table cell on one line and its pipes literal.
var cellEscaper = strings.NewReplacer("|", `\|`, "\n", " ")

func escape(s string) string { return cellEscaper.Replace(s) }
