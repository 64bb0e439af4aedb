package gen

import (
	"fmt"
	"strings"
)

// Catalog renders the list of dashboards and their panels as Markdown for
// dashboards/README.md, so the documentation is generated from the same code
// as the JSON and cannot drift from it.
func Catalog() (string, error) {
	ds, err := All()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, d := range ds {
		db := d.Dashboard
		fmt.Fprintf(&b, "### %s\n\n", deref(db.Title))
		fmt.Fprintf(&b, "`%s` · UID `%s` · %s\n\n", "json/"+d.File, deref(db.Uid), deref(db.Description))
		b.WriteString("| panel | visualisation | unit | shows |\n|---|---|---|---|\n")
		for _, p := range db.Panels {
			if p.RowPanel != nil {
				fmt.Fprintf(&b, "| **%s** | | | |\n", deref(p.RowPanel.Title))
				continue
			}
			if p.Panel == nil {
				continue
			}
			unit := ""
			if p.Panel.FieldConfig != nil {
				unit = deref(p.Panel.FieldConfig.Defaults.Unit)
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", deref(p.Panel.Title), p.Panel.Type, unit, strings.ReplaceAll(deref(p.Panel.Description), "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
