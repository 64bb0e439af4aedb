// Package storetest is the behavioural test suite every store implementation must pass.
// store/sqlite and store/postgres run it against a fresh database per test.
package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/webhook"
)

// Opener opens handles on one fresh database; calling it again opens another handle on
// the same database (a second replica).
type Opener func(cfg store.Config, now func() time.Time) *store.DB

// Backend is a fresh database for one test.
type Backend struct {
	Open Opener
	// Raw is a plain connection to the same database, behind the store's back: for tests
	// that change rows as the database's owner could (tampering, values no store writes).
	Raw     *sql.DB
	Dialect store.Dialect
}

// Factory creates a fresh database for one test.
type Factory func(t *testing.T) Backend

// Clock is a settable clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Add advances the clock.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// T0 is the suite's reference time.
var T0 = time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)

// Run runs every behaviour against the factory.
func Run(t *testing.T, f Factory) {
	tests := map[string]func(t *testing.T, open Opener){
		"CaptureOpensOneIncident":      testCaptureOpensOneIncident,
		"DuplicatesChangeNothing":      testDuplicatesChangeNothing,
		"ResolveAndReopen":             testResolveAndReopen,
		"OrphanResolveOpensNothing":    testOrphanResolve,
		"WaitForHuman":                 testWaitForHuman,
		"GroupByLabels":                testGroupByLabels,
		"Lifecycle":                    testLifecycle,
		"Notes":                        testNotes,
		"ListFiltersAndCursor":         testList,
		"ListCursorInRangeAndRawJSON":  testListCursorInRange,
		"ListTableView":                testListTable,
		"Stats":                        testStats,
		"ReplayPropertyShuffleAndDups": testReplayProperty,
		"ReplayConcurrentGroups":       testReplayConcurrent,
		"LateFiringAfterResolve":       testLateFiringAfterResolve,
		"PinnedConfig":                 testPinnedConfig,
		"ConcurrentReplicas":           testConcurrentReplicas,
		"TwoRoutesResolveRace":         testTwoRoutesResolveRace,
		"Changes":                      testChanges,
		"PostmortemAndActionItems":     testPostmortemAndActionItems,
		"Evidence":                     testEvidence,
		"SearchTextBounded":            testSearchTextBounded,
		"ContainmentApplyLift":         testContainmentApplyLift,
		"ContainmentExpiry":            testContainmentExpiry,
		"ContainmentAutomatic":         testContainmentAutomatic,
		"ContainmentKillDryRunCap":     testContainmentKillSwitchDryRunAndCap,
		"ContainmentReplicasOnce":      testContainmentReplicasOnce,
		"ContainmentHookOutbox":        testContainmentHookOutbox,
		"EscalationRows":               testEscalationRows,
		"EscalationDueAndNotify":       testEscalationDueAndNotify,
		"Outbox":                       testOutbox,
		"Heartbeats":                   testHeartbeats,
		"Maintenance":                  testMaintenance,
	}
	// These also reach the database behind the store's back.
	raw := map[string]func(t *testing.T, b Backend){
		"AuditChain":                 testAudit,
		"MetricsSurviveExtremeTimes": testMetricsSurviveExtremeTimes,
		"EscalationUnknownValues":    testEscalationUnknownValues,
	}
	names := make([]string, 0, len(tests)+len(raw))
	for n := range tests {
		names = append(names, n)
	}
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			if test, ok := raw[n]; ok {
				test(t, f(t))
				return
			}
			tests[n](t, f(t).Open)
		})
	}
}

func capture(t *testing.T, name string) *incident.Notification {
	t.Helper()
	b, err := os.Open(filepath.Join(repoRoot(t), "alertmanager-webhook", "internal", "webhook", "testdata", name))
	require.NoError(t, err)
	defer b.Close()
	m, err := webhook.Decode(b)
	require.NoError(t, err)
	return m.Notification()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found")
		dir = parent
	}
}

// A is a compact alert description for building notifications.
type A struct {
	FP     string
	Start  time.Duration // after T0
	End    time.Duration // after T0; 0 = firing
	Labels map[string]string
}

// Msg builds a notification of group key for the alerts.
func Msg(group string, alerts ...A) *incident.Notification {
	m := &incident.Notification{GroupKey: group, Receiver: "hook", Status: incident.AlertResolved, ExternalURL: "http://am-0:9093",
		CommonLabels: map[string]string{"alertname": group, "tier": "P2", "team": "ml", "model": "m-" + group}}
	for _, a := range alerts {
		l := map[string]string{"alertname": group, "tier": "P2", "team": "ml", "model": "m-" + group, "fp": a.FP}
		for k, v := range a.Labels {
			l[k] = v
		}
		wa := incident.Alert{Status: incident.AlertFiring, Labels: l, Annotations: map[string]string{"summary": "s " + a.FP},
			StartsAt: T0.Add(a.Start), Fingerprint: a.FP}
		if a.End != 0 {
			wa.Status, wa.EndsAt = incident.AlertResolved, T0.Add(a.End)
		} else {
			m.Status = incident.AlertFiring
		}
		m.Alerts = append(m.Alerts, wa)
	}
	// Like Alertmanager: common labels are those every alert shares.
	if len(m.Alerts) > 0 {
		common := map[string]string{}
		for k, v := range m.Alerts[0].Labels {
			common[k] = v
		}
		for _, a := range m.Alerts[1:] {
			for k, v := range common {
				if a.Labels[k] != v {
					delete(common, k)
				}
			}
		}
		m.CommonLabels = common
	}
	return m
}

