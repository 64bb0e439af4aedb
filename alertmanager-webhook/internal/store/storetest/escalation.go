package storetest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// esc writes inside one escalation transaction and fails the test on an error.
func esc(t *testing.T, s *store.DB, fn func(ctx context.Context, tx *store.EscalationTx) error) {
	t.Helper()
	require.NoError(t, s.UpdateEscalations(context.Background(), "test", fn))
}

// testEscalationRows: an escalation is written once per incident (a second replica's
// insert changes nothing), reads back field for field, is updated in place, refuses
// values it could not read back, and a failed unit of work leaves nothing behind.
func testEscalationRows(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0)
	s := open(store.DefaultConfig(), clk.Now)
	id := ingest(t, s, Msg("g", A{FP: "a"})).Incidents[0]

	got, err := s.Escalation(ctx, id)
	require.NoError(t, err)
	require.Nil(t, got, "not routed yet")

	want := store.Escalation{IncidentID: id, Team: "ml", Policy: "ml-oncall", Tier: incident.P2, Action: store.EscalationHold, State: store.EscalationPending,
		Step: 1, Round: 2, DueAt: T0.Add(9 * time.Hour), ReopenSeen: 3, AckedNotified: true, CreatedAt: T0, UpdatedAt: T0.Add(time.Second)}
	esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
		inc, err := tx.Incident(ctx, id)
		require.NoError(t, err)
		require.Equal(t, id, inc.ID)
		_, err = tx.Incident(ctx, id+100)
		require.ErrorIs(t, err, store.ErrNotFound)
		ok, err := tx.Insert(ctx, want)
		require.NoError(t, err)
		require.True(t, ok)
		other := want
		other.Policy, other.State = "someone-else", store.EscalationDone
		ok, err = tx.Insert(ctx, other)
		require.NoError(t, err)
		require.False(t, ok, "a second insert for the incident is another replica's: ignored")
		return tx.Note(ctx, store.SystemNote{IncidentID: id, At: T0.Add(time.Minute), Actor: "incidentd", Kind: "routing", Text: strings.Repeat("x", 1500)})
	})
	got, err = s.Escalation(ctx, id)
	require.NoError(t, err)
	require.Equal(t, want, *got)
	d := get(t, s, id)
	last := d.Timeline[len(d.Timeline)-1]
	require.Equal(t, "routing", last.Kind)
	require.Equal(t, "incidentd", last.Actor)
	require.Len(t, last.Note, 1000, "system notes are bounded")

	esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
		e, err := tx.Lock(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, *e)
		none, err := tx.Lock(ctx, id+100)
		require.NoError(t, err)
		require.Nil(t, none)
		e.State, e.Action, e.Tier, e.Step, e.Round, e.DueAt = store.EscalationStopped, store.EscalationPage, incident.P1, 0, 0, T0.Add(time.Hour)
		e.ReopenSeen, e.AckedNotified, e.ResolvedNotified, e.UpdatedAt = 4, false, true, T0.Add(time.Hour)
		e.CreatedAt = T0.Add(time.Hour) // not written: an escalation's creation stays
		return tx.Update(ctx, *e)
	})
	got, err = s.Escalation(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.Escalation{IncidentID: id, Team: "ml", Policy: "ml-oncall", Tier: incident.P1, Action: store.EscalationPage, State: store.EscalationStopped,
		DueAt: T0.Add(time.Hour), ReopenSeen: 4, ResolvedNotified: true, CreatedAt: T0, UpdatedAt: T0.Add(time.Hour)}, *got)

	// Values the store could not read back are refused before they are written.
	bad := *got
	bad.State = "paused"
	err = s.UpdateEscalations(ctx, "test", func(ctx context.Context, tx *store.EscalationTx) error { return tx.Update(ctx, bad) })
	var inv *store.InvalidError
	require.ErrorAs(t, err, &inv)
	require.ErrorContains(t, err, `state: unknown escalation state "paused"`)
	bad = *got
	bad.Action = "shout"
	err = s.UpdateEscalations(ctx, "test", func(ctx context.Context, tx *store.EscalationTx) error { return tx.Update(ctx, bad) })
	require.ErrorAs(t, err, &inv)
	require.ErrorContains(t, err, `action: unknown escalation action "shout"`)
	after, err := s.Escalation(ctx, id)
	require.NoError(t, err)
	require.Equal(t, got, after)

	// A unit of work that fails writes nothing of what it did before failing.
	id2 := ingest(t, s, Msg("h", A{FP: "b"})).Incidents[0]
	boom := errors.New("boom")
	err = s.UpdateEscalations(ctx, "test", func(ctx context.Context, tx *store.EscalationTx) error {
		if _, err := tx.Insert(ctx, store.Escalation{IncidentID: id2, Action: store.EscalationPage, State: store.EscalationPending}); err != nil {
			return err
		}
		if _, err := tx.Enqueue(ctx, store.OutboxMessage{IncidentID: id2, Channel: "c", Kind: "trigger", Payload: []byte(`{}`), Dedup: "x", At: T0}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	e2, err := s.Escalation(ctx, id2)
	require.NoError(t, err)
	require.Nil(t, e2)
	ob, err := s.Outbox(ctx, id2)
	require.NoError(t, err)
	require.Empty(t, ob)
}

// testEscalationDueAndNotify: the worker's three questions — which incidents are new,
// which escalation steps are due, which incidents changed under their escalation — answer
// with exactly the incidents concerned.
func testEscalationDueAndNotify(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0)
	s := open(store.DefaultConfig(), clk.Now)
	var ids []int64
	for _, g := range []string{"a", "b", "c", "d"} {
		ids = append(ids, ingest(t, s, Msg(g, A{FP: g})).Incidents[0])
	}
	un, err := s.UnroutedIncidents(ctx, T0, 10)
	require.NoError(t, err)
	require.Equal(t, ids, un)
	un, err = s.UnroutedIncidents(ctx, T0, 2)
	require.NoError(t, err)
	require.Equal(t, ids[:2], un, "limit")
	un, err = s.UnroutedIncidents(ctx, T0.Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, un, "created before the look-back")

	row := func(id int64, a store.EscalationAction, st store.EscalationState, due time.Duration) store.Escalation {
		return store.Escalation{IncidentID: id, Team: "ml", Policy: "p", Tier: incident.P2, Action: a, State: st, DueAt: T0.Add(due), CreatedAt: T0, UpdatedAt: T0}
	}
	esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
		for _, e := range []store.Escalation{
			row(ids[0], store.EscalationPage, store.EscalationPending, 5*time.Minute),
			row(ids[1], store.EscalationHold, store.EscalationPending, time.Minute),
			row(ids[2], store.EscalationQueue, store.EscalationDone, 0),
		} {
			if _, err := tx.Insert(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	un, err = s.UnroutedIncidents(ctx, T0, 10)
	require.NoError(t, err)
	require.Equal(t, ids[3:], un)

	due := func(now time.Duration, limit int) []int64 {
		var out []int64
		esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
			ds, err := tx.Due(ctx, T0.Add(now), limit)
			out = nil
			for _, d := range ds {
				out = append(out, d.IncidentID)
			}
			return err
		})
		return out
	}
	require.Empty(t, due(30*time.Second, 10))
	require.Equal(t, []int64{ids[1]}, due(2*time.Minute, 10), "pending and due; done rows never")
	require.Equal(t, []int64{ids[1], ids[0]}, due(time.Hour, 10), "soonest first")
	require.Equal(t, []int64{ids[1]}, due(time.Hour, 1), "limit")

	notify := func() []int64 {
		out, err := s.EscalationsToNotify(ctx, T0, 10)
		require.NoError(t, err)
		return out
	}
	require.Empty(t, notify())
	for _, id := range ids[:3] {
		_, err := s.Ack(ctx, id, store.Action{Actor: "alice"})
		require.NoError(t, err)
	}
	require.Equal(t, ids[:2], notify(), "acknowledged while paging or holding; a queued one has nobody to tell")
	esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
		e, err := tx.Lock(ctx, ids[0])
		if err != nil {
			return err
		}
		e.AckedNotified = true
		return tx.Update(ctx, *e)
	})
	require.Equal(t, ids[1:2], notify())
	_, err = s.Transition(ctx, ids[2], incident.Resolved, store.Action{Actor: "alice"})
	require.NoError(t, err)
	require.Equal(t, ids[1:3], notify(), "resolved and not yet told")
	old, err := s.EscalationsToNotify(ctx, T0.Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, old, "updated before the look-back")
}

