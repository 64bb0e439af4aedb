package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

func fallbackPolicy(t *testing.T, cfg containment.Config) *containment.Compiled {
	t.Helper()
	if cfg.Policies == nil {
		cfg.Policies = []containment.PolicyConfig{{Name: "p1-fallback", Match: []string{`tier="P1"`, `containment="fallback"`},
			Action: "fallback", Lift: containment.LiftConfig{AfterResolve: "10m"}}}
	}
	c, err := containment.Compile(cfg)
	require.NoError(t, err)
	return c
}

// p1 is a firing P1 alert asking for a fallback from v2 to v1.
func p1(group string) A {
	return A{FP: "fp-" + group, Labels: map[string]string{"tier": "P1", "containment": "fallback", "version": "v2", "fallback_version": "v1"}}
}

func kinds(d *store.Detail) []string {
	var out []string
	for _, e := range d.Timeline {
		out = append(out, e.Kind)
	}
	return out
}

// testContainmentApplyLift: a person's containment is stored, listed while active, put on
// its incident's timeline and in the audit log; lifting it once works, twice is refused,
// and refusals leave nothing behind.
func testContainmentApplyLift(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(time.Minute))
	s := open(store.DefaultConfig(), clk.Now)
	ingest(t, s, Msg("g", A{FP: "a"}))
	inc := all(t, s)[0]

	req := containment.Request{Model: inc.Model, Version: "v2", Action: "fallback", FallbackVersion: "v1", Reason: "AUC collapsed", Incident: inc.ID}
	c, err := req.Validate(clk.Now())
	require.NoError(t, err)
	got, err := s.ApplyContainment(ctx, c, "alice")
	require.NoError(t, err)
	require.NotZero(t, got.ID)
	require.True(t, got.Active)
	require.Equal(t, "alice", got.CreatedBy)

	read, err := s.GetContainment(ctx, got.ID)
	require.NoError(t, err)
	require.Equal(t, got.Model, read.Model)
	require.Equal(t, containment.Fallback, read.Action)
	require.Equal(t, "v1", read.FallbackVersion)
	require.Equal(t, containment.UntilLifted, read.Until)

	active, err := s.ListContainments(ctx, store.ContainmentFilter{Model: inc.Model, Active: true})
	require.NoError(t, err)
	require.Len(t, active, 1)
	counts, err := s.ActiveContainments(ctx)
	require.NoError(t, err)
	require.Equal(t, map[[2]string]int{{inc.Model, "fallback"}: 1}, counts)

	// A block on an unknown model and one for a missing incident are refused whole.
	blk, err := containment.Request{Model: "no-such-model", Action: "block_inputs", Match: &containment.Match{InputClass: "pdf"}, Reason: "r"}.Validate(clk.Now())
	require.NoError(t, err)
	_, err = s.ApplyContainment(ctx, blk, "alice")
	var inv *store.InvalidError
	require.ErrorAs(t, err, &inv)
	require.ErrorContains(t, err, "model:")
	blk.Model, blk.IncidentID = inc.Model, 999
	_, err = s.ApplyContainment(ctx, blk, "alice")
	require.ErrorAs(t, err, &inv)
	require.ErrorContains(t, err, "incident:")
	everything, err := s.ListContainments(ctx, store.ContainmentFilter{})
	require.NoError(t, err)
	require.Len(t, everything, 1, "refused requests store nothing")

	// A flood of applies stops at the bound per model, with an error naming the field.
	for i := 1; i < store.MaxActivePerModel; i++ {
		d, err := containment.Request{Model: inc.Model, Action: "block_inputs", Match: &containment.Match{InputClass: fmt.Sprintf("c%d", i)}, Reason: "r"}.Validate(clk.Now())
		require.NoError(t, err)
		_, err = s.ApplyContainment(ctx, d, "flood")
		require.NoError(t, err)
	}
	_, err = s.ApplyContainment(ctx, c, "flood")
	require.ErrorAs(t, err, &inv)
	require.ErrorContains(t, err, "already active")
	everything, err = s.ListContainments(ctx, store.ContainmentFilter{Model: inc.Model, Active: true})
	require.NoError(t, err)
	require.Len(t, everything, store.MaxActivePerModel)
	for _, e := range everything[1:] {
		_, err := s.LiftContainment(ctx, e.ID, "flood", "")
		require.NoError(t, err)
	}

	clk.Add(time.Minute)
	lifted, err := s.LiftContainment(ctx, got.ID, "bob", "v2 retrained")
	require.NoError(t, err)
	require.False(t, lifted.Active)
	require.Equal(t, "bob", lifted.LiftedBy)
	_, err = s.LiftContainment(ctx, got.ID, "bob", "")
	require.ErrorIs(t, err, containment.ErrNotActive)
	_, err = s.LiftContainment(ctx, 424242, "bob", "")
	require.ErrorIs(t, err, store.ErrNotFound)

	active, err = s.ListContainments(ctx, store.ContainmentFilter{Active: true})
	require.NoError(t, err)
	require.Empty(t, active)
	require.Equal(t, []string{"opened", "containment_applied", "containment_lifted"}, kinds(get(t, s, inc.ID)))

	es, err := s.Audit(ctx, store.AuditFilter{Object: fmt.Sprintf("containment/%d", got.ID)})
	require.NoError(t, err)
	require.Len(t, es, 2)
	require.Equal(t, "containment.applied", es[0].Action)
	require.Equal(t, "alice", es[0].Actor)
	require.Equal(t, "containment.lifted", es[1].Action)
	require.Equal(t, "bob", es[1].Actor)
	v, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	require.True(t, v.OK, v.Problem)
}

