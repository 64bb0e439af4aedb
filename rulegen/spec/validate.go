package spec

import (
	"fmt"
)

// validate checks what needs the whole spec: duplicate names, receivers tiers refer to,
// and the tiers a slow-burn alert uses.
func (d *decoder) validate(s *Spec) {
	seen := map[string]*Alert{}
	for _, a := range s.Alerts {
		if a.Name == "" {
			continue
		}
		if prev, dup := seen[a.Name]; dup {
			d.errs = append(d.errs, &Error{Pos: withPath(a.Pos, "name"), Msg: fmt.Sprintf("duplicate alert name %q; first defined at line %d", a.Name, prev.Pos.Line)})
			continue
		}
		seen[a.Name] = a
		if a.SLO != nil && a.SLO.SlowTier != "" && s.Tier(a.SLO.SlowTier) == nil {
			d.errs = append(d.errs, &Error{Pos: withPath(a.ExprPos, "slow_tier"), Msg: fmt.Sprintf("slow_tier %q is not defined under tiers", a.SLO.SlowTier)})
		}
	}
	names := map[string]bool{}
	for _, r := range s.Receivers {
		if names[r.Name] {
			d.errs = append(d.errs, &Error{Pos: r.Pos, Msg: fmt.Sprintf("duplicate receiver name %q", r.Name)})
		}
		names[r.Name] = true
	}
	for _, t := range s.Tiers {
		for i, r := range t.Receivers {
			if !names[r] && r != DefaultReceiver {
				d.errs = append(d.errs, &Error{Pos: withPath(t.Pos, fmt.Sprintf("receivers[%d]", i)), Msg: fmt.Sprintf("tier %s uses receiver %q, which is not defined under receivers (the built-in one is %q)", t.ID, r, DefaultReceiver)})
			}
		}
	}
	bh := s.BusinessHours
	if len(bh.Weekdays) > 0 && bh.Start != "" && bh.End != "" {
		return
	}
	for _, t := range s.Tiers {
		if t.Hours == "business" {
			d.errs = append(d.errs, &Error{Pos: withPath(t.Pos, "hours"), Msg: fmt.Sprintf("tier %s uses hours: business, so business_hours needs weekdays, start and end", t.ID)})
			return
		}
	}
}

// DefaultReceiver is the receiver every tier without receivers uses: incidentd's webhook.
const DefaultReceiver = "incidentd"

// DefaultReceiverURL is where incidentd listens for Alertmanager webhooks.
const DefaultReceiverURL = "http://127.0.0.1:9478/api/v1/alertmanager"

func withPath(p Pos, sub string) Pos {
	p.Path = join(p.Path, sub)
	return p
}
