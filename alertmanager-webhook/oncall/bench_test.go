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