func ingest(t *testing.T, s *store.DB, m *incident.Notification) incident.Outcome {
	t.Helper()
	out, err := s.Ingest(context.Background(), m)
	require.NoError(t, err)
	return out
}

func all(t *testing.T, s *store.DB) []store.Incident {
	t.Helper()
	p, err := s.List(context.Background(), store.Filter{Limit: store.MaxPageSize})
	require.NoError(t, err)
	return p.Incidents
}

func get(t *testing.T, s *store.DB, id int64) *store.Detail {
	t.Helper()
	d, err := s.Get(context.Background(), id)
	require.NoError(t, err)
	return d
}

func testCaptureOpensOneIncident(t *testing.T, open Opener) {
	clk := NewClock(T0.Add(time.Hour))
	s := open(store.DefaultConfig(), clk.Now)
	out := ingest(t, s, capture(t, "firing-group.json"))
	require.Equal(t, 2, out.NewTransitions)
	incs := all(t, s)
	require.Len(t, incs, 1)
	inc := incs[0]
	require.Equal(t, `{}:{alertname="FeatureDriftHigh", model="fraud-v3"}`, inc.GroupKey)
	require.Equal(t, incident.P3, inc.Tier)
	require.Equal(t, "ml-platform", inc.Team)
	require.Equal(t, "fraud-v3", inc.Model)
	require.Equal(t, incident.Detected, inc.State)
	require.Equal(t, 2, inc.AlertsFiring)
	require.Equal(t, time.Date(2026, 11, 29, 20, 58, 15, 0, time.UTC), inc.DetectedAt, "detected when the first alert started")
	d := get(t, s, inc.ID)
	require.Len(t, d.Alerts, 2)
	require.Equal(t, "opened", d.Timeline[0].Kind)

	out = ingest(t, s, capture(t, "partly-resolved-group.json"))
	require.Equal(t, 1, out.NewTransitions)
	require.Equal(t, 1, out.Duplicates)
	inc = all(t, s)[0]
	require.Equal(t, 1, inc.AlertsFiring)
	require.Equal(t, incident.Detected, inc.State)
}

func testDuplicatesChangeNothing(t *testing.T, open Opener) {
	clk := NewClock(T0)
	s := open(store.DefaultConfig(), clk.Now)
	m := Msg("g", A{FP: "a"}, A{FP: "b", Start: time.Minute})
	ingest(t, s, m)
	before := all(t, s)
	v1, err := s.VerifyAudit(context.Background())
	require.NoError(t, err)
	for _, url := range []string{"http://am-0:9093", "http://am-1:9093", "http://am-2:9093"} {
		m.ExternalURL = url // each HA replica names itself
		clk.Add(time.Minute)
		out := ingest(t, s, m)
		require.Zero(t, out.NewTransitions)
		require.Equal(t, 2, out.Duplicates)
	}
	after := all(t, s)
	require.Len(t, after, 1)
	require.Equal(t, before[0].ID, after[0].ID)
	require.Equal(t, before[0].UpdatedAt, after[0].UpdatedAt, "duplicates must not even touch the incident")
	v2, err := s.VerifyAudit(context.Background())
	require.NoError(t, err)
	require.Equal(t, v1.Entries, v2.Entries, "duplicates are not audited as changes")
}

func testResolveAndReopen(t *testing.T, open Opener) {
	clk := NewClock(T0)
	cfg := store.DefaultConfig()
	cfg.ReopenWindow = 30 * time.Minute
	s := open(cfg, clk.Now)
	ingest(t, s, Msg("g", A{FP: "a"}, A{FP: "b"}))
	ingest(t, s, Msg("g", A{FP: "a", End: 5 * time.Minute}, A{FP: "b"}))
	inc := all(t, s)[0]
	require.Equal(t, incident.Detected, inc.State)
	ingest(t, s, Msg("g", A{FP: "a", End: 5 * time.Minute}, A{FP: "b", End: 7 * time.Minute}))
	inc = all(t, s)[0]
	require.Equal(t, incident.Resolved, inc.State)
	require.Equal(t, "system", inc.ResolvedBy)
	require.Equal(t, T0.Add(7*time.Minute), inc.ResolvedAt, "resolved when the last alert ended")
	require.Equal(t, 7*60.0, inc.MTTRSeconds)

	// a fires again 20 minutes after the resolve: same incident, reopened.
	ingest(t, s, Msg("g", A{FP: "a", Start: 27 * time.Minute}))
	incs := all(t, s)
	require.Len(t, incs, 1)
	require.Equal(t, incident.Detected, incs[0].State)
	require.Equal(t, 1, incs[0].ReopenCount)
	require.Zero(t, incs[0].ResolvedAt)
	require.Equal(t, 3, incs[0].AlertsTotal)

	ingest(t, s, Msg("g", A{FP: "a", Start: 27 * time.Minute, End: 30 * time.Minute}))
	require.Equal(t, incident.Resolved, all(t, s)[0].State)

	// Fires again two hours later: a new incident for the same group.
	ingest(t, s, Msg("g", A{FP: "a", Start: 150 * time.Minute}))
	incs = all(t, s)
	require.Len(t, incs, 2)
	require.Equal(t, incident.Detected, incs[0].State)
	require.Equal(t, T0.Add(150*time.Minute), incs[0].DetectedAt)
	require.Equal(t, incident.Resolved, incs[1].State)
}

