package incident

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus m minutes.
func at(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

// firing is a firing transition of occurrence (fp, start) with extra labels as k, v pairs.
func firing(fp string, start int, kv ...string) *Alert {
	l := map[string]string{"alertname": "Drift", "fp": fp}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return &Alert{Fingerprint: fp, Status: AlertFiring, StartsAt: at(start), Labels: l, Annotations: map[string]string{"summary": "s " + fp}}
}

// resolved is a resolved transition of occurrence (fp, start) that ended at end.
func resolved(fp string, start, end int, kv ...string) *Alert {
	a := firing(fp, start, kv...)
	a.Status, a.EndsAt = AlertResolved, at(end)
	return a
}

func occ(fp string, start int) Occurrence { return Occurrence{fp, at(start).UnixNano()} }

var now = at(600)

// open7 is the group's incident 7, open with two firing alerts, detected at t0.
func open7() *Record {
	return &Record{ID: 7, State: Triaged, Tier: P2, AlertTier: P2, DetectedAt: at(0), TriagedAt: at(5), AlertsFiring: 2, AlertsTotal: 2, UpdatedAt: at(5)}
}

// resolved7 is the group's incident 7, resolved at minute 100.
func resolved7(state State) *Record {
	r := open7()
	r.State, r.ResolvedAt, r.ResolvedBy, r.AlertsFiring = state, at(100), "alice", 0
	if state == Reviewed {
		r.ReviewedAt = at(110)
	}
	return r
}

func with(r *Record, f func(*Record)) *Record {
	c := *r
	f(&c)
	return &c
}

var policy = Policy{AutoResolve: true, ReopenWindow: 30 * time.Minute}

// TestPlanGroup follows Alertmanager's dispatch tests: each row is the group's state
// before, the transitions in and the effects expected.
func TestPlanGroup(t *testing.T) {
	group := Group{Key: "g", Labels: map[string]string{"alertname": "Drift", "model": "fraud", "team": "risk", "tier": "P2"}}
	a := firing("a", 0)
	a10 := firing("a", 10)
	b := firing("b", 3)
	bP1 := firing("b", 3, "severity", "critical")
	bP3 := firing("b", 3, "tier", "P3")
	bEarly := firing("b", -20)
	aRes := resolved("a", 0, 9)
	aRes12 := resolved("a", 0, 12)
	aRes5 := resolved("a", 0, 5)
	b120 := firing("b", 120)
	b131 := firing("b", 131)
	b130 := firing("b", 130)

	opened := func(first *Alert, f func(*Opening)) *Opening {
		o := &Opening{Record: Record{ID: NewIncident, State: Detected, Tier: P2, AlertTier: P2, DetectedAt: first.StartsAt, AlertsFiring: 1, AlertsTotal: 1, UpdatedAt: now},
			GroupKey: "g", Title: "Drift on fraud", Summary: first.Annotations["summary"], Team: "risk", Model: "fraud", Labels: group.Labels, CreatedAt: now}
		if f != nil {
			f(o)
		}
		return o
	}
	openedEntry := TimelineEntry{IncidentID: NewIncident, At: now, Actor: SystemActor, Kind: "opened", To: Detected, Note: "alert Drift firing"}

	tests := []struct {
		name       string
		known      bool
		incident   *Record
		stored     map[Occurrence]StoredAlert
		common     map[string]string
		policy     *Policy
		in         []*Alert
		want       Plan
		wantOpened string // "": no incident opened
	}{
		{
			name: "a new group's first firing alert opens an incident",
			in:   []*Alert{a},
			want: Plan{Open: opened(a, nil), SetGroup: true, GroupIncident: NewIncident, Timeline: []TimelineEntry{openedEntry},
				Insert: []NewAlert{{Alert: a, IncidentID: NewIncident, Status: AlertFiring}}, Deltas: map[int64]Delta{NewIncident: {}}},
		},
		{
			name:   "the title is the common summary; the runbook the alert's annotation before the common one",
			in:     []*Alert{a},
			common: map[string]string{"summary": "Fraud model drifts", "runbook_url": "https://common"},
			want: Plan{Open: opened(a, func(o *Opening) { o.Title, o.RunbookURL = "Fraud model drifts", "https://common" }), SetGroup: true, GroupIncident: NewIncident,
				Timeline: []TimelineEntry{openedEntry}, Insert: []NewAlert{{Alert: a, IncidentID: NewIncident, Status: AlertFiring}}, Deltas: map[int64]Delta{NewIncident: {}}},
		},
		{
			name:  "a known group without an incident (after an orphan) opens one and points to it",
			known: true,
			in:    []*Alert{a, b},
			want: Plan{Open: opened(a, func(o *Opening) { o.AlertsFiring, o.AlertsTotal = 2, 2 }), SetGroup: true, GroupIncident: NewIncident, Timeline: []TimelineEntry{openedEntry},
				Insert: []NewAlert{{Alert: a, IncidentID: NewIncident, Status: AlertFiring}, {Alert: b, IncidentID: NewIncident, Status: AlertFiring}},
				Deltas: map[int64]Delta{NewIncident: {}}},
		},
		{
			name:     "a firing alert joins the group's open incident",
			known:    true,
			incident: open7(),
			in:       []*Alert{b},
			want: Plan{Incident: open7(), Insert: []NewAlert{{Alert: b, IncidentID: 7, Status: AlertFiring}},
				Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "a more urgent alert raises the tier",
			known:    true,
			incident: open7(),
			in:       []*Alert{bP1},
			want: Plan{Incident: with(open7(), func(r *Record) { r.Tier, r.AlertTier = P1, P1 }), Insert: []NewAlert{{Alert: bP1, IncidentID: 7, Status: AlertFiring}},
				Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "a tier a human set stays; the alert tier still rises",
			known:    true,
			incident: with(open7(), func(r *Record) { r.Tier = P3 }),
			in:       []*Alert{bP1},
			want: Plan{Incident: with(open7(), func(r *Record) { r.Tier, r.AlertTier = P3, P1 }), Insert: []NewAlert{{Alert: bP1, IncidentID: 7, Status: AlertFiring}},
				Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "a less urgent alert lowers nothing",
			known:    true,
			incident: open7(),
			in:       []*Alert{bP3},
			want: Plan{Incident: open7(), Insert: []NewAlert{{Alert: bP3, IncidentID: 7, Status: AlertFiring}},
				Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "an alert that started earlier moves the detection earlier",
			known:    true,
			incident: open7(),
			in:       []*Alert{bEarly},
			want: Plan{Incident: with(open7(), func(r *Record) { r.DetectedAt = at(-20) }), Insert: []NewAlert{{Alert: bEarly, IncidentID: 7, Status: AlertFiring}},
				Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "firing within the reopen window reopens a resolved incident",
			known:    true,
			incident: resolved7(Resolved),
			in:       []*Alert{b120},
			want: Plan{Incident: with(resolved7(Resolved), func(r *Record) {
				r.State, r.ResolvedAt, r.ResolvedBy, r.ReopenCount = Detected, time.Time{}, "", 1
			}),
				Timeline: []TimelineEntry{{IncidentID: 7, At: now, Actor: SystemActor, Kind: "reopened", From: Resolved, To: Detected, Note: "alert Drift fired again within the reopen window"}},
				Insert:   []NewAlert{{Alert: b120, IncidentID: 7, Status: AlertFiring}}, Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "exactly at the end of the window still reopens",
			known:    true,
			incident: resolved7(Resolved),
			in:       []*Alert{b130},
			want: Plan{Incident: with(resolved7(Resolved), func(r *Record) {
				r.State, r.ResolvedAt, r.ResolvedBy, r.ReopenCount = Detected, time.Time{}, "", 1
			}),
				Timeline: []TimelineEntry{{IncidentID: 7, At: now, Actor: SystemActor, Kind: "reopened", From: Resolved, To: Detected, Note: "alert Drift fired again within the reopen window"}},
				Insert:   []NewAlert{{Alert: b130, IncidentID: 7, Status: AlertFiring}}, Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "a reviewed incident reopens too, its review undone",
			known:    true,
			incident: resolved7(Reviewed),
			in:       []*Alert{b120},
			want: Plan{Incident: with(resolved7(Reviewed), func(r *Record) {
				r.State, r.ResolvedAt, r.ReviewedAt, r.ResolvedBy, r.ReopenCount = Detected, time.Time{}, time.Time{}, "", 1
			}),
				Timeline: []TimelineEntry{{IncidentID: 7, At: now, Actor: SystemActor, Kind: "reopened", From: Reviewed, To: Detected, Note: "alert Drift fired again within the reopen window"}},
				Insert:   []NewAlert{{Alert: b120, IncidentID: 7, Status: AlertFiring}}, Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "beyond the reopen window a new incident replaces the resolved one",
			known:    true,
			incident: resolved7(Resolved),
			in:       []*Alert{b131},
			want: Plan{Open: opened(b131, nil), Incident: resolved7(Resolved), SetGroup: true, GroupIncident: NewIncident, Timeline: []TimelineEntry{openedEntry},
				Insert: []NewAlert{{Alert: b131, IncidentID: NewIncident, Status: AlertFiring}}, Deltas: map[int64]Delta{NewIncident: {}}},
		},
		{
			name:     "a zero reopen window never reopens",
			known:    true,
			incident: resolved7(Resolved),
			policy:   &Policy{AutoResolve: true},
			in:       []*Alert{b120},
			want: Plan{Open: opened(b120, nil), Incident: resolved7(Resolved), SetGroup: true, GroupIncident: NewIncident, Timeline: []TimelineEntry{openedEntry},
				Insert: []NewAlert{{Alert: b120, IncidentID: NewIncident, Status: AlertFiring}}, Deltas: map[int64]Delta{NewIncident: {}}},
		},
		{
			name: "a resolve never seen firing, in a new group, is an orphan that opens nothing",
			in:   []*Alert{aRes},
			want: Plan{SetGroup: true, Insert: []NewAlert{{Alert: aRes, Status: AlertResolved, EndsAt: at(9)}}, Deltas: map[int64]Delta{}, Orphans: 1},
		},
		{
			name:     "a resolve never seen firing joins the group's open incident",
			known:    true,
			incident: open7(),
			in:       []*Alert{aRes},
			want: Plan{Incident: open7(), Insert: []NewAlert{{Alert: aRes, IncidentID: 7, Status: AlertResolved, EndsAt: at(9)}},
				Deltas: map[int64]Delta{7: {Total: 1}}},
		},
		{
			name:     "a resolve never seen firing does not reopen: it is an orphan",
			known:    true,
			incident: resolved7(Resolved),
			in:       []*Alert{resolved("b", 101, 102)},
			want: Plan{Incident: resolved7(Resolved), Insert: []NewAlert{{Alert: resolved("b", 101, 102), Status: AlertResolved, EndsAt: at(102)}},
				Deltas: map[int64]Delta{}, Orphans: 1},
		},
		{
			name:     "a stored firing occurrence resolves",
			known:    true,
			incident: open7(),
			stored:   map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, IncidentID: 7, Status: AlertFiring}},
			in:       []*Alert{aRes},
			want: Plan{Incident: open7(), Update: []AlertUpdate{{ID: 40, EndsAt: at(9), Resolve: true}},
				Deltas: map[int64]Delta{7: {Firing: -1}}},
		},
		{
			name:     "a stored resolved occurrence ending later moves its end only",
			known:    true,
			incident: open7(),
			stored:   map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, IncidentID: 7, Status: AlertResolved, EndsAt: at(9)}},
			in:       []*Alert{aRes12},
			want:     Plan{Incident: open7(), Update: []AlertUpdate{{ID: 40, EndsAt: at(12)}}, Deltas: map[int64]Delta{7: {}}},
		},
		{
			name:     "a resolve ending earlier than the stored one changes nothing",
			known:    true,
			incident: open7(),
			stored:   map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, IncidentID: 7, Status: AlertResolved, EndsAt: at(9)}},
			in:       []*Alert{aRes5},
			want:     Plan{Incident: open7(), Deltas: map[int64]Delta{}},
		},
		{
			name:     "a late firing of a resolved occurrence is a retry out of order: nothing",
			known:    true,
			incident: open7(),
			stored:   map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, IncidentID: 7, Status: AlertResolved, EndsAt: at(9)}},
			in:       []*Alert{a},
			want:     Plan{Incident: open7(), Deltas: map[int64]Delta{}},
		},
		{
			name:     "a stored occurrence of another incident settles that incident",
			known:    true,
			incident: open7(),
			stored:   map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, IncidentID: 3, Status: AlertFiring}},
			in:       []*Alert{aRes},
			want:     Plan{Incident: open7(), Update: []AlertUpdate{{ID: 40, EndsAt: at(9), Resolve: true}}, Deltas: map[int64]Delta{3: {Firing: -1}}},
		},
		{
			name:   "a stored orphan ending later is updated and settles nothing",
			known:  true,
			stored: map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, Status: AlertResolved, EndsAt: at(9)}},
			in:     []*Alert{aRes12},
			want:   Plan{Update: []AlertUpdate{{ID: 40, EndsAt: at(12)}}, Deltas: map[int64]Delta{}},
		},
		{
			name:     "two resolves of one stored occurrence are one update, to the later end",
			known:    true,
			incident: open7(),
			stored:   map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, IncidentID: 7, Status: AlertFiring}},
			in:       []*Alert{aRes, aRes12},
			want:     Plan{Incident: open7(), Update: []AlertUpdate{{ID: 40, EndsAt: at(12), Resolve: true}}, Deltas: map[int64]Delta{7: {Firing: -1}}},
		},
		{
			name:     "an occurrence firing and resolved in one notification: resolved wins",
			known:    true,
			incident: open7(),
			in:       []*Alert{b, resolved("b", 3, 8)},
			want: Plan{Incident: open7(), Insert: []NewAlert{{Alert: b, IncidentID: 7, Status: AlertResolved, EndsAt: at(8)}},
				Deltas: map[int64]Delta{7: {Total: 1}}},
		},
		{
			name: "an incident opened by an alert resolved in the same notification has nothing firing",
			in:   []*Alert{a, aRes},
			want: Plan{Open: opened(a, func(o *Opening) { o.AlertsFiring = 0 }), SetGroup: true, GroupIncident: NewIncident, Timeline: []TimelineEntry{openedEntry},
				Insert: []NewAlert{{Alert: a, IncidentID: NewIncident, Status: AlertResolved, EndsAt: at(9)}}, Deltas: map[int64]Delta{NewIncident: {}}},
		},
		{
			name: "a resolved occurrence resolved again keeps the later end",
			in:   []*Alert{aRes12, aRes},
			want: Plan{SetGroup: true, Insert: []NewAlert{{Alert: aRes12, Status: AlertResolved, EndsAt: at(12)}}, Deltas: map[int64]Delta{}, Orphans: 1},
		},
		{
			name:     "a re-fire of a resolved alert is a new occurrence",
			known:    true,
			incident: open7(),
			stored:   map[Occurrence]StoredAlert{occ("a", 0): {ID: 40, IncidentID: 7, Status: AlertResolved, EndsAt: at(9)}},
			in:       []*Alert{a10},
			want: Plan{Incident: open7(), Insert: []NewAlert{{Alert: a10, IncidentID: 7, Status: AlertFiring}},
				Deltas: map[int64]Delta{7: {Firing: 1, Total: 1}}},
		},
		{
			name:     "a resolve first, then a firing beyond the window: the resolve is an orphan, the firing opens",
			known:    true,
			incident: resolved7(Resolved),
			in:       []*Alert{resolved("c", 101, 102), b131},
			want: Plan{Open: opened(b131, nil), Incident: resolved7(Resolved), SetGroup: true, GroupIncident: NewIncident, Timeline: []TimelineEntry{openedEntry},
				Insert:  []NewAlert{{Alert: resolved("c", 101, 102), Status: AlertResolved, EndsAt: at(102)}, {Alert: b131, IncidentID: NewIncident, Status: AlertFiring}},
				Deltas:  map[int64]Delta{NewIncident: {}},
				Orphans: 1},
		},
		{
			name:     "a firing that reopens, then a resolve: the resolve joins the reopened incident",
			known:    true,
			incident: resolved7(Resolved),
			in:       []*Alert{b120, resolved("c", 101, 102)},
			want: Plan{Incident: with(resolved7(Resolved), func(r *Record) {
				r.State, r.ResolvedAt, r.ResolvedBy, r.ReopenCount = Detected, time.Time{}, "", 1
			}),
				Timeline: []TimelineEntry{{IncidentID: 7, At: now, Actor: SystemActor, Kind: "reopened", From: Resolved, To: Detected, Note: "alert Drift fired again within the reopen window"}},
				Insert:   []NewAlert{{Alert: b120, IncidentID: 7, Status: AlertFiring}, {Alert: resolved("c", 101, 102), IncidentID: 7, Status: AlertResolved, EndsAt: at(102)}},
				Deltas:   map[int64]Delta{7: {Firing: 1, Total: 2}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			if tc.policy != nil {
				p = *tc.policy
			}
			var before *Record
			if tc.incident != nil {
				c := *tc.incident
				before = &c
			}
			got := PlanGroup(Input{Group: group, GroupKnown: tc.known, CommonAnnotations: tc.common, Transitions: tc.in,
				Incident: tc.incident, Stored: tc.stored, Policy: p, Now: now})
			require.Equal(t, tc.want, got)
			require.Equal(t, before, tc.incident, "the state before is not changed")
		})
	}
}

