package oncall

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/timeinterval"
	"gopkg.in/yaml.v3"
)

// Config is the `oncall:` section of incidentd's YAML as written.
type Config struct {
	// Holidays are named calendars of local dates (2026-12-25) on which business hours are
	// closed.
	Holidays map[string][]string `yaml:"holidays"`
	Teams    []TeamConfig        `yaml:"teams"`
}

// TeamConfig is one team.
type TeamConfig struct {
	Name          string           `yaml:"name"`
	BusinessHours *HoursConfig     `yaml:"business_hours"`
	Schedules     []ScheduleConfig `yaml:"schedules"`
}

// HoursConfig is a team's business hours, in the syntax of an Alertmanager time interval
// (location, weekdays, times), read by Alertmanager's own timeinterval package so that they
// mean what the same interval means in alertmanager.yml. The first form (timezone, days,
// start, end) is still read; the two may be mixed, e.g. timezone with weekdays.
type HoursConfig struct {
	Location string            `yaml:"location"` // IANA zone, Europe/Berlin
	Weekdays []string          `yaml:"weekdays"` // monday:friday, saturday; default monday:friday
	Times    []TimeRangeConfig `yaml:"times"`    // [{start_time: "09:00", end_time: "17:00"}]

	Timezone string   `yaml:"timezone"` // as location
	Days     []string `yaml:"days"`     // mon … sun, as weekdays
	Start    string   `yaml:"start"`    // 09:00, with End one more range of times
	End      string   `yaml:"end"`      // 17:00 (24:00 is the end of the day)
	// Holidays names a calendar under oncall.holidays on which business hours are closed.
	Holidays string `yaml:"holidays"`
}

// TimeRangeConfig is one range of local times of an Alertmanager time interval.
type TimeRangeConfig struct {
	StartTime string `yaml:"start_time"`
	EndTime   string `yaml:"end_time"`
}

// ScheduleConfig is a rotation with its overrides.
type ScheduleConfig struct {
	Name     string `yaml:"name"`
	Timezone string `yaml:"timezone"`
	// Rotation is daily, weekly or custom (with ShiftLength).
	Rotation string `yaml:"rotation"`
	// ShiftLength of a custom rotation: whole days ("3d") keep the wall-clock hand-off,
	// hours ("12h") count elapsed time.
	ShiftLength string           `yaml:"shift_length"`
	Start       string           `yaml:"start"`   // local date of the first shift, 2026-11-02
	Handoff     string           `yaml:"handoff"` // local time of the hand-off, 09:00
	Members     []string         `yaml:"members"`
	Overrides   []OverrideConfig `yaml:"overrides"`
}

// OverrideConfig puts a member on call for a period.
type OverrideConfig struct {
	Member string `yaml:"member"`
	Start  string `yaml:"start"` // RFC 3339
	End    string `yaml:"end"`
}