// testOutbox: a decision queues its message once, senders lease what is due, the outcome
// ends the lease, and the first sent page of an incident is told apart.
func testOutbox(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0)
	s := open(store.DefaultConfig(), clk.Now)
	id := ingest(t, s, Msg("g", A{FP: "a"})).Incidents[0]
	msg := func(channel, kind, recipient, dedup string) store.OutboxMessage {
		return store.OutboxMessage{IncidentID: id, Channel: channel, Kind: kind, Recipient: recipient, Step: 1, Payload: []byte(`{"kind":"` + kind + `"}`), Dedup: dedup, At: T0}
	}
	esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
		for i, m := range []store.OutboxMessage{
			msg("pager", "trigger", "alice", "page:1"),
			msg("pager", "trigger", "alice", "page:1"), // the same decision again
			msg("chat", "trigger", "bob", "page:2"),
			msg("team-queue", "queue", "", "queue:1"),
			msg("chat", "acknowledge", "", "ack:1"),
		} {
			ok, err := tx.Enqueue(ctx, m)
			require.NoError(t, err)
			require.Equal(t, i != 1, ok, m.Dedup)
		}
		ds, err := tx.Destinations(ctx, id, "trigger", "queue", "backlog")
		require.NoError(t, err)
		require.ElementsMatch(t, []store.Destination{{Channel: "pager", Recipient: "alice"}, {Channel: "chat", Recipient: "bob"}, {Channel: "team-queue"}}, ds)
		ds, err = tx.Destinations(ctx, id, "acknowledge")
		require.NoError(t, err)
		require.Equal(t, []store.Destination{{Channel: "chat"}}, ds)
		ds, err = tx.Destinations(ctx, id)
		require.NoError(t, err)
		require.Empty(t, ds)
		return nil
	})
	ob, err := s.Outbox(ctx, id)
	require.NoError(t, err)
	require.Len(t, ob, 4)
	require.Equal(t, store.OutboxEntry{ID: ob[0].ID, Channel: "pager", Kind: "trigger", Recipient: "alice", Step: 1, Status: store.OutboxPending, CreatedAt: T0}, ob[0])

	lease := T0.Add(time.Minute)
	cs, err := s.ClaimOutbox(ctx, T0, lease, 3)
	require.NoError(t, err)
	require.Len(t, cs, 3, "limit")
	require.Equal(t, store.OutboxClaim{ID: ob[0].ID, Channel: "pager", Payload: []byte(`{"kind":"trigger"}`)}, cs[0])
	cs, err = s.ClaimOutbox(ctx, T0.Add(time.Second), lease, 10)
	require.NoError(t, err)
	require.Len(t, cs, 1, "the other three are leased")
	require.Equal(t, ob[3].ID, cs[0].ID)

	first, err := s.FinishOutbox(ctx, store.OutboxResult{ID: ob[0].ID, IncidentID: id, Kind: "trigger", Status: store.OutboxSent, NextAt: T0, At: T0.Add(2 * time.Second)})
	require.NoError(t, err)
	require.True(t, first, "the incident's first page sent")
	first, err = s.FinishOutbox(ctx, store.OutboxResult{ID: ob[1].ID, IncidentID: id, Kind: "trigger", Status: store.OutboxSent, NextAt: T0, At: T0.Add(3 * time.Second)})
	require.NoError(t, err)
	require.False(t, first)
	long := strings.Repeat("é", 600) // 1200 bytes: cut to 1000, on a character boundary
	_, err = s.FinishOutbox(ctx, store.OutboxResult{ID: ob[2].ID, IncidentID: id, Kind: "queue", Status: store.OutboxPending, NextAt: T0.Add(10 * time.Minute), LastError: long, At: T0.Add(3 * time.Second)})
	require.NoError(t, err)
	_, err = s.FinishOutbox(ctx, store.OutboxResult{ID: ob[3].ID, IncidentID: id, Kind: "acknowledge", Status: store.OutboxFailed, NextAt: T0, LastError: "410 gone", At: T0.Add(3 * time.Second)})
	require.NoError(t, err)
	_, err = s.FinishOutbox(ctx, store.OutboxResult{ID: ob[3].ID, Status: "lost"})
	var inv *store.InvalidError
	require.ErrorAs(t, err, &inv)

	ob, err = s.Outbox(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.OutboxSent, ob[0].Status)
	require.Equal(t, T0.Add(2*time.Second), ob[0].SentAt)
	require.Equal(t, 1, ob[0].Attempts)
	require.Equal(t, store.OutboxPending, ob[2].Status)
	require.Equal(t, strings.Repeat("é", 500), ob[2].LastError)
	require.True(t, ob[2].SentAt.IsZero())
	require.Equal(t, store.OutboxFailed, ob[3].Status)
	require.Equal(t, "410 gone", ob[3].LastError)

	// Sent and failed rows are never claimed again; a retry waits for its time, not for
	// the lease it no longer holds.
	cs, err = s.ClaimOutbox(ctx, T0.Add(2*time.Minute), T0.Add(3*time.Minute), 10)
	require.NoError(t, err)
	require.Empty(t, cs)
	cs, err = s.ClaimOutbox(ctx, T0.Add(10*time.Minute), T0.Add(11*time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, ob[2].ID, cs[0].ID)
	require.Equal(t, 1, cs[0].Attempts)
}