// A new incident's fields come from the group's labels first, then the opening alert's.
func TestPlanGroupOpening(t *testing.T) {
	a := firing("a", 0, "owner", "ml-platform", "severity", "warning", "runbook_url", "https://label")
	a.Annotations = map[string]string{"description": "d", "runbook_url": "https://annotation"}
	long := strings.Repeat("x", 5000)
	b := firing("b", 0, "owner", "x", "runbook_url", long)
	b.Annotations = map[string]string{"summary": long}
	tests := []struct {
		name   string
		labels map[string]string
		alert  *Alert
		want   func(o *Opening)
	}{
		{"tier, team and model from the alert when the group has none; summary from the description", map[string]string{}, a, func(o *Opening) {
			o.Title, o.Summary, o.Tier, o.AlertTier, o.Team, o.Model, o.RunbookURL = "Drift", "d", P3, P3, "ml-platform", "", "https://annotation"
		}},
		{"the group's labels win", map[string]string{"team": "risk", "model": "fraud", "tier": "P1"}, a, func(o *Opening) {
			o.Title, o.Summary, o.Tier, o.AlertTier, o.Team, o.Model, o.RunbookURL = "Drift on fraud", "d", P1, P1, "risk", "fraud", "https://annotation"
		}},
		{"text is bounded", map[string]string{"model": long}, b, func(o *Opening) {
			o.Title, o.Summary, o.Team, o.Model, o.RunbookURL = ("Drift on " + long)[:512], long[:4096], "x", long, long[:2048]
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanGroup(Input{Group: Group{Key: "k", Labels: tc.labels}, Transitions: []*Alert{tc.alert}, Policy: policy, Now: now}).Open
			want := &Opening{Record: Record{ID: NewIncident, State: Detected, DetectedAt: tc.alert.StartsAt, AlertsFiring: 1, AlertsTotal: 1, UpdatedAt: now},
				GroupKey: "k", Labels: map[string]string{}, CreatedAt: now}
			for k, v := range tc.labels {
				want.Labels[k] = v
			}
			tc.want(want)
			require.Equal(t, want, got)
		})
	}
}