// testContainmentExpiry: an expired containment stops being active at once, and LiftDue
// records its end on the timeline and in the audit log, once.
func testContainmentExpiry(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(time.Minute))
	s := open(store.DefaultConfig(), clk.Now)
	ingest(t, s, Msg("g", A{FP: "a"}))
	inc := all(t, s)[0]
	exp := clk.Now().Add(30 * time.Minute)
	c, err := containment.Request{Model: inc.Model, Action: "disable", Reason: "toxic output", Incident: inc.ID, ExpiresAt: &exp}.Validate(clk.Now())
	require.NoError(t, err)
	got, err := s.ApplyContainment(ctx, c, "alice")
	require.NoError(t, err)

	lifted, err := s.LiftDue(ctx)
	require.NoError(t, err)
	require.Empty(t, lifted, "not expired yet")

	clk.Set(exp)
	active, err := s.ListContainments(ctx, store.ContainmentFilter{Active: true})
	require.NoError(t, err)
	require.Empty(t, active, "expired containments are not active even before LiftDue runs")
	lifted, err = s.LiftDue(ctx)
	require.NoError(t, err)
	require.Len(t, lifted, 1)
	require.Equal(t, got.ID, lifted[0].ID)
	require.Equal(t, "expired", lifted[0].LiftReason)
	lifted, err = s.LiftDue(ctx)
	require.NoError(t, err)
	require.Empty(t, lifted)
	require.Equal(t, []string{"opened", "containment_applied", "containment_lifted"}, kinds(get(t, s, inc.ID)))
}

// testContainmentAutomatic: a matching P1 incident is contained by its policy once, on
// the incident's model and version; the containment is lifted lift_after after the
// incident resolves; a P2 is left alone.
func testContainmentAutomatic(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(time.Minute))
	s := open(store.DefaultConfig(), clk.Now)
	cfg := fallbackPolicy(t, containment.Config{Enabled: true})
	ingest(t, s, Msg("fraud", p1("fraud")))
	ingest(t, s, Msg("other", A{FP: "x", Labels: map[string]string{"containment": "fallback", "version": "v2", "fallback_version": "v1"}}))

	runs, err := s.AutoContain(ctx, cfg)
	require.NoError(t, err)
	require.Len(t, runs, 1, "only the P1 matches")
	r := runs[0]
	require.Equal(t, store.OutcomeApplied, r.Outcome)
	require.Equal(t, "m-fraud", r.Containment.Model)
	require.Equal(t, "v2", r.Containment.Version)
	require.Equal(t, "v1", r.Containment.FallbackVersion)
	require.Equal(t, "p1-fallback", r.Containment.Policy)
	require.Equal(t, store.SystemActor, r.Containment.CreatedBy)

	runs, err = s.AutoContain(ctx, cfg)
	require.NoError(t, err)
	require.Empty(t, runs, "a policy runs once per incident")

	// Resolve: the containment stays for lift_after (10m), then incidentd lifts it.
	ingest(t, s, Msg("fraud", A{FP: "fp-fraud", End: 2 * time.Minute, Labels: p1("fraud").Labels}))
	clk.Add(5 * time.Minute)
	lifted, err := s.LiftDue(ctx)
	require.NoError(t, err)
	require.Empty(t, lifted)
	clk.Add(10 * time.Minute)
	lifted, err = s.LiftDue(ctx)
	require.NoError(t, err)
	require.Len(t, lifted, 1)
	require.Contains(t, lifted[0].LiftReason, "incident resolved")
	d := get(t, s, r.Incident)
	require.Contains(t, kinds(d), "containment_applied")
	require.Contains(t, kinds(d), "containment_lifted")
}