// testHeartbeats: a heartbeat's last arrival only moves forward, a start never overwrites
// one, and the occurrences still firing for a fingerprint are those ingest recorded.
func testHeartbeats(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(store.DefaultConfig(), NewClock(T0).Now)
	seen := func(name string) (time.Time, bool) {
		at, ok, err := s.HeartbeatSeen(ctx, name)
		require.NoError(t, err)
		return at, ok
	}
	_, ok := seen("Watchdog")
	require.False(t, ok)
	require.NoError(t, s.StartHeartbeats(ctx, []string{"Watchdog", "Other"}, T0))
	at, ok := seen("Watchdog")
	require.True(t, ok)
	require.Equal(t, T0, at)
	require.NoError(t, s.StartHeartbeats(ctx, []string{"Watchdog"}, T0.Add(time.Hour)))
	at, _ = seen("Watchdog")
	require.Equal(t, T0, at, "a start leaves a recorded heartbeat alone")
	require.NoError(t, s.RecordHeartbeats(ctx, []string{"Watchdog"}, T0.Add(2*time.Minute)))
	require.NoError(t, s.RecordHeartbeats(ctx, []string{"Watchdog"}, T0.Add(time.Minute)))
	at, _ = seen("Watchdog")
	require.Equal(t, T0.Add(2*time.Minute), at, "an older arrival does not move it back")
	at, _ = seen("Other")
	require.Equal(t, T0, at)

	none, err := s.FiringOccurrences(ctx, "hb")
	require.NoError(t, err)
	require.Empty(t, none)
	ingest(t, s, Msg("g", A{FP: "hb"}, A{FP: "other"}))
	starts, err := s.FiringOccurrences(ctx, "hb")
	require.NoError(t, err)
	require.Equal(t, []time.Time{T0}, starts)
	ingest(t, s, Msg("g", A{FP: "hb", End: time.Minute}, A{FP: "other"}))
	starts, err = s.FiringOccurrences(ctx, "hb")
	require.NoError(t, err)
	require.Empty(t, starts)
}