func TestSettle(t *testing.T) {
	openOne := func(state State, firing int) Record {
		return Record{ID: 7, State: state, Tier: P2, AlertTier: P2, DetectedAt: at(0), TriagedAt: at(5), AlertsFiring: firing, AlertsTotal: 2, UpdatedAt: at(5)}
	}
	settled := func(r Record, f func(*Record)) Record {
		r.UpdatedAt = now
		f(&r)
		return r
	}
	manual := Policy{ReopenWindow: time.Hour}
	tests := []struct {
		name   string
		before Record
		delta  Delta
		policy Policy
		want   Settlement
	}{
		{"an alert still fires: only the counts change", openOne(Triaged, 2), Delta{Firing: -1}, policy,
			Settlement{Record: settled(openOne(Triaged, 2), func(r *Record) { r.AlertsFiring = 1 })}},
		{"the last firing alert resolves: the incident resolves", openOne(Triaged, 1), Delta{Firing: -1}, policy,
			Settlement{Record: settled(openOne(Triaged, 1), func(r *Record) {
				r.AlertsFiring, r.State, r.ResolvedBy, r.ResolvedAt = 0, Resolved, SystemActor, at(5)
			}), Resolved: true,
				Timeline: []TimelineEntry{{IncidentID: 7, At: now, Actor: SystemActor, Kind: "resolved", From: Triaged, To: Resolved, Note: "all alerts resolved"}}}},
		{"without auto-resolve the timeline says the alerts are gone", openOne(Investigating, 1), Delta{Firing: -1}, manual,
			Settlement{Record: settled(openOne(Investigating, 1), func(r *Record) { r.AlertsFiring = 0 }),
				Timeline: []TimelineEntry{{IncidentID: 7, At: now, Actor: SystemActor, Kind: "alerts_resolved", Note: "all alerts resolved; waiting for a human to resolve"}}}},
		{"without auto-resolve, said once: nothing when none was firing", openOne(Investigating, 0), Delta{}, manual,
			Settlement{Record: settled(openOne(Investigating, 0), func(*Record) {})}},
		{"an incident opened with nothing firing resolves", openOne(Detected, 0), Delta{}, policy,
			Settlement{Record: settled(openOne(Detected, 0), func(r *Record) { r.State, r.ResolvedBy, r.ResolvedAt = Resolved, SystemActor, at(5) }), Resolved: true,
				Timeline: []TimelineEntry{{IncidentID: 7, At: now, Actor: SystemActor, Kind: "resolved", From: Detected, To: Resolved, Note: "all alerts resolved"}}}},
		{"a resolved incident stays as it is", openOne(Resolved, 1), Delta{Firing: -1}, policy,
			Settlement{Record: settled(openOne(Resolved, 1), func(r *Record) { r.AlertsFiring = 0 })}},
		{"an incident without alerts does not resolve", Record{ID: 7, State: Detected}, Delta{}, policy,
			Settlement{Record: Record{ID: 7, State: Detected, UpdatedAt: now}}},
		{"counts never go below zero", openOne(Triaged, 0), Delta{Firing: -1, Total: 1}, manual,
			Settlement{Record: settled(openOne(Triaged, 0), func(r *Record) { r.AlertsTotal = 3 })}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Settle(tc.before, tc.delta, tc.policy, now))
		})
	}
}