// testPinnedConfig: a call made under store.WithConfig follows that policy, whatever the
// store was last set to — incidentd pins each request to the configuration that
// authorised it, so a reload in the middle of a request cannot change how it is grouped.
func testPinnedConfig(t *testing.T, open Opener) {
	s := open(store.DefaultConfig(), NewClock(T0.Add(time.Hour)).Now) // reopen window 30m
	ingest(t, s, Msg("g", A{FP: "a"}))
	ingest(t, s, Msg("g", A{FP: "a", End: 5 * time.Minute}))
	require.Equal(t, incident.Resolved, all(t, s)[0].State)

	// The request's configuration has no reopen window: a firing 10 minutes after the
	// resolve opens a new incident although the store's own policy would reopen.
	pinned := store.DefaultConfig()
	pinned.ReopenWindow = 0
	s.SetConfig(store.DefaultConfig())
	_, err := s.Ingest(store.WithConfig(context.Background(), pinned), Msg("g", A{FP: "a", Start: 15 * time.Minute}))
	require.NoError(t, err)
	incs := all(t, s)
	require.Len(t, incs, 2, "the pinned policy (no reopen window) decided")
	require.Zero(t, incs[1].ReopenCount)

	// Without a pinned policy the store's own applies: resolve, fire again, reopen.
	ingest(t, s, Msg("g", A{FP: "a", Start: 15 * time.Minute, End: 16 * time.Minute}))
	ingest(t, s, Msg("g", A{FP: "a", Start: 20 * time.Minute}))
	incs = all(t, s)
	require.Len(t, incs, 2)
	require.Equal(t, 1, incs[0].ReopenCount, "the store's 30-minute window reopened it")
}

func testOrphanResolve(t *testing.T, open Opener) {
	s := open(store.DefaultConfig(), NewClock(T0).Now)
	out := ingest(t, s, Msg("g", A{FP: "a", End: time.Minute}))
	require.Equal(t, 1, out.Orphans)
	require.Empty(t, all(t, s))
	es, err := s.Audit(context.Background(), store.AuditFilter{Action: "notification."})
	require.NoError(t, err)
	require.Len(t, es, 1, "the orphan resolve is recorded")
	require.Contains(t, string(es[0].After), `"orphans":1`)
	// Replaying it is a duplicate, not a second orphan.
	out = ingest(t, s, Msg("g", A{FP: "a", End: time.Minute}))
	require.Zero(t, out.Orphans)
	require.Equal(t, 1, out.Duplicates)
}

// testLateFiringAfterResolve: a retried firing notification arriving after the alert's
// resolve (stored as an orphan) is a new transition of a known alert, not a new alert —
// it opens nothing and is not counted, while a new alert beside it opens the incident.
func testLateFiringAfterResolve(t *testing.T, open Opener) {
	s := open(store.DefaultConfig(), NewClock(T0.Add(time.Hour)).Now)
	require.Equal(t, 1, ingest(t, s, Msg("g", A{FP: "a", End: 5 * time.Minute})).Orphans)
	out := ingest(t, s, Msg("g", A{FP: "a"}))
	require.Equal(t, 1, out.NewTransitions, "firing had not been recorded")
	require.Empty(t, all(t, s), "the late firing of a resolved alert opens nothing")

	out = ingest(t, s, Msg("g", A{FP: "a"}, A{FP: "b", Start: time.Minute}))
	require.Equal(t, 1, out.NewTransitions)
	incs := all(t, s)
	require.Len(t, incs, 1)
	require.Equal(t, 1, incs[0].AlertsTotal, "only the new alert joins")
	require.Equal(t, 1, incs[0].AlertsFiring)
	d := get(t, s, incs[0].ID)
	require.Len(t, d.Alerts, 1)
	require.Equal(t, "b", d.Alerts[0].Fingerprint)
}

func testWaitForHuman(t *testing.T, open Opener) {
	cfg := store.DefaultConfig()
	cfg.AutoResolve = false
	s := open(cfg, NewClock(T0).Now)
	ingest(t, s, Msg("g", A{FP: "a"}))
	ingest(t, s, Msg("g", A{FP: "a", End: time.Minute}))
	inc := all(t, s)[0]
	require.Equal(t, incident.Detected, inc.State)
	require.Zero(t, inc.AlertsFiring)
	d := get(t, s, inc.ID)
	require.Equal(t, "alerts_resolved", d.Timeline[len(d.Timeline)-1].Kind)
}

func testGroupByLabels(t *testing.T, open Opener) {
	cfg := store.DefaultConfig()
	cfg.GroupBy = []string{"model"}
	s := open(cfg, NewClock(T0).Now)
	m := Msg("g", A{FP: "a", Labels: map[string]string{"model": "x"}}, A{FP: "b", Labels: map[string]string{"model": "y"}}, A{FP: "c", Labels: map[string]string{"model": "x"}})
	out := ingest(t, s, m)
	require.Len(t, out.Incidents, 2)
	incs := all(t, s)
	require.Len(t, incs, 2)
	byModel := map[string]store.Incident{}
	for _, i := range incs {
		byModel[i.Model] = i
	}
	require.Equal(t, 2, byModel["x"].AlertsTotal)
	require.Equal(t, 1, byModel["y"].AlertsTotal)
	// The same label set from another Alertmanager route joins the same incident.
	ingest(t, s, Msg("other-route", A{FP: "d", Labels: map[string]string{"model": "y"}}))
	require.Len(t, all(t, s), 2)
}

