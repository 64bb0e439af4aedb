// Package oncall answers "who is on call for team X at time T" and "is it business hours
// for team X": teams, their schedules (rotations with a hand-off time in a time zone, an
// ordered list of members, overrides for a period) and business hours with a holiday
// calendar.
//
// Day-based rotations (daily, weekly, custom whole days) hand off at the same wall-clock
// time in the schedule's zone every time, so across a DST change a shift lasts 23 or 25
// real hours; hour-based custom rotations count elapsed hours, so their wall-clock hand-off
// moves by an hour instead. Both are what people expect from their kind of rota.
package oncall

import (
	"fmt"
	"time"
	_ "time/tzdata" // schedules must resolve their zones even on hosts without zoneinfo

	"github.com/prometheus/alertmanager/timeinterval"
)

// Directory is the compiled on-call configuration: teams by name. It is immutable; a
// reload builds a new one.
type Directory struct {
	teams map[string]*Team
	names []string
}

// Team is a team with its schedules and business hours.
type Team struct {
	Name      string
	Schedules []*Schedule // in configured order: the first is the primary
	Hours     BusinessHours
}

// Schedule is a rotation plus overrides.
type Schedule struct {
	Name      string
	Loc       *time.Location
	Members   []string
	Start     time.Time // first shift's start (the anchor), in Loc
	Days      int       // shift length in wall-clock days; 0 when Hours is used
	Hours     time.Duration
	Overrides []Override
}

// Override puts Member on call in [Start, End) instead of the rotation.
type Override struct {
	Member     string
	Start, End time.Time
}

// BusinessHours is a team's working week in its zone, minus holidays. The week is an
// Alertmanager time interval, evaluated by Alertmanager's code, so it agrees with a
// time_intervals entry of alertmanager.yml written the same way (rulegen writes one).
type BusinessHours struct {
	Loc      *time.Location
	Interval timeinterval.TimeInterval // weekdays and times of day, located in Loc
	Holidays map[civilDate]bool
}

type civilDate struct {
	Y int
	M time.Month
	D int
}

func dateOf(t time.Time) civilDate { y, m, d := t.Date(); return civilDate{y, m, d} }

// Team returns a team by name.
func (d *Directory) Team(name string) (*Team, bool) {
	if d == nil {
		return nil, false
	}
	t, ok := d.teams[name]
	return t, ok
}

// Teams lists team names in order.
func (d *Directory) Teams() []string {
	if d == nil {
		return nil
	}
	return append([]string(nil), d.names...)
}

// Shift is who is on call on a schedule at a moment.
type Shift struct {
	Schedule string    `json:"schedule"`
	Member   string    `json:"member"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Override bool      `json:"override"`
}

// shiftStart is the start of the k-th rotation shift (k may be negative).
func (s *Schedule) shiftStart(k int) time.Time {
	if s.Days > 0 {
		// Wall-clock arithmetic: time.Date normalizes day overflow and resolves the
		// hand-off time in the zone's offset of that very day.
		return time.Date(s.Start.Year(), s.Start.Month(), s.Start.Day()+k*s.Days, s.Start.Hour(), s.Start.Minute(), 0, 0, s.Loc)
	}
	return s.Start.Add(time.Duration(k) * s.Hours)
}

// rotation returns the rotation's shift containing t.
func (s *Schedule) rotation(t time.Time) (k int, start, end time.Time) {
	// Estimate with the nominal length, then correct for DST by walking at most a step.
	nominal := s.Hours
	if s.Days > 0 {
		nominal = time.Duration(s.Days) * 24 * time.Hour
	}
	d := t.Sub(s.Start)
	k = int(d / nominal)
	if d < 0 && d%nominal != 0 {
		k--
	}
	for s.shiftStart(k).After(t) {
		k--
	}
	for !s.shiftStart(k + 1).After(t) {
		k++
	}
	return k, s.shiftStart(k), s.shiftStart(k + 1)
}

// At returns who is on call at t. The last override covering t wins over the rotation.
// t is clamped to the years 1900–2300, where shift arithmetic is exact.
func (s *Schedule) At(t time.Time) Shift {
	if lo := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); t.Before(lo) {
		t = lo
	} else if hi := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC); t.After(hi) {
		t = hi
	}
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		o := s.Overrides[i]
		if !t.Before(o.Start) && t.Before(o.End) {
			return Shift{Schedule: s.Name, Member: o.Member, Start: o.Start.UTC(), End: o.End.UTC(), Override: true}
		}
	}
	k, start, end := s.rotation(t)
	n := len(s.Members)
	idx := ((k % n) + n) % n
	// An override starting inside this shift ends the rotation's part early.
	for _, o := range s.Overrides {
		if o.Start.After(t) && o.Start.Before(end) {
			end = o.Start
		}
	}
	return Shift{Schedule: s.Name, Member: s.Members[idx], Start: start.UTC(), End: end.UTC()}
}

// OnCall returns who is on call for team at t, one shift per schedule in order.
func (d *Directory) OnCall(team string, t time.Time) ([]Shift, error) {
	tm, ok := d.Team(team)
	if !ok {
		return nil, fmt.Errorf("team %q: not configured (known: %v)", team, d.Teams())
	}
	out := make([]Shift, 0, len(tm.Schedules))
	for _, s := range tm.Schedules {
		out = append(out, s.At(t))
	}
	return out, nil
}

// Schedule finds a schedule by name in any team ("team/schedule" or a unique "schedule").
func (d *Directory) Schedule(name string) (*Schedule, bool) {
	if d == nil {
		return nil, false
	}
	for _, tn := range d.names {
		for _, s := range d.teams[tn].Schedules {
			if tn+"/"+s.Name == name || s.Name == name {
				return s, true
			}
		}
	}
	return nil, false
}

// Open reports whether t falls in business hours (a working day that is not a holiday,
// between start and end local time). A team without configured hours is always open.
func (b BusinessHours) Open(t time.Time) bool {
	if b.Loc == nil {
		return true
	}
	lt := t.In(b.Loc)
	return !b.Holidays[dateOf(lt)] && b.Interval.ContainsTime(lt)
}

// NextOpen returns t if business hours are open at t, else the start of the next business
// period (searching a year ahead; the zero time if none, which validation prevents).
func (b BusinessHours) NextOpen(t time.Time) time.Time {
	if b.Open(t) {
		return t
	}
	// Business hours open at the start of one of the interval's time ranges (or at
	// midnight when it has none): the earliest such moment after t that is open.
	starts := []int{0}
	if len(b.Interval.Times) > 0 {
		starts = starts[:0]
		for _, tr := range b.Interval.Times {
			starts = append(starts, tr.StartMinute)
		}
	}
	lt := t.In(b.Loc)
	for i := 0; i <= 366; i++ {
		var next time.Time
		for _, m := range starts {
			c := time.Date(lt.Year(), lt.Month(), lt.Day()+i, 0, m, 0, 0, b.Loc)
			if c.After(t) && b.Open(c) && (next.IsZero() || c.Before(next)) {
				next = c
			}
		}
		if !next.IsZero() {
			return next
		}
	}
	return time.Time{}
}