// The resolution is when the last alert ended, never before a step already recorded.
func TestSettlementResolveAt(t *testing.T) {
	r := Record{ID: 7, State: Contained, DetectedAt: at(0), TriagedAt: at(5), ContainedAt: at(20), AlertsFiring: 1, AlertsTotal: 1}
	st := Settle(r, Delta{Firing: -1}, policy, now)
	require.True(t, st.Resolved)
	st.ResolveAt(at(30))
	require.Equal(t, at(30), st.Record.ResolvedAt)

	st = Settle(r, Delta{Firing: -1}, policy, now)
	st.ResolveAt(at(10)) // the alert ended before the incident was contained
	require.Equal(t, at(20), st.Record.ResolvedAt)

	st = Settle(r, Delta{}, policy, now) // nothing resolved: the time is not touched
	st.ResolveAt(at(30))
	require.True(t, st.Record.ResolvedAt.IsZero())
}

func TestGroups(t *testing.T) {
	n := &Notification{GroupKey: `{}:{alertname="Drift"}`, CommonLabels: map[string]string{"alertname": "Drift"}, Alerts: []Alert{
		*firing("a", 0, "model", "fraud"), *firing("b", 0, "model", "churn"), *firing("c", 0, "model", "fraud"), *firing("d", 0),
	}}
	one := Groups(n, nil)
	require.Len(t, one, 1)
	require.Equal(t, n.GroupKey, one[0].Key)
	require.Equal(t, n.CommonLabels, one[0].Labels)
	require.Equal(t, []*Alert{&n.Alerts[0], &n.Alerts[1], &n.Alerts[2], &n.Alerts[3]}, one[0].Alerts)

	got := Groups(n, []string{"model", "team"})
	require.Equal(t, []Group{
		{Key: `labels:{model="", team=""}`, Labels: map[string]string{}, Alerts: []*Alert{&n.Alerts[3]}},
		{Key: `labels:{model="churn", team=""}`, Labels: map[string]string{"model": "churn"}, Alerts: []*Alert{&n.Alerts[1]}},
		{Key: `labels:{model="fraud", team=""}`, Labels: map[string]string{"model": "fraud"}, Alerts: []*Alert{&n.Alerts[0], &n.Alerts[2]}},
	}, got)
}

