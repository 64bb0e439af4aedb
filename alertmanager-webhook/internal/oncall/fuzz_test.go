package oncall

import (
	"errors"
	"testing"
	"time"
)

// FuzzCompile feeds arbitrary YAML to the on-call section: it compiles, or fails with a
// ConfigError (or a YAML error) — never a panic — and a compiled directory answers.
func FuzzCompile(f *testing.F) {
	f.Add(schedules)
	f.Add("teams:\n- name: t\n  schedules:\n  - {name: s, timezone: UTC, rotation: custom, shift_length: 1h, start: 2026-01-01, members: [a]}\n")
	f.Add("holidays: {x: [2026-02-29]}\n")
	f.Add("teams:\n- name: t\n  business_hours: {timezone: Asia/Kathmandu, days: [sat], start: \"23:59\", end: \"23:59\"}\n")
	f.Add("teams:\n- name: t\n  business_hours: {location: Asia/Kathmandu, weekdays: [\"friday:monday\"], times: [{start_time: \"22:00\", end_time: \"24:00\"}, {start_time: \"00:00\", end_time: \"01:30\"}]}\n")
	f.Add("holidays: {h: [2026-03-30]}\nteams:\n- name: t\n  business_hours: {timezone: Europe/Berlin, weekdays: [monday], start: \"02:00\", end: \"02:30\", holidays: h}\n")
	f.Fuzz(func(t *testing.T, src string) {
		d, err := parse(src)
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) && ce.Path == "" {
				t.Fatalf("config error without a path: %v", err)
			}
			return
		}
		at := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
		for _, name := range d.Teams() {
			shifts, err := d.OnCall(name, at)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range shifts {
				if !s.Start.Before(s.End) || at.Before(s.Start) || !at.Before(s.End) || s.Member == "" {
					t.Fatalf("bad shift %+v at %s", s, at)
				}
			}
			tm, _ := d.Team(name)
			if n := tm.Hours.NextOpen(at); tm.Hours.Loc != nil && !n.IsZero() && !tm.Hours.Open(n) {
				t.Fatalf("NextOpen %s is not open", n)
			}
		}
	})
}