func testLifecycle(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0)
	s := open(store.DefaultConfig(), clk.Now)
	ingest(t, s, Msg("g", A{FP: "a"}))
	id := all(t, s)[0].ID
	who := store.Action{Actor: "alice"}

	clk.Set(T0.Add(10 * time.Minute))
	inc, err := s.Ack(ctx, id, who)
	require.NoError(t, err)
	require.Equal(t, incident.Triaged, inc.State)
	require.Equal(t, 600.0, inc.MTTASeconds)
	require.False(t, inc.SLABreached, "P2 acked within an hour")
	again, err := s.Ack(ctx, id, store.Action{Actor: "bob"})
	require.NoError(t, err)
	require.Equal(t, inc.TriagedAt, again.TriagedAt, "a second ack changes nothing")

	clk.Set(T0.Add(20 * time.Minute))
	_, err = s.Transition(ctx, id, incident.Investigating, store.Action{Actor: "alice", Note: "looking at drift"})
	require.NoError(t, err)
	_, err = s.Transition(ctx, id, incident.Contained, who)
	var inv *store.InvalidError
	require.True(t, errors.As(err, &inv), "backward move refused: %v", err)
	_, err = s.Transition(ctx, id, incident.Reviewed, who)
	require.True(t, errors.As(err, &inv), "review before resolve refused")

	clk.Set(T0.Add(15 * time.Minute)) // the clock steps back
	inc, err = s.Transition(ctx, id, incident.Resolved, who)
	require.NoError(t, err)
	require.Equal(t, T0.Add(20*time.Minute), inc.ResolvedAt, "timestamps stay monotonic")
	require.True(t, inc.ContainedAt.IsZero(), "a skipped step keeps no time")
	require.Equal(t, "human", inc.ResolvedBy)

	_, err = s.Assign(ctx, id, "team-ml", who)
	require.NoError(t, err)
	inc, err = s.SetTier(ctx, id, incident.P1, who)
	require.NoError(t, err)
	require.Equal(t, incident.P1, inc.Tier)
	require.Equal(t, incident.P2, inc.AlertTier)
	require.False(t, inc.SLABreached, "acked after 10 minutes meets P1's 15")

	inc, err = s.Reopen(ctx, id, who)
	require.NoError(t, err)
	require.Equal(t, incident.Detected, inc.State)
	_, err = s.Reopen(ctx, id, who)
	require.True(t, errors.As(err, &inv))

	_, err = s.Ack(ctx, 99999, who)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Ack(ctx, id, store.Action{})
	require.True(t, errors.As(err, &inv), "actor required")

	d := get(t, s, id)
	var kinds []string
	for _, e := range d.Timeline {
		kinds = append(kinds, e.Kind+":"+e.Actor)
	}
	require.Equal(t, []string{"opened:system", "ack:alice", "transition:alice", "transition:alice", "assigned:alice", "tier_changed:alice", "reopened:alice"}, kinds)
	require.Equal(t, "looking at drift", d.Timeline[2].Note)

	// Unacknowledged P1 past 15 minutes is breached; skipping straight to resolved stamps the ack.
	ingest(t, s, Msg("p1", A{FP: "z", Labels: map[string]string{"tier": "P1"}}))
	var p1 store.Incident
	for _, i := range all(t, s) {
		if i.GroupKey == "p1" {
			p1 = i
		}
	}
	clk.Set(T0.Add(16 * time.Minute))
	got := get(t, s, p1.ID)
	require.True(t, got.SLABreached)
	inc, err = s.Transition(ctx, p1.ID, incident.Resolved, who)
	require.NoError(t, err)
	require.Equal(t, T0.Add(16*time.Minute), inc.TriagedAt)
	require.True(t, inc.SLABreached)
}

func testNotes(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(store.DefaultConfig(), NewClock(T0).Now)
	ingest(t, s, Msg("g", A{FP: "a"}))
	id := all(t, s)[0].ID
	who := store.Action{Actor: "carol"}
	_, err := s.AddNote(ctx, id, store.NoteInput{Kind: "containment", ContainmentKind: "fallback", Text: "traffic to rules engine"}, who)
	require.NoError(t, err)
	_, err = s.AddNote(ctx, id, store.NoteInput{Kind: "link", URL: "https://grafana/d/x", Text: "dashboard"}, who)
	require.NoError(t, err)
	_, err = s.AddNote(ctx, id, store.NoteInput{Kind: "note", Text: "cause: upstream schema change"}, who)
	require.NoError(t, err)
	var inv *store.InvalidError
	for _, bad := range []store.NoteInput{
		{Kind: "containment", ContainmentKind: "magic", Text: "x"},
		{Kind: "link", URL: "javascript:alert(1)"},
		{Kind: "note", Text: "  "},
		{Kind: "poem", Text: "x"},
		{Kind: "note", ContainmentKind: "fallback", Text: "x"},
	} {
		_, err := s.AddNote(ctx, id, bad, who)
		require.True(t, errors.As(err, &inv), "%+v: %v", bad, err)
	}
	_, err = s.AddNote(ctx, 4242, store.NoteInput{Kind: "note", Text: "x"}, who)
	require.ErrorIs(t, err, store.ErrNotFound)
	d := get(t, s, id)
	require.Len(t, d.Notes, 3)
	require.Equal(t, "fallback", d.Notes[0].ContainmentKind)
	require.Equal(t, "carol", d.Notes[2].Actor)
}

