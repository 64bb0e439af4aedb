package oncall

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// Business hours written as an Alertmanager time interval: several ranges a day (a lunch
// break), day ranges, a holiday calendar on top.
func TestBusinessHoursAlertmanagerForm(t *testing.T) {
	d := compile(t, `
holidays: {de: [2026-12-24]}
teams:
- name: risk
  business_hours:
    location: Europe/Berlin
    weekdays: ["monday:thursday", friday]
    times: [{start_time: "09:00", end_time: "12:00"}, {start_time: "13:00", end_time: "17:00"}]
    holidays: de
`)
	tm, _ := d.Team("risk")
	for _, tc := range []struct{ at, next string }{
		{"2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z"}, // Tuesday 11:00 CET: open
		{"2026-12-01T11:30:00Z", "2026-12-01T12:00:00Z"}, // 12:30, lunch → 13:00
		{"2026-12-04T16:00:00Z", "2026-12-07T08:00:00Z"}, // Friday 17:00 → Monday 09:00
		{"2026-12-23T20:00:00Z", "2026-12-25T08:00:00Z"}, // the evening before a holiday → Friday
	} {
		at := utc(tc.at)
		require.Equal(t, utc(tc.next), tm.Hours.NextOpen(at).UTC(), tc.at)
		require.Equal(t, tc.at == tc.next, tm.Hours.Open(at), tc.at)
	}
}

// incidentd's business hours and the time interval rulegen writes into alertmanager.yml
// for the same hours agree at every quarter hour of a fortnight around a DST change,
// including the end of the day written 24:00, which incidentd used to refuse.
func TestBusinessHoursAgreeWithAlertmanager(t *testing.T) {
	for _, h := range []struct{ incidentd, alertmanager string }{
		{`{timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}`,
			`{location: Europe/Berlin, weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:00"}]}`},
		{`{timezone: America/New_York, days: [sat, sun], start: "18:30", end: "24:00"}`,
			`{location: America/New_York, weekdays: [saturday, sunday], times: [{start_time: "18:30", end_time: "24:00"}]}`},
		{`{location: Asia/Kathmandu, weekdays: ["sunday:thursday"], times: [{start_time: "00:00", end_time: "02:15"}]}`,
			`{location: Asia/Kathmandu, weekdays: ["sunday:thursday"], times: [{start_time: "00:00", end_time: "02:15"}]}`},
	} {
		d, err := parse("teams:\n- name: t\n  business_hours: " + h.incidentd + "\n")
		require.NoError(t, err, h.incidentd)
		tm, _ := d.Team("t")
		var am timeinterval.TimeInterval
		require.NoError(t, yaml.Unmarshal([]byte(h.alertmanager), &am))
		for at := utc("2026-10-19T00:00:00Z"); at.Before(utc("2026-11-02T00:00:00Z")); at = at.Add(15 * time.Minute) {
			require.Equal(t, am.ContainsTime(at), tm.Hours.Open(at), "%s at %s", h.incidentd, at)
		}
	}
}

func TestBusinessHoursErrors(t *testing.T) {
	for src, want := range map[string]string{
		`{location: Europe/Berlin, weekdays: ["monday:fryday"], times: [{start_time: "09:00", end_time: "17:00"}]}`: `business_hours.weekdays[0] (line 3): expected a day or a range of days like monday:friday, got "monday:fryday"`,
		`{location: Europe/Berlin, times: [{start_time: "17:00", end_time: "09:00"}]}`:                              "business_hours.times[0] (line 3): expected {start_time",
		`{location: Europe/Berlin, times: [{start_time: "9am", end_time: "17:00"}]}`:                                "business_hours.times[0] (line 3)",
		`{location: Europe/Berlim, times: [{start_time: "09:00", end_time: "17:00"}]}`:                              `business_hours.location (line 3): expected an IANA time zone like Europe/Berlin, got "Europe/Berlim"`,
		`{location: UTC, timezone: UTC, start: "09:00", end: "17:00"}`:                                              "business_hours.timezone (line 3): set location or timezone, not both",
		`{weekdays: [monday], times: [{start_time: "09:00", end_time: "17:00"}]}`:                                   `business_hours.location (line 3): expected an IANA time zone like Europe/Berlin, got ""`,
		`{timezone: UTC, days: [monday], start: "09:00", end: "17:00"}`:                                             `business_hours.days[0] (line 3): expected mon, tue, wed, thu, fri, sat or sun, got "monday"`,
		`{timezone: UTC, start: "9:00", end: "17:00"}`:                                                              `business_hours.start (line 3): expected a local time like 09:00, got "9:00"`,
		`{timezone: UTC, start: "09:00", end: "24:01"}`:                                                             `business_hours.end (line 3): expected a local time like 17:00, got "24:01"`,
		`{timezone: UTC}`: `business_hours.start (line 3): expected a local time like 09:00, got ""`,
	} {
		_, err := parse(fmt.Sprintf("teams:\n- name: risk\n  business_hours: %s\n", src))
		require.ErrorContains(t, err, want, src)
	}
}
