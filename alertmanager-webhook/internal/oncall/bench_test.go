package oncall

import (
	"testing"
	"time"
)

// BenchmarkScheduleAt is the cost of "who is on call" (every escalation step asks), for a
// daily rotation a year after its anchor and for an hourly one.
func BenchmarkScheduleAt(b *testing.B) {
	d, err := parse(schedules)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2027, 3, 29, 7, 30, 0, 0, time.UTC)
	for _, name := range []string{"berlin-spring", "ny-12h"} {
		s, _ := d.Schedule(name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if s.At(at).Member == "" {
					b.Fatal("nobody")
				}
			}
		})
	}
}

// BenchmarkBusinessHours is the cost of the tier policy's questions (every new incident
// asks both): is it business hours now, and if not, when do they start — on the evening
// before a holiday (Thanksgiving), so the search skips a day.
func BenchmarkBusinessHours(b *testing.B) {
	d, err := parse(schedules)
	if err != nil {
		b.Fatal(err)
	}
	ny, _ := d.Team("search")
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC) // Wednesday 22:00 in New York
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			if ny.Hours.Open(at) {
				b.Fatal("open")
			}
		}
	})
	b.Run("next-open", func(b *testing.B) {
		for b.Loop() {
			if ny.Hours.NextOpen(at).IsZero() {
				b.Fatal("never")
			}
		}
	})
}