func testList(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(store.DefaultConfig(), NewClock(T0).Now)
	for i := range 25 {
		tier := []string{"P1", "P2", "P3"}[i%3]
		ingest(t, s, Msg(fmt.Sprintf("g%02d", i), A{FP: fmt.Sprintf("f%02d", i), Start: time.Duration(i) * time.Minute,
			Labels: map[string]string{"tier": tier}}))
	}
	_, err := s.Ack(ctx, all(t, s)[0].ID, store.Action{Actor: "a"})
	require.NoError(t, err)

	var seen []int64
	cursor := ""
	for {
		p, err := s.List(ctx, store.Filter{Limit: 7, Cursor: cursor})
		require.NoError(t, err)
		for _, i := range p.Incidents {
			seen = append(seen, i.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	require.Len(t, seen, 25, "cursor pages cover everything once")
	uniq := map[int64]bool{}
	for _, id := range seen {
		uniq[id] = true
	}
	require.Len(t, uniq, 25)

	p, err := s.List(ctx, store.Filter{Tier: incident.P1})
	require.NoError(t, err)
	require.Len(t, p.Incidents, 9)
	p, err = s.List(ctx, store.Filter{States: []incident.State{incident.Triaged}})
	require.NoError(t, err)
	require.Len(t, p.Incidents, 1)
	require.Equal(t, "g24", p.Incidents[0].GroupKey, "newest first")
	p, err = s.List(ctx, store.Filter{From: T0.Add(10 * time.Minute), To: T0.Add(20 * time.Minute), Model: "m-g12"})
	require.NoError(t, err)
	require.Len(t, p.Incidents, 1)
	p, err = s.List(ctx, store.Filter{From: T0.Add(10 * time.Minute), To: T0.Add(20 * time.Minute)})
	require.NoError(t, err)
	require.Len(t, p.Incidents, 10)
	p, err = s.List(ctx, store.Filter{Text: "G07"})
	require.NoError(t, err)
	require.Len(t, p.Incidents, 1)
	p, err = s.List(ctx, store.Filter{Text: "100%_"})
	require.NoError(t, err)
	require.Empty(t, p.Incidents, "LIKE wildcards in the search text are literal")
	_, err = s.List(ctx, store.Filter{Cursor: "garbage!"})
	var inv *store.InvalidError
	require.True(t, errors.As(err, &inv))
}

// testListCursorInRange pages through a time range with ties in detection time (the cursor
// then has to break ties by id), with labels decoded and kept raw, and checks each walk
// returns exactly the one-page listing, in order, and that the raw pages encode to the
// same JSON as the decoded ones.
func testListCursorInRange(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(store.DefaultConfig(), NewClock(T0).Now)
	for i := range 30 {
		// Three incidents start at each minute.
		ingest(t, s, Msg(fmt.Sprintf("r%02d", i), A{FP: fmt.Sprintf("r%02d", i), Start: time.Duration(i/3) * time.Minute,
			Labels: map[string]string{"tier": "P2", "svc": fmt.Sprintf("<s%d>&", i)}}))
	}
	from, to := T0.Add(2*time.Minute), T0.Add(8*time.Minute) // minutes 2..7: 18 incidents
	whole, err := s.List(ctx, store.Filter{From: from, To: to, Limit: store.MaxPageSize})
	require.NoError(t, err)
	require.Len(t, whole.Incidents, 18)
	require.Empty(t, whole.NextCursor)
	var want []int64
	for _, i := range whole.Incidents {
		want = append(want, i.ID)
	}
	for _, raw := range []bool{false, true} {
		for _, limit := range []int{1, 2, 3, 4, 7} {
			var got []int64
			cursor := ""
			for {
				p, err := s.List(ctx, store.Filter{From: from, To: to, Limit: limit, Cursor: cursor, RawLabels: raw})
				require.NoError(t, err)
				require.LessOrEqual(t, len(p.Incidents), limit)
				for _, i := range p.Incidents {
					got = append(got, i.ID)
				}
				if raw {
					require.Nil(t, p.Incidents[0].Labels, "raw listings leave labels undecoded")
					dec, err := s.List(ctx, store.Filter{From: from, To: to, Limit: limit, Cursor: cursor})
					require.NoError(t, err)
					var buf bytes.Buffer
					require.NoError(t, json.NewEncoder(&buf).Encode(dec.Wire()))
					require.Equal(t, buf.String(), string(p.AppendJSON(nil)), "raw page encodes like the decoded one")
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			require.Equal(t, want, got, "raw=%v limit=%d", raw, limit)
		}
	}
	// A cursor from a wider listing still honours a narrower To below it.
	p, err := s.List(ctx, store.Filter{Limit: 2})
	require.NoError(t, err)
	p, err = s.List(ctx, store.Filter{To: to, Limit: 50, Cursor: p.NextCursor})
	require.NoError(t, err)
	require.Len(t, p.Incidents, 24, "minutes 0..7")
	for _, i := range p.Incidents {
		require.True(t, i.DetectedAt.Before(to))
	}
}

func testStats(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0)
	s := open(store.DefaultConfig(), clk.Now)
	ingest(t, s, Msg("a", A{FP: "a"}))
	ingest(t, s, Msg("b", A{FP: "b"}))
	ingest(t, s, Msg("c", A{FP: "c", Labels: map[string]string{"tier": "P1"}}))
	ids := map[string]int64{}
	for _, i := range all(t, s) {
		ids[i.GroupKey] = i.ID
	}
	clk.Set(T0.Add(10 * time.Minute))
	_, err := s.Ack(ctx, ids["a"], store.Action{Actor: "x"})
	require.NoError(t, err)
	clk.Set(T0.Add(30 * time.Minute))
	_, err = s.Ack(ctx, ids["b"], store.Action{Actor: "x"})
	require.NoError(t, err)
	clk.Set(T0.Add(60 * time.Minute))
	_, err = s.Transition(ctx, ids["b"], incident.Resolved, store.Action{Actor: "x"})
	require.NoError(t, err)

	st, err := s.Stats(ctx, T0.Add(-time.Hour), T0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 3, st.Total.Count)
	require.Equal(t, 2, st.Total.Open)
	require.Equal(t, 2, st.Total.Acked)
	require.InDelta(t, (600.0+1800.0)/2, st.Total.MTTASeconds, 1e-9)
	require.InDelta(t, 3600.0, st.Total.MTTRSeconds, 1e-9)
	require.Equal(t, 1, st.Total.SLABreached, "the P1 is unacknowledged after an hour")
	require.Len(t, st.ByTier, 2)
	require.Equal(t, "P1", st.ByTier[0].Key)
	require.Equal(t, 2, st.ByTier[1].Count)
	require.Equal(t, 1, st.ByState["resolved"])
	_, err = s.Stats(ctx, T0, T0)
	var inv *store.InvalidError
	require.True(t, errors.As(err, &inv))
}

func testAudit(t *testing.T, b Backend) {
	ctx := context.Background()
	s := b.Open(store.DefaultConfig(), NewClock(T0).Now)
	ingest(t, s, Msg("g", A{FP: "a"}))
	id := all(t, s)[0].ID
	_, err := s.Ack(ctx, id, store.Action{Actor: "dave"})
	require.NoError(t, err)
	require.NoError(t, s.RecordAudit(ctx, "admin", "config.reload", "config", nil, map[string]any{"ok": true}))
	es, err := s.Audit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, es, 3)
	require.Equal(t, "notification.ingested", es[0].Action)
	require.Equal(t, "incident.ack", es[1].Action)
	require.Equal(t, "dave", es[1].Actor)
	require.Contains(t, string(es[1].Before), `"state":"detected"`)
	require.Contains(t, string(es[1].After), `"state":"triaged"`)
	require.Equal(t, es[0].Hash, es[1].PrevHash)
	es, err = s.Audit(ctx, store.AuditFilter{Actor: "dave"})
	require.NoError(t, err)
	require.Len(t, es, 1)
	es, err = s.Audit(ctx, store.AuditFilter{AfterSeq: 2})
	require.NoError(t, err)
	require.Len(t, es, 1)

	v, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	require.True(t, v.OK, v.Problem)
	require.Equal(t, int64(3), v.Entries)

	// The log is append-only in the database itself.
	_, err = b.Raw.ExecContext(ctx, `UPDATE audit SET actor = 'mallory' WHERE seq = 2`)
	require.Error(t, err)
	_, err = b.Raw.ExecContext(ctx, `DELETE FROM audit WHERE seq = 3`)
	require.Error(t, err)
	// Someone with the database owner's rights drops the guard and edits an entry: detected.
	tamper(t, b)
	v, err = s.VerifyAudit(ctx)
	require.NoError(t, err)
	require.False(t, v.OK)
	require.Equal(t, int64(2), v.FirstBad)
}

func tamper(t *testing.T, b Backend) {
	ctx := context.Background()
	if b.Dialect.Name == "postgres" {
		_, err := b.Raw.ExecContext(ctx, `ALTER TABLE audit DISABLE TRIGGER audit_no_change`)
		require.NoError(t, err)
	} else {
		_, err := b.Raw.ExecContext(ctx, `DROP TRIGGER audit_no_update`)
		require.NoError(t, err)
	}
	_, err := b.Raw.ExecContext(ctx, `UPDATE audit SET actor = 'mallory' WHERE seq = 2`)
	require.NoError(t, err)
}

// snapshot is the state replay must reproduce: which incidents exist per group, their
// state and times, and each alert's status. Timelines and counters of reopenings may
// differ, as they record the order things arrived in.
func snapshot(t *testing.T, s *store.DB) []string {
	var out []string
	for _, i := range all(t, s) {
		d := get(t, s, i.ID)
		line := fmt.Sprintf("%s state=%s det=%s res=%s firing=%d total=%d tier=%s team=%s model=%s alerts=",
			i.GroupKey, i.State, i.DetectedAt.Format(time.RFC3339), i.ResolvedAt.Format(time.RFC3339), i.AlertsFiring, i.AlertsTotal, i.Tier, i.Team, i.Model)
		for _, a := range d.Alerts {
			line += fmt.Sprintf("[%s@%s %s %s]", a.Fingerprint, a.StartsAt.Format(time.RFC3339), a.Status, a.EndsAt.Format(time.RFC3339))
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

// episodes generates, for several groups, notification sequences as Alertmanager sends
// them: alerts join, some resolve, all resolve; then the group fires again later (within
// or beyond the reopen window). Order matters only between episodes of one group.
func episodes(r *rand.Rand, n int) [][]*incident.Notification {
	var groups [][]*incident.Notification
	for g := range n {
		key := fmt.Sprintf("grp%d", g)
		var seq []*incident.Notification
		base := time.Duration(0)
		for ep := range 2 + r.IntN(2) {
			n := 1 + r.IntN(4)
			var alerts []A
			for k := range n {
				alerts = append(alerts, A{FP: fmt.Sprintf("%s-f%d", key, k), Start: base + time.Duration(k)*time.Minute})
			}
			// snapshots as alerts join
			for k := 1; k <= n; k++ {
				seq = append(seq, Msg(key, alerts[:k]...))
			}
			// resolve one by one
			end := base + time.Duration(n+5)*time.Minute
			for k := range n {
				alerts[k].End = end + time.Duration(k)*time.Minute
				seq = append(seq, Msg(key, alerts...))
			}
			_ = ep
			gap := []time.Duration{10 * time.Minute, 3 * time.Hour}[r.IntN(2)] // reopen, or a new incident
			base = alerts[n-1].End + gap
		}
		groups = append(groups, seq)
	}
	return groups
}

func testReplayProperty(t *testing.T, open Opener) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 42))
	groups := episodes(r, 4)

	// Reference: each group's notifications once, in order.
	ref := open(store.DefaultConfig(), NewClock(T0.Add(24*time.Hour)).Now)
	for _, seq := range groups {
		for _, m := range seq {
			ingest(t, ref, m)
		}
	}
	want := snapshot(t, ref)
	require.NotEmpty(t, want)

	for run := range 3 {
		s := open(store.DefaultConfig(), NewClock(T0.Add(24*time.Hour)).Now)
		// Interleave groups at random; within a group, shuffle notifications inside each
		// episode window (retries overtaking each other) and repeat some (HA, repeat_interval).
		var queues [][]*incident.Notification
		for _, seq := range groups {
			q := duplicateAndShuffleWithinEpisodes(r, seq)
			queues = append(queues, q)
		}
		for {
			var live []int
			for i, q := range queues {
				if len(q) > 0 {
					live = append(live, i)
				}
			}
			if len(live) == 0 {
				break
			}
			i := live[r.IntN(len(live))]
			m := *queues[i][0]
			m.ExternalURL = fmt.Sprintf("http://am-%d:9093", r.IntN(3))
			queues[i] = queues[i][1:]
			ingest(t, s, &m)
		}
		// And replay everything once more, in order: nothing may change.
		for _, seq := range groups {
			for _, m := range seq {
				ingest(t, s, m)
			}
		}
		require.Equal(t, want, snapshot(t, s), "run %d (seed %d)", run, seed)
	}
}

// testReplayConcurrent sends many groups' notifications at once, each group's in order
// (shuffled within episodes, with duplicates) from its own goroutine, so that writes share
// commits and run side by side: the end state must equal one-at-a-time ingestion.
func testReplayConcurrent(t *testing.T, open Opener) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	groups := episodes(r, 24)
	ref := open(store.DefaultConfig(), NewClock(T0.Add(24*time.Hour)).Now)
	for _, seq := range groups {
		for _, m := range seq {
			ingest(t, ref, m)
		}
	}
	want := snapshot(t, ref)

	s := open(store.DefaultConfig(), NewClock(T0.Add(24*time.Hour)).Now)
	var wg sync.WaitGroup
	errs := make(chan error, len(groups))
	for _, seq := range groups {
		q := duplicateAndShuffleWithinEpisodes(r, seq)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range q {
				if _, err := s.Ingest(context.Background(), m); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, want, snapshot(t, s), "seed %d", seed)
	v, err := s.VerifyAudit(context.Background())
	require.NoError(t, err)
	require.True(t, v.OK, v.Problem)
}

// duplicateAndShuffleWithinEpisodes shuffles notifications whose alerts all started
// before the next episode began and duplicates about a third of them.
func duplicateAndShuffleWithinEpisodes(r *rand.Rand, seq []*incident.Notification) []*incident.Notification {
	var out []*incident.Notification
	start := 0
	flush := func(end int) {
		chunk := append([]*incident.Notification(nil), seq[start:end]...)
		for _, m := range seq[start:end] {
			if r.IntN(3) == 0 {
				chunk = append(chunk, m)
			}
		}
		r.Shuffle(len(chunk), func(i, j int) { chunk[i], chunk[j] = chunk[j], chunk[i] })
		out = append(out, chunk...)
		start = end
	}
	for i := 1; i < len(seq); i++ {
		if episodeStart(seq[i]) != episodeStart(seq[i-1]) {
			flush(i)
		}
	}
	flush(len(seq))
	return out
}

func episodeStart(m *incident.Notification) time.Time {
	t := m.Alerts[0].StartsAt
	for _, a := range m.Alerts {
		if a.StartsAt.Before(t) {
			t = a.StartsAt
		}
	}
	return t
}

func testConcurrentReplicas(t *testing.T, open Opener) {
	a := open(store.DefaultConfig(), NewClock(T0).Now)
	b := open(store.DefaultConfig(), NewClock(T0).Now)
	const groups = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*groups)
	// Two incidentd replicas, each receiving every notification twice (two Alertmanagers).
	for _, s := range []*store.DB{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range groups {
				m := Msg(fmt.Sprintf("g%d", g), A{FP: fmt.Sprintf("a%d", g)}, A{FP: fmt.Sprintf("b%d", g)})
				if _, err := s.Ingest(context.Background(), m); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	incs := all(t, a)
	require.Len(t, incs, groups, "one incident per group")
	for _, i := range incs {
		require.Equal(t, 2, i.AlertsTotal)
	}
	v, err := a.VerifyAudit(context.Background())
	require.NoError(t, err)
	require.True(t, v.OK, v.Problem)
	require.Equal(t, int64(groups), v.Entries, "each group's first notification audited once; the rest were duplicates")
}

// testTwoRoutesResolveRace: an alert routed to two groups (two Alertmanager routes) is
// stored once, in the group that saw it first. When both routes report its resolve at once,
// with different ends, on two replicas, one writer resolves it and the other only moves its
// end later: no write fails, the alert is resolved once and ends at the later end, and its
// incident resolves with no alert counted firing.
func testTwoRoutesResolveRace(t *testing.T, open Opener) {
	ctx := context.Background()
	a := open(store.DefaultConfig(), NewClock(T0.Add(time.Hour)).Now)
	b := open(store.DefaultConfig(), NewClock(T0.Add(time.Hour)).Now)
	const alerts = 16
	first := map[string]int64{} // fingerprint → the incident of the route that stored it
	for i := range alerts {
		fp := fmt.Sprintf("shared%d", i)
		first[fp] = ingest(t, a, Msg(fmt.Sprintf("route1-%d", i), A{FP: fp})).Incidents[0]
		ingest(t, a, Msg(fmt.Sprintf("route2-%d", i), A{FP: fp}))
	}
	errs := make(chan error, 2*alerts)
	for i := range alerts { // both routes' resolves of one alert at once
		var wg sync.WaitGroup
		start := make(chan struct{})
		for r, s := range []*store.DB{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := Msg(fmt.Sprintf("route%d-%d", r+1, i), A{FP: fmt.Sprintf("shared%d", i), End: time.Duration(5+r) * time.Minute})
				<-start
				if _, err := s.Ingest(ctx, m); err != nil {
					errs <- err
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for fp, id := range first {
		d := get(t, a, id)
		require.Len(t, d.Alerts, 1, fp)
		require.Equal(t, incident.AlertResolved, incident.AlertStatus(d.Alerts[0].Status), fp)
		require.Equal(t, T0.Add(6*time.Minute), d.Alerts[0].EndsAt, "%s: the later end", fp)
		require.Equal(t, incident.Resolved, d.State, fp)
		require.Zero(t, d.AlertsFiring, fp)
		require.False(t, d.ResolvedAt.Before(T0.Add(5*time.Minute)), fp)
	}
}

// testSearchTextBounded: a search text longer than MaxSearchBytes is refused on its merits
// (the API's 400 naming q) before any SQL runs; SQLite would fail a LIKE pattern over
// 50,000 bytes with an error the API used to pass on as a 503.
func testSearchTextBounded(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(store.DefaultConfig(), NewClock(T0).Now)
	_, err := s.Ingest(ctx, Msg("g", A{FP: "a", Labels: map[string]string{"alertname": "Drift"}}))
	require.NoError(t, err)
	long := strings.Repeat("ab%_", 15000)
	var inv *store.InvalidError
	_, err = s.List(ctx, store.Filter{Text: long})
	require.ErrorAs(t, err, &inv)
	require.ErrorContains(t, err, "q: at most")
	_, err = s.ListChanges(ctx, store.ChangeFilter{Text: long})
	require.ErrorAs(t, err, &inv)
	_, err = s.Audit(ctx, store.AuditFilter{Action: long})
	require.ErrorAs(t, err, &inv)
	p, err := s.List(ctx, store.Filter{Text: strings.Repeat("x", store.MaxSearchBytes)})
	require.NoError(t, err)
	require.Empty(t, p.Incidents)
}

// testMetricsSurviveExtremeTimes: whatever times rows hold — written before alert times
// were range-checked, or by hand — the scrape-time metrics still read: the histogram query
// used to overflow int64 nanoseconds (two incidents detected in 1800 and acknowledged
// today), failing every scrape of the incident metrics.
func testMetricsSurviveExtremeTimes(t *testing.T, b Backend) {
	ctx := context.Background()
	clock := NewClock(T0)
	s := b.Open(store.DefaultConfig(), clock.Now)
	var ids []int64
	// P1: the two incidents of the report, integers whose sum overflows; P2: the extremes
	// of int64, whose differences overflow.
	for i, g := range []string{"a", "b", "c", "d"} {
		tier := map[bool]string{true: "P1", false: "P2"}[i < 2]
		out, err := s.Ingest(ctx, Msg(g, A{FP: g, Labels: map[string]string{"alertname": "X", "tier": tier}}))
		require.NoError(t, err)
		ids = append(ids, out.Incidents[0])
	}
	for _, id := range ids {
		_, err := s.Ack(ctx, id, store.Action{Actor: "alice"})
		require.NoError(t, err)
		_, err = s.Transition(ctx, id, incident.Resolved, store.Action{Actor: "alice"})
		require.NoError(t, err)
	}
	year1800 := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i, det := range []int64{year1800, year1800, math.MinInt64 + 1, 1} {
		tri, res := T0.UnixNano(), int64(math.MaxInt64)
		if i == 3 {
			tri = math.MaxInt64
		}
		_, err := b.Raw.ExecContext(ctx, b.Dialect.Rebind(`UPDATE incidents SET detected_at = ?, triaged_at = ?, resolved_at = ? WHERE id = ?`), det, tri, res, ids[i])
		require.NoError(t, err)
	}
	for _, which := range []string{"ack", "resolve"} {
		counts, sums, err := s.DurationBuckets(ctx, which, []float64{60, 3600})
		require.NoError(t, err, which)
		for _, tier := range []string{"P1", "P2"} {
			require.Equal(t, []uint64{0, 0, 2}, counts[tier], which)
			require.False(t, math.IsInf(sums[tier], 0) || math.IsNaN(sums[tier]), which)
			require.Greater(t, sums[tier], 2*7e9, which)
		}
	}
	_, err := s.OpenCounts(ctx)
	require.NoError(t, err)
	_, err = s.OpenBreaches(ctx)
	require.NoError(t, err)
	_, err = s.Stats(ctx, time.Unix(0, math.MinInt64+1), T0.Add(time.Hour))
	require.NoError(t, err)
	p, err := s.List(ctx, store.Filter{})
	require.NoError(t, err)
	require.Len(t, p.Incidents, 4)
}