func TestIngestAudit(t *testing.T) {
	n := &Notification{GroupKey: "g", Receiver: "hook", Status: AlertFiring, ExternalURL: "http://am:9093", Alerts: make([]Alert, 3)}
	_, ok := IngestAudit(n, Outcome{Duplicates: 3, Incidents: []int64{7}}, now)
	require.False(t, ok, "a pure duplicate changes nothing, so there is nothing to audit")

	e, ok := IngestAudit(n, Outcome{NewTransitions: 2, Duplicates: 1, Orphans: 1, Incidents: []int64{7, 9}}, now)
	require.True(t, ok)
	require.Equal(t, now, e.At)
	require.Equal(t, SystemActor, e.Actor)
	require.Equal(t, "notification.ingested", e.Action)
	require.Equal(t, "group/g", e.Object)
	require.Nil(t, e.Before)
	// The stored form: keys in the order encoding a map gave before there was a struct.
	require.Equal(t, `{"alerts":3,"duplicates":1,"external_url":"http://am:9093","group_key":"g","incidents":[7,9],"new_transitions":2,"orphans":1,"receiver":"hook","status":"firing"}`, string(e.After))
	var m map[string]any
	require.NoError(t, json.Unmarshal(e.After, &m))
}

// BenchmarkPlanGroup plans the common notification (10 new firing alerts joining an open
// incident, one raising its tier); compare with the store's BenchmarkIngest cpu-µs/notif to
// see what share of an ingest the decisions are.
func BenchmarkPlanGroup(b *testing.B) {
	var in []*Alert
	for k := range 10 {
		in = append(in, firing(string(rune('a'+k)), k, "tier", []string{"P3", "P2", "P1"}[k%3]))
	}
	g := Group{Key: "g", Labels: map[string]string{"alertname": "Drift"}}
	b.ReportAllocs()
	for b.Loop() {
		p := PlanGroup(Input{Group: g, GroupKnown: true, Transitions: in, Incident: open7(), Policy: policy, Now: now})
		Settle(*p.Incident, p.Deltas[7], policy, now)
	}
}