// testContainmentKillSwitchDryRunAndCap: enabled=false does nothing; dry_run records
// what it would do and contains nothing; the hourly cap stops the next incidents and
// says so on their timelines.
func testContainmentKillSwitchDryRunAndCap(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(time.Minute))
	s := open(store.DefaultConfig(), clk.Now)
	for _, g := range []string{"a", "b", "c"} {
		ingest(t, s, Msg(g, p1(g)))
	}
	runs, err := s.AutoContain(ctx, fallbackPolicy(t, containment.Config{Enabled: false}))
	require.NoError(t, err)
	require.Empty(t, runs, "kill switch")

	// A dry run on incident a only (a narrower policy), then the real policy capped at 1.
	dry := fallbackPolicy(t, containment.Config{Enabled: true, DryRun: true, Policies: []containment.PolicyConfig{{Name: "dry",
		Match: []string{`alertname="a"`}, Action: "fallback"}}})
	runs, err = s.AutoContain(ctx, dry)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, store.OutcomeDryRun, runs[0].Outcome)
	active, err := s.ListContainments(ctx, store.ContainmentFilter{Active: true})
	require.NoError(t, err)
	require.Empty(t, active, "a dry run contains nothing")

	runs, err = s.AutoContain(ctx, fallbackPolicy(t, containment.Config{Enabled: true, MaxActionsPerHour: 1}))
	require.NoError(t, err)
	require.Len(t, runs, 3)
	outcomes := map[string]int{}
	for _, r := range runs {
		outcomes[r.Outcome]++
		d := get(t, s, r.Incident)
		require.Contains(t, kinds(d), "containment_"+r.Outcome)
	}
	require.Equal(t, map[string]int{store.OutcomeApplied: 1, store.OutcomeRateLimited: 2}, outcomes)
	active, err = s.ListContainments(ctx, store.ContainmentFilter{Active: true})
	require.NoError(t, err)
	require.Len(t, active, 1)

	// An hour later the cap has room again, but the capped incidents already had their
	// run: a flapping alert does not get a second chance to flip traffic.
	clk.Add(61 * time.Minute)
	ingest(t, s, Msg("d", A{FP: "fp-d", Start: 62 * time.Minute, Labels: p1("d").Labels}))
	runs, err = s.AutoContain(ctx, fallbackPolicy(t, containment.Config{Enabled: true, MaxActionsPerHour: 1}))
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, store.OutcomeApplied, runs[0].Outcome)
}

