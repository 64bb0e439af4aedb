package postmortem

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
)

// knewAtDetection writes the "What we knew at detection" section: the causes the evidence
// supported with their numbers, and which causes it ruled out or could not judge.
func knewAtDetection(p func(string, ...any), r *evidence.Report) {
	p("## What we knew at detection\n\n")
	if r == nil {
		p("No evidence was gathered for this incident (incidentd has no `prometheus` configured, or the gathering had not finished).\n\n")
		return
	}
	p("Evidence gathered by incidentd at %s for model `%s`, comparing the %s up to detection with the same window %s earlier.\n\n",
		ts(r.At), md(r.Model), r.Window, r.Baseline)
	var others []string
	supported := 0
	for _, c := range r.Causes {
		if c.Verdict != evidence.Supported {
			others = append(others, fmt.Sprintf("%s %s", strings.ReplaceAll(c.Name, "_", " "), strings.ReplaceAll(string(c.Verdict), "_", " ")))
			continue
		}
		supported++
		p("- **%s** supported: %s\n", strings.ReplaceAll(c.Name, "_", " "), md(c.Reason))
		for _, f := range c.Findings {
			line := "  - " + md(f.Name)
			if f.Now != nil {
				line += fmt.Sprintf(": now %.3g", *f.Now)
			}
			if f.Before != nil {
				line += fmt.Sprintf(", before %.3g", *f.Before)
			}
			if f.Note != "" {
				line += " — " + md(f.Note)
			}
			if f.Query != "" {
				line += " — `" + strings.ReplaceAll(f.Query, "`", "'") + "`"
			}
			p("%s\n", line)
		}
	}
	if supported == 0 {
		p("No cause was supported by the evidence.\n")
	}
	if len(others) > 0 {
		p("\nOther causes: %s.\n", strings.Join(others, "; "))
	}
	if len(r.Errors) > 0 {
		p("\n%d of %d queries failed; causes that needed them are unknown.\n", len(r.Errors), r.Queries)
	}
	p("\n")
}

// MaxRootCause bounds the root cause quoted from a post-mortem elsewhere (similar incidents).
const MaxRootCause = 280

// RootCause returns the "Root cause" section of a post-mortem as one line, without the
// draft's prompt, cut to MaxRootCause bytes; "" when the section is missing or unwritten.
func RootCause(text string) string {
	var lines []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "## ") || strings.HasPrefix(t, "# ") {
			if in {
				break
			}
			in = strings.EqualFold(strings.TrimSpace(strings.TrimLeft(t, "# ")), "root cause")
			continue
		}
		if in && t != "" && !strings.HasPrefix(t, "_What in the system") {
			lines = append(lines, t)
		}
	}
	s := md(strings.Join(lines, " "))
	if len(s) > MaxRootCause {
		cut := MaxRootCause
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