// testMaintenance: windows come back as stored, those not yet ended only, soonest end
// first, in and out of the escalation worker's transaction alike.
func testMaintenance(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(store.DefaultConfig(), NewClock(T0).Now)
	ws := []store.MaintenanceWindow{
		{Matchers: `{"team":"risk"}`, Start: T0, End: T0.Add(3 * time.Hour), Reason: "upgrade", CreatedBy: "alice", CreatedAt: T0},
		{Matchers: `{"model":"fraud"}`, Start: T0.Add(time.Hour), End: T0.Add(2 * time.Hour), Reason: "retrain", CreatedBy: "bob", CreatedAt: T0},
		{Matchers: `{"team":"ml"}`, Start: T0.Add(-2 * time.Hour), End: T0.Add(-time.Hour), Reason: "past", CreatedBy: "carol", CreatedAt: T0},
	}
	for i := range ws {
		id, err := s.AddMaintenance(ctx, ws[i])
		require.NoError(t, err)
		require.NotZero(t, id)
		if i > 0 {
			require.Greater(t, id, ws[i-1].ID)
		}
		ws[i].ID = id
	}
	got, err := s.ActiveMaintenance(ctx, T0)
	require.NoError(t, err)
	require.Equal(t, []store.MaintenanceWindow{ws[1], ws[0]}, got)
	got, err = s.ActiveMaintenance(ctx, T0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []store.MaintenanceWindow{ws[0]}, got, "a window ends at its end")
	esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
		got, err := tx.ActiveMaintenance(ctx, T0)
		require.NoError(t, err)
		require.Equal(t, []store.MaintenanceWindow{ws[1], ws[0]}, got)
		return nil
	})
	got, err = s.ActiveMaintenance(ctx, T0.Add(4*time.Hour))
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Empty(t, got)
}