// testContainmentReplicasOnce: two replicas running automation at the same time apply one
// containment per incident, never two, and the audit chain stays whole.
func testContainmentReplicasOnce(t *testing.T, open Opener) {
	ctx := context.Background()
	a := open(store.DefaultConfig(), NewClock(T0.Add(time.Minute)).Now)
	b := open(store.DefaultConfig(), NewClock(T0.Add(time.Minute)).Now)
	const n = 8
	for g := range n {
		ingest(t, a, Msg(fmt.Sprintf("g%d", g), p1(fmt.Sprintf("g%d", g))))
	}
	cfg := fallbackPolicy(t, containment.Config{Enabled: true, MaxActionsPerHour: 100})
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	var errs []error
	for _, s := range []*store.DB{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs, err := s.AutoContain(ctx, cfg)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			for _, r := range runs {
				if r.Outcome == store.OutcomeApplied {
					applied++
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, n, applied)
	cs, err := a.ListContainments(ctx, store.ContainmentFilter{})
	require.NoError(t, err)
	require.Len(t, cs, n, "one containment per incident")
	seen := map[int64]bool{}
	for _, c := range cs {
		require.False(t, seen[c.IncidentID], "incident %d contained twice", c.IncidentID)
		seen[c.IncidentID] = true
	}
	v, err := a.VerifyAudit(ctx)
	require.NoError(t, err)
	require.True(t, v.OK, v.Problem)
}

// testContainmentHookOutbox: each apply and lift queues one call per configured hook (of
// that action) in the same transaction; a claimed call is leased to one replica; failures
// back off, and a call given up is put on the incident's timeline.
func testContainmentHookOutbox(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(time.Minute))
	cfg := store.DefaultConfig()
	cfg.ContainmentHooks = []store.HookTarget{{Name: "flags"}, {Name: "rollback", Actions: []string{"fallback"}}}
	a := open(cfg, clk.Now)
	b := open(cfg, clk.Now)
	ingest(t, a, Msg("g", A{FP: "x"}))
	inc := all(t, a)[0]
	dis, err := containment.Request{Model: inc.Model, Action: "disable", Reason: "r", Incident: inc.ID}.Validate(clk.Now())
	require.NoError(t, err)
	c1, err := a.ApplyContainment(ctx, dis, "alice")
	require.NoError(t, err)
	fb, err := containment.Request{Model: inc.Model, Action: "fallback", FallbackVersion: "v1", Reason: "r", Incident: inc.ID}.Validate(clk.Now())
	require.NoError(t, err)
	c2, err := a.ApplyContainment(ctx, fb, "alice")
	require.NoError(t, err)
	_, err = a.LiftContainment(ctx, c2.ID, "bob", "")
	require.NoError(t, err)
	h1, err := a.ContainmentHooks(ctx, c1.ID)
	require.NoError(t, err)
	require.Len(t, h1, 1, "disable: only the hook for every action")
	h2, err := a.ContainmentHooks(ctx, c2.ID)
	require.NoError(t, err)
	require.Len(t, h2, 4, "fallback applied and lifted, two hooks each")
	require.Equal(t, "containment.lifted", h2[3].Event)
	var p store.HookPayload
	require.NoError(t, json.Unmarshal(h2[0].Payload, &p))
	require.Equal(t, "containment.applied", p.Event)
	require.Equal(t, c2.ID, p.Containment.ID)

	// Two replicas claim at once: every call goes to exactly one.
	var wg sync.WaitGroup
	claimed := make([][]store.HookDelivery, 2)
	for i, s := range []*store.DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds, err := s.ClaimHooks(ctx, 50, time.Minute)
			assert(t, err)
			claimed[i] = ds
		}()
	}
	wg.Wait()
	require.Len(t, append(claimed[0], claimed[1]...), 5)
	again, err := a.ClaimHooks(ctx, 50, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "leased calls are not claimed again")

	// One is delivered, one keeps failing until it is given up.
	ds := append(claimed[0], claimed[1]...)
	require.NoError(t, a.HookResult(ctx, ds[0], nil, false, 3))
	failing := ds[1]
	for attempt := 1; ; attempt++ {
		require.NoError(t, a.HookResult(ctx, failing, errors.New("503 from flags"), true, 3))
		if attempt == 3 {
			break
		}
		clk.Add(store.HookBackoff(attempt))
		got, err := a.ClaimHooks(ctx, 1, time.Minute)
		require.NoError(t, err)
		require.Len(t, got, 1, "retried after its backoff")
		require.Equal(t, failing.ID, got[0].ID)
		failing = got[0]
	}
	hs, err := a.ContainmentHooks(ctx, failing.ContainmentID)
	require.NoError(t, err)
	for _, h := range hs {
		switch h.ID {
		case ds[0].ID:
			require.False(t, h.DeliveredAt.IsZero())
		case failing.ID:
			require.Equal(t, 3, h.Attempts)
			require.False(t, h.GaveUpAt.IsZero())
			require.Equal(t, "503 from flags", h.LastError)
		}
	}
	require.Contains(t, kinds(get(t, a, inc.ID)), "containment_hook_failed")
}

func assert(t *testing.T, err error) {
	if err != nil {
		t.Error(err)
	}
}
