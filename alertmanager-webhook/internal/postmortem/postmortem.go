// Package postmortem drafts a blameless post-mortem of an incident in Markdown from what
// incidentd already knows — its times, tier, timeline, alerts, containment actions and the
// changes made just before it — and leaves the sections only people can write (root cause,
// lessons, action items) as prompts to fill.
//
// The draft is rendered on demand and is never stored; what people edit is stored by the
// store as the incident's post-mortem.
package postmortem

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// Input is everything the draft is built from.
type Input struct {
	Incident    *store.Detail
	ActionItems []store.ActionItem
	// SLA gives the acknowledge target per tier, to say whether it was met.
	SLA incident.SLA
	// Now is used for an incident that is still open.
	Now time.Time
	// Evidence is what incidentd gathered when the incident opened (nil: none).
	Evidence *evidence.Report
}

type event struct {
	at   time.Time
	text string
}

// Draft renders the Markdown draft.
func Draft(in Input) string {
	d := in.Incident
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	p("# Post-mortem: %s\n\n", md(d.Title))
	p("_Incident #%d · tier %s · state %s · drafted by incidentd at %s. This review is blameless: it asks how the system and its processes allowed this, not who is at fault._\n\n",
		d.ID, d.Tier, d.State, ts(in.Now))

	p("## Summary\n\n")
	summary := d.Summary
	if summary == "" {
		summary = d.Title
	}
	p("%s\n\n", md(summary))
	scope := []string{}
	if d.Model != "" {
		scope = append(scope, "model `"+d.Model+"`")
	}
	if d.Team != "" {
		scope = append(scope, "team `"+d.Team+"`")
	}
	if len(scope) > 0 {
		p("Affected: %s.\n\n", strings.Join(scope, ", "))
	}

	p("## Impact\n\n")
	end := d.ResolvedAt
	open := end.IsZero()
	if open {
		end = in.Now
	}
	p("| | |\n|---|---|\n")
	p("| Tier | %s (%s) |\n", d.Tier, tierName(d.Tier))
	p("| Detected | %s |\n", ts(d.DetectedAt))
	if !d.TriagedAt.IsZero() {
		p("| Acknowledged | %s (time to acknowledge %s) |\n", ts(d.TriagedAt), dur(d.TriagedAt.Sub(d.DetectedAt)))
	} else {
		p("| Acknowledged | not acknowledged |\n")
	}
	if !d.ContainedAt.IsZero() {
		p("| Contained | %s (%s after detection) |\n", ts(d.ContainedAt), dur(d.ContainedAt.Sub(d.DetectedAt)))
	}
	if open {
		p("| Resolved | still open at %s |\n", ts(in.Now))
	} else {
		p("| Resolved | %s (time to resolve %s, by %s) |\n", ts(d.ResolvedAt), dur(d.ResolvedAt.Sub(d.DetectedAt)), orDash(d.ResolvedBy))
	}
	p("| Duration | %s%s |\n", dur(end.Sub(d.DetectedAt)), map[bool]string{true: " so far", false: ""}[open])
	if target, ok := in.SLA[d.Tier]; ok && target > 0 {
		// Met only by an acknowledgement: an incident nobody acknowledged did not meet it,
		// even when it resolved by itself before the target passed.
		verdict := "met"
		switch {
		case d.SLABreached:
			verdict = "**missed**"
		case d.TriagedAt.IsZero() && open:
			verdict = "not acknowledged yet"
		case d.TriagedAt.IsZero():
			verdict = "never acknowledged (resolved before the target passed)"
		}
		p("| Acknowledge target | %s, %s |\n", dur(target), verdict)
	}
	p("| Alerts | %d (%d still firing) |\n", d.AlertsTotal, d.AlertsFiring)
	if d.ReopenCount > 0 {
		p("| Reopened | %d times |\n", d.ReopenCount)
	}
	p("\n_Describe the effect on users and the business (requests failed, wrong predictions served, cost)._\n\n")

	p("## Timeline\n\n")
	var evs []event
	for _, a := range d.Alerts {
		name := a.Labels["alertname"]
		if name == "" {
			name = a.Fingerprint
		}
		evs = append(evs, event{a.StartsAt, fmt.Sprintf("alert `%s` fired", name)})
		if !a.EndsAt.IsZero() {
			evs = append(evs, event{a.EndsAt, fmt.Sprintf("alert `%s` resolved", name)})
		}
	}
	for _, t := range d.Timeline {
		evs = append(evs, event{t.At, timelineText(t)})
	}
	for _, c := range d.RelatedChanges {
		evs = append(evs, event{c.At, fmt.Sprintf("change: %s %s", c.Kind, md(c.Title))})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	for _, e := range evs {
		p("- %s — %s\n", ts(e.at), e.text)
	}
	p("\n")

	p("## What changed before detection\n\n")
	if len(d.RelatedChanges) == 0 {
		p("No change of this model, service or team was recorded in the window before detection.\n\n")
	}
	for _, c := range d.RelatedChanges {
		line := fmt.Sprintf("- %s before detection: **%s** %s", dur(time.Duration(c.BeforeDetectionSeconds*float64(time.Second))), c.Kind, md(c.Title))
		if c.Version != "" {
			line += " (version `" + c.Version + "`)"
		}
		line += fmt.Sprintf(" — %s, matched on %s", md(c.Actor), c.Match)
		if c.Link != "" {
			line += " — " + c.Link
		}
		p("%s\n", line)
	}
	if len(d.RelatedChanges) > 0 {
		p("\n")
	}

	knewAtDetection(p, in.Evidence)

	p("## Containment\n\n")
	n := 0
	for _, note := range d.Notes {
		if note.Kind != "containment" {
			continue
		}
		n++
		p("- %s — %s: %s (%s)\n", ts(note.At), note.ContainmentKind, md(note.Text), md(note.Actor))
	}
	// Containments applied, lifted or considered by policies (see package containment).
	for _, t := range d.Timeline {
		if !strings.HasPrefix(t.Kind, "containment_") {
			continue
		}
		n++
		p("- %s — %s\n", ts(t.At), timelineText(t))
	}
	if n == 0 {
		p("No containment action was recorded.\n")
	}
	p("\n")

	p("## Root cause\n\n_What in the system, its data or its process made this possible? Ask \"why\" until the answer is something we can change._\n\n")
	p("## What went well, what did not\n\n_Detection, alert quality, routing, runbook, communication._\n\n")

	p("## Action items\n\n")
	if len(in.ActionItems) == 0 {
		p("| owner | action | due | status |\n|---|---|---|---|\n| _owner_ | _action_ | _date_ | open |\n")
	} else {
		p("| owner | action | due | status |\n|---|---|---|---|\n")
		for _, it := range in.ActionItems {
			due := "–"
			if !it.DueAt.IsZero() {
				due = it.DueAt.Format("2006-01-02")
			}
			p("| %s | %s | %s | %s |\n", cell(it.Owner), cell(it.Text), due, it.Status)
		}
	}
	return b.String()
}

func timelineText(t store.TimelineEntry) string {
	var s string
	switch t.Kind {
	case "opened":
		s = "incident opened"
	case "transition", "ack", "reopened":
		s = fmt.Sprintf("%s → %s", orDash(string(t.From)), t.To)
	default:
		s = strings.ReplaceAll(t.Kind, "_", " ")
	}
	s += " (" + md(t.Actor) + ")"
	if t.Note != "" {
		s += ": " + md(t.Note)
	}
	return s
}

func tierName(t incident.Tier) string {
	switch t {
	case incident.P1:
		return "critical, immediate response"
	case incident.P2:
		return "high, within an hour"
	case incident.P3:
		return "medium, within a day"
	case incident.P4:
		return "low, next sprint"
	}
	return "unknown"
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// dur prints a duration rounded for people: 1h 5m, 3m 20s, 2d 4h.
func dur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// md keeps user text on one line so it cannot break the document's structure.
func md(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func cell(s string) string { return strings.ReplaceAll(md(s), "|", `\|`) }
