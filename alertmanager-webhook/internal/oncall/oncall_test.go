package oncall

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func compile(t *testing.T, src string) *Directory {
	t.Helper()
	d, err := parse(src)
	require.NoError(t, err)
	return d
}

func parse(src string) (*Directory, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return Compile(Config{}, nil)
	}
	var c Config
	if err := doc.Decode(&c); err != nil {
		return nil, err
	}
	return Compile(c, doc.Content[0])
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

const schedules = `
holidays:
  us: [2026-11-26]
teams:
- name: risk
  business_hours: {timezone: Europe/Berlin, start: "09:00", end: "17:00"}
  schedules:
  - {name: berlin-spring, timezone: Europe/Berlin, rotation: daily, start: 2026-03-27, handoff: "09:00", members: [a, b, c],
     overrides: [{member: dave, start: "2026-03-29T10:00:00+02:00", end: "2026-03-29T12:00:00+02:00"}]}
  - {name: berlin-fall, timezone: Europe/Berlin, rotation: daily, start: 2026-10-23, handoff: "09:00", members: [a, b, c]}
  - {name: berlin-gap, timezone: Europe/Berlin, rotation: daily, start: 2026-03-27, handoff: "02:30", members: [a, b, c]}
- name: search
  business_hours: {timezone: America/New_York, days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00", holidays: us}
  schedules:
  - {name: ny-spring, timezone: America/New_York, rotation: weekly, start: 2026-03-02, handoff: "09:00", members: [x, y]}
  - {name: ny-fall, timezone: America/New_York, rotation: weekly, start: 2026-10-26, handoff: "09:00", members: [x, y]}
  - {name: ny-12h, timezone: America/New_York, rotation: custom, shift_length: 12h, start: 2026-03-07, handoff: "08:00", members: [p, q]}
  - {name: ny-3d, timezone: America/New_York, rotation: custom, shift_length: 3d, start: 2026-10-30, handoff: "08:00", members: [p, q]}
`