// testEscalationUnknownValues: a state, action or status the store does not know — a
// newer version's row, a hand edit — is reported naming the row, the field and the value,
// never read as some other state.
func testEscalationUnknownValues(t *testing.T, b Backend) {
	ctx := context.Background()
	s := b.Open(store.DefaultConfig(), NewClock(T0).Now)
	id := ingest(t, s, Msg("g", A{FP: "a"})).Incidents[0]
	esc(t, s, func(ctx context.Context, tx *store.EscalationTx) error {
		if _, err := tx.Insert(ctx, store.Escalation{IncidentID: id, Action: store.EscalationPage, State: store.EscalationPending, DueAt: T0}); err != nil {
			return err
		}
		_, err := tx.Enqueue(ctx, store.OutboxMessage{IncidentID: id, Channel: "c", Kind: "trigger", Payload: []byte(`{}`), Dedup: "d", At: T0})
		return err
	})
	raw := func(q string, args ...any) {
		_, err := b.Raw.ExecContext(ctx, b.Dialect.Rebind(q), args...)
		require.NoError(t, err)
	}

	raw(`UPDATE escalations SET state = 'paused' WHERE incident_id = ?`, id)
	_, err := s.Escalation(ctx, id)
	require.ErrorContains(t, err, `state: unknown escalation state "paused" (expected pending, done or stopped)`)
	require.ErrorContains(t, err, "incident "+strconv.FormatInt(id, 10))
	err = s.UpdateEscalations(ctx, "test", func(ctx context.Context, tx *store.EscalationTx) error {
		_, err := tx.Lock(ctx, id)
		return err
	})
	require.ErrorContains(t, err, `unknown escalation state "paused"`)

	raw(`UPDATE escalations SET state = 'pending', action = 'shout' WHERE incident_id = ?`, id)
	err = s.UpdateEscalations(ctx, "test", func(ctx context.Context, tx *store.EscalationTx) error {
		_, err := tx.Due(ctx, T0.Add(time.Hour), 10)
		return err
	})
	require.ErrorContains(t, err, `action: unknown escalation action "shout"`)

	raw(`UPDATE outbox SET status = 'lost' WHERE incident_id = ?`, id)
	_, err = s.Outbox(ctx, id)
	require.ErrorContains(t, err, `status: unknown delivery status "lost" (expected pending, sent or failed)`)
}