// ConfigError is a configuration problem with its path and line.
type ConfigError struct {
	Path string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", e.Path, e.Line, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// positions finds the line of a path in the YAML node tree of the section.
type positions struct{ root *yaml.Node }

func (p positions) line(path ...any) int {
	n := p.root
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, step := range path {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}

func (p positions) errf(path []any, format string, a ...any) error {
	var b strings.Builder
	b.WriteString("oncall")
	for _, s := range path {
		switch v := s.(type) {
		case string:
			b.WriteString("." + v)
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		}
	}
	return &ConfigError{Path: b.String(), Line: p.line(path...), Msg: fmt.Sprintf(format, a...)}
}

var (
	nameRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	clockRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
	// shortDays are the day names of the first business_hours form.
	shortDays = map[string]string{"sun": "sunday", "mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday", "sat": "saturday"}
)

// amParse runs an Alertmanager type's own YAML parser on a value of the configuration
// (already decoded, so that errors can name their field and line).
func amParse(dst interface{ UnmarshalYAML(func(any) error) error }, v any) error {
	return dst.UnmarshalYAML(func(out any) error {
		var n yaml.Node
		if err := n.Encode(v); err != nil {
			return err
		}
		return n.Decode(out)
	})
}

func clock(s string) (int, bool) {
	m := clockRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return h*60 + mi, true
}

// Compile validates c and builds the Directory. node is the section's YAML node, used
// only to name lines in errors (nil is fine).
func Compile(c Config, node *yaml.Node) (*Directory, error) {
	p := positions{root: node}
	cals := map[string]map[civilDate]bool{}
	for name, dates := range c.Holidays {
		if !nameRe.MatchString(name) {
			return nil, p.errf([]any{"holidays", name}, "calendar name must be letters, digits, _ . - (at most 64)")
		}
		cal := map[civilDate]bool{}
		for i, d := range dates {
			t, err := time.Parse(time.DateOnly, d)
			if err != nil {
				return nil, p.errf([]any{"holidays", name, i}, "expected a date like 2026-12-25, got %q", d)
			}
			cal[dateOf(t)] = true
		}
		cals[name] = cal
	}
	dir := &Directory{teams: map[string]*Team{}}
	for ti, tc := range c.Teams {
		at := func(rest ...any) []any { return append([]any{"teams", ti}, rest...) }
		if !nameRe.MatchString(tc.Name) {
			return nil, p.errf(at("name"), "expected a team name (letters, digits, _ . -), got %q", tc.Name)
		}
		if _, dup := dir.teams[tc.Name]; dup {
			return nil, p.errf(at("name"), "team %q is defined twice", tc.Name)
		}
		team := &Team{Name: tc.Name}
		if h := tc.BusinessHours; h != nil {
			bh, err := compileHours(p, at("business_hours"), *h, cals)
			if err != nil {
				return nil, err
			}
			team.Hours = bh
		}
		seen := map[string]bool{}
		for si, sc := range tc.Schedules {
			s, err := compileSchedule(p, at("schedules", si), sc)
			if err != nil {
				return nil, err
			}
			if seen[s.Name] {
				return nil, p.errf(at("schedules", si, "name"), "schedule %q is defined twice in team %q", s.Name, tc.Name)
			}
			seen[s.Name] = true
			team.Schedules = append(team.Schedules, s)
		}
		dir.teams[tc.Name] = team
		dir.names = append(dir.names, tc.Name)
	}
	return dir, nil
}

func compileHours(p positions, at []any, h HoursConfig, cals map[string]map[civilDate]bool) (BusinessHours, error) {
	f := func(rest ...any) []any { return append(append([]any(nil), at...), rest...) }
	var bh BusinessHours
	zone, zoneField := h.Location, "location"
	if h.Timezone != "" {
		if h.Location != "" {
			return bh, p.errf(f("timezone"), "set location or timezone, not both")
		}
		zone, zoneField = h.Timezone, "timezone"
	}
	var loc timeinterval.Location
	if err := amParse(&loc, zone); err != nil || zone == "" {
		return bh, p.errf(f(zoneField), "expected an IANA time zone like Europe/Berlin, got %q", zone)
	}
	bh.Loc = loc.Location
	bh.Interval.Location = &loc
	for i, d := range h.Weekdays {
		var wr timeinterval.WeekdayRange
		if err := amParse(&wr, d); err != nil {
			return bh, p.errf(f("weekdays", i), "expected a day or a range of days like monday:friday, got %q", d)
		}
		bh.Interval.Weekdays = append(bh.Interval.Weekdays, wr)
	}
	for i, d := range h.Days {
		var wr timeinterval.WeekdayRange
		long, ok := shortDays[strings.ToLower(d)]
		if !ok || amParse(&wr, long) != nil {
			return bh, p.errf(f("days", i), "expected mon, tue, wed, thu, fri, sat or sun, got %q", d)
		}
		bh.Interval.Weekdays = append(bh.Interval.Weekdays, wr)
	}
	if len(bh.Interval.Weekdays) == 0 {
		bh.Interval.Weekdays = []timeinterval.WeekdayRange{{InclusiveRange: timeinterval.InclusiveRange{Begin: int(time.Monday), End: int(time.Friday)}}}
	}
	for i, t := range h.Times {
		var tr timeinterval.TimeRange
		if err := amParse(&tr, t); err != nil {
			return bh, p.errf(f("times", i), "expected {start_time: \"09:00\", end_time: \"17:00\"} with start before end: %v", err)
		}
		bh.Interval.Times = append(bh.Interval.Times, tr)
	}
	if h.Start != "" || h.End != "" || len(h.Times) == 0 {
		// Each bound alone first, so the error names the field that is wrong.
		var tr timeinterval.TimeRange
		if amParse(&tr, TimeRangeConfig{h.Start, "24:00"}) != nil {
			return bh, p.errf(f("start"), "expected a local time like 09:00, got %q", h.Start)
		}
		if amParse(&tr, TimeRangeConfig{"00:00", h.End}) != nil {
			return bh, p.errf(f("end"), "expected a local time like 17:00, got %q", h.End)
		}
		if amParse(&tr, TimeRangeConfig{h.Start, h.End}) != nil {
			return bh, p.errf(f("end"), "%s is not after start %s", h.End, h.Start)
		}
		bh.Interval.Times = append(bh.Interval.Times, tr)
	}
	if h.Holidays != "" {
		cal, ok := cals[h.Holidays]
		if !ok {
			return bh, p.errf(f("holidays"), "no holiday calendar %q under oncall.holidays", h.Holidays)
		}
		bh.Holidays = cal
	}
	return bh, nil
}

func compileSchedule(p positions, at []any, sc ScheduleConfig) (*Schedule, error) {
	f := func(rest ...any) []any { return append(append([]any(nil), at...), rest...) }
	if !nameRe.MatchString(sc.Name) {
		return nil, p.errf(f("name"), "expected a schedule name (letters, digits, _ . -), got %q", sc.Name)
	}
	loc, err := time.LoadLocation(sc.Timezone)
	if err != nil || sc.Timezone == "" {
		return nil, p.errf(f("timezone"), "expected an IANA time zone like Europe/Berlin, got %q", sc.Timezone)
	}
	s := &Schedule{Name: sc.Name, Loc: loc}
	switch sc.Rotation {
	case "daily":
		s.Days = 1
	case "weekly":
		s.Days = 7
	case "custom":
		l := sc.ShiftLength
		switch {
		case strings.HasSuffix(l, "d"):
			n, err := strconv.Atoi(strings.TrimSuffix(l, "d"))
			if err != nil || n < 1 || n > 366 {
				return nil, p.errf(f("shift_length"), "expected whole days 1d–366d or hours 1h–8784h, got %q", l)
			}
			s.Days = n
		case strings.HasSuffix(l, "h"):
			n, err := strconv.Atoi(strings.TrimSuffix(l, "h"))
			if err != nil || n < 1 || n > 8784 {
				return nil, p.errf(f("shift_length"), "expected whole days 1d–366d or hours 1h–8784h, got %q", l)
			}
			s.Hours = time.Duration(n) * time.Hour
		default:
			return nil, p.errf(f("shift_length"), "a custom rotation needs a shift length like 3d or 12h, got %q", l)
		}
	default:
		return nil, p.errf(f("rotation"), "expected daily, weekly or custom, got %q", sc.Rotation)
	}
	if sc.Rotation != "custom" && sc.ShiftLength != "" {
		return nil, p.errf(f("shift_length"), "only for rotation: custom")
	}
	d, err := time.Parse(time.DateOnly, sc.Start)
	if err == nil && (d.Year() < 2000 || d.Year() > 2100) {
		// Durations between times saturate past ~292 years; keep anchors near the present.
		return nil, p.errf(f("start"), "expected a date between 2000 and 2100, got %q", sc.Start)
	}
	if err != nil {
		return nil, p.errf(f("start"), "expected the local date of the first shift like 2026-11-02, got %q", sc.Start)
	}
	handoff := sc.Handoff
	if handoff == "" {
		handoff = "09:00"
	}
	m, ok := clock(handoff)
	if !ok {
		return nil, p.errf(f("handoff"), "expected a local time like 09:00, got %q", sc.Handoff)
	}
	s.Start = time.Date(d.Year(), d.Month(), d.Day(), m/60, m%60, 0, 0, loc)
	if len(sc.Members) == 0 {
		return nil, p.errf(f("members"), "a schedule needs at least one member")
	}
	for i, mem := range sc.Members {
		if strings.TrimSpace(mem) == "" || len(mem) > 256 {
			return nil, p.errf(f("members", i), "expected a person's name or address")
		}
	}
	s.Members = append([]string(nil), sc.Members...)
	for i, o := range sc.Overrides {
		if strings.TrimSpace(o.Member) == "" {
			return nil, p.errf(f("overrides", i, "member"), "required")
		}
		st, err := time.Parse(time.RFC3339, o.Start)
		if err != nil {
			return nil, p.errf(f("overrides", i, "start"), "expected an RFC 3339 time like 2026-12-24T18:00:00+01:00, got %q", o.Start)
		}
		en, err := time.Parse(time.RFC3339, o.End)
		if err != nil {
			return nil, p.errf(f("overrides", i, "end"), "expected an RFC 3339 time like 2026-12-27T09:00:00+01:00, got %q", o.End)
		}
		if !en.After(st) {
			return nil, p.errf(f("overrides", i, "end"), "%s is not after start %s", o.End, o.Start)
		}
		s.Overrides = append(s.Overrides, Override{Member: o.Member, Start: st, End: en})
	}
	return s, nil
}