// Expected values are worked out by hand from the zones' rules: Berlin springs forward on
// 2026-03-29 (CET+1 → CEST+2) and falls back on 2026-10-25; New York on 2026-03-08 and
// 2026-11-01 (EST-5 ↔ EDT-4).
func TestWhoIsOnCallAcrossDST(t *testing.T) {
	d := compile(t, schedules)
	for _, tc := range []struct {
		schedule, at, member, start, end string
	}{
		// Berlin, spring: the 09:00 hand-off is 08:00Z before and 07:00Z after the change.
		{"berlin-spring", "2026-03-28T08:00:00Z", "b", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"}, // a 23-hour shift
		{"berlin-spring", "2026-03-29T06:59:59Z", "b", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"},
		{"berlin-spring", "2026-03-29T07:30:00Z", "c", "2026-03-29T07:00:00Z", "2026-03-29T08:00:00Z"}, // cut short by dave's override
		{"berlin-spring", "2026-03-29T08:30:00Z", "dave", "2026-03-29T08:00:00Z", "2026-03-29T10:00:00Z"},
		{"berlin-spring", "2026-03-29T10:00:00Z", "c", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"},
		{"berlin-spring", "2026-03-26T10:00:00Z", "c", "2026-03-26T08:00:00Z", "2026-03-27T08:00:00Z"}, // before the first shift
		// Berlin, fall: 09:00 is 07:00Z in CEST and 08:00Z in CET; b's shift lasts 25 hours.
		{"berlin-fall", "2026-10-25T07:30:00Z", "b", "2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"},
		{"berlin-fall", "2026-10-25T08:00:00Z", "c", "2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"},
		// New York, spring: Monday 09:00 is 14:00Z in EST, 13:00Z in EDT.
		{"ny-spring", "2026-03-09T12:59:00Z", "x", "2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z"},
		{"ny-spring", "2026-03-09T13:30:00Z", "y", "2026-03-09T13:00:00Z", "2026-03-16T13:00:00Z"},
		// New York, fall: the week of 2026-10-26 lasts 7 days and 1 hour.
		{"ny-fall", "2026-11-02T13:30:00Z", "x", "2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z"},
		{"ny-fall", "2026-11-02T14:00:00Z", "y", "2026-11-02T14:00:00Z", "2026-11-09T14:00:00Z"},
		// Hour-based shifts count elapsed hours: the hand-off moves from 08:00 EST to 09:00 EDT.
		{"ny-12h", "2026-03-08T12:30:00Z", "q", "2026-03-08T01:00:00Z", "2026-03-08T13:00:00Z"},
		{"ny-12h", "2026-03-08T13:00:00Z", "p", "2026-03-08T13:00:00Z", "2026-03-09T01:00:00Z"},
		// Day-based custom shifts keep 08:00 local: 12:00Z in EDT, 13:00Z in EST.
		{"ny-3d", "2026-11-02T12:30:00Z", "p", "2026-10-30T12:00:00Z", "2026-11-02T13:00:00Z"},
		{"ny-3d", "2026-11-02T13:00:00Z", "q", "2026-11-02T13:00:00Z", "2026-11-05T13:00:00Z"},
	} {
		s, ok := d.Schedule(tc.schedule)
		require.True(t, ok)
		got := s.At(utc(tc.at))
		require.Equal(t, tc.member, got.Member, "%s at %s", tc.schedule, tc.at)
		require.Equal(t, utc(tc.start), got.Start, "%s at %s: shift start", tc.schedule, tc.at)
		require.Equal(t, utc(tc.end), got.End, "%s at %s: shift end", tc.schedule, tc.at)
	}
}

// A hand-off time that does not exist on the spring-forward day (02:30 in Berlin) still
// hands off once, during the skipped hour's neighbourhood, and the next day is normal.
func TestHandoffInsideTheSkippedHour(t *testing.T) {
	s, _ := compile(t, schedules).Schedule("berlin-gap")
	before := s.At(utc("2026-03-29T00:29:00Z")) // 01:29 CET
	after := s.At(utc("2026-03-29T02:00:00Z"))  // 04:00 CEST
	require.Equal(t, "b", before.Member)
	require.Equal(t, "c", after.Member)
	require.Equal(t, before.End, after.Start)
	require.Equal(t, utc("2026-03-30T00:30:00Z"), after.End, "02:30 CEST on the next day")
}

func TestOnCallForTeam(t *testing.T) {
	d := compile(t, schedules)
	shifts, err := d.OnCall("search", utc("2026-03-09T13:30:00Z"))
	require.NoError(t, err)
	require.Len(t, shifts, 4)
	require.Equal(t, "ny-spring", shifts[0].Schedule)
	require.Equal(t, "y", shifts[0].Member)
	_, err = d.OnCall("nobody", time.Now())
	require.ErrorContains(t, err, `team "nobody"`)
}

func TestBusinessHours(t *testing.T) {
	d := compile(t, schedules)
	ny, _ := d.Team("search")
	be, _ := d.Team("risk")
	for _, tc := range []struct {
		hours    BusinessHours
		at, next string
	}{
		{ny.Hours, "2026-11-30T14:30:00Z", "2026-11-30T14:30:00Z"}, // Monday 09:30 EST: open
		{ny.Hours, "2026-11-28T03:00:00Z", "2026-11-30T14:00:00Z"}, // Friday 22:00 EST → Monday 09:00
		{ny.Hours, "2026-11-26T15:00:00Z", "2026-11-27T14:00:00Z"}, // Thanksgiving 10:00 → Friday 09:00
		{ny.Hours, "2026-11-30T22:00:00Z", "2026-12-01T14:00:00Z"}, // Monday 17:00 EST: closed
		{be.Hours, "2026-12-01T21:00:00Z", "2026-12-02T08:00:00Z"}, // Tuesday 22:00 CET → 09:00 CET
		{be.Hours, "2026-03-28T12:00:00Z", "2026-03-30T07:00:00Z"}, // Saturday → Monday 09:00 CEST
		{be.Hours, "2026-10-23T15:30:00Z", "2026-10-26T08:00:00Z"}, // Friday 17:30 CEST → Monday 09:00 CET
	} {
		at := utc(tc.at)
		require.Equal(t, utc(tc.next), tc.hours.NextOpen(at).UTC(), tc.at)
		require.Equal(t, tc.at == tc.next, tc.hours.Open(at), tc.at)
	}
	require.True(t, BusinessHours{}.Open(utc("2026-11-28T03:00:00Z")), "no hours configured: always open")
}

func TestConfigErrorsNameFieldAndLine(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"teams:\n- name: risk\n  schedules:\n  - name: p\n    timezone: Mars/Olympus\n", "oncall.teams[0].schedules[0].timezone (line 5): expected an IANA time zone"},
		{"teams:\n- name: risk\n  schedules:\n  - {name: p, timezone: UTC, rotation: hourly, start: 2026-01-01, members: [a]}\n", "oncall.teams[0].schedules[0].rotation (line 4): expected daily, weekly or custom"},
		{"teams:\n- name: risk\n  schedules:\n  - {name: p, timezone: UTC, rotation: custom, start: 2026-01-01, members: [a]}\n", "shift_length"},
		{"teams:\n- name: risk\n  schedules:\n  - {name: p, timezone: UTC, rotation: daily, start: 2026-01-01, members: []}\n", "members"},
		{"teams:\n- name: risk\n  schedules:\n  - name: p\n    timezone: UTC\n    rotation: daily\n    start: 2026-01-01\n    members: [a]\n    overrides:\n    - {member: b, start: \"2026-01-02T00:00:00Z\", end: \"2026-01-01T00:00:00Z\"}\n", "oncall.teams[0].schedules[0].overrides[0].end (line 10): "},
		{"teams:\n- name: risk\n  business_hours: {timezone: UTC, start: \"17:00\", end: \"09:00\"}\n", "business_hours.end (line 3)"},
		{"teams:\n- name: risk\n  business_hours: {timezone: UTC, start: \"09:00\", end: \"17:00\", holidays: de}\n", `no holiday calendar "de"`},
		{"holidays: {de: [2026-13-01]}\n", "oncall.holidays.de[0] (line 1)"},
		{"teams:\n- name: risk\n- name: risk\n", `oncall.teams[1].name (line 3): team "risk" is defined twice`},
	} {
		_, err := parse(tc.src)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%q: %v", tc.src, err)
		require.Contains(t, err.Error(), tc.want)
	}
}
