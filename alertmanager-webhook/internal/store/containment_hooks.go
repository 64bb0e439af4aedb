package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// HookTarget is a configured containment hook: every apply and lift of a containment whose
// action is in Actions (empty: all) is queued for it, in the transaction of the change.
type HookTarget struct {
	Name    string
	Actions []string
}

// HookDelivery is one queued call of a containment hook.
type HookDelivery struct {
	incidentapi.HookDelivery
	// Payload is the body the hook receives (HookPayload), kept from the transaction that
	// queued it.
	Payload []byte `json:"-"`
}

// HookPayload is the JSON body a containment hook receives.
type HookPayload struct {
	Event       string                  `json:"event"`
	At          time.Time               `json:"at"`
	Containment containment.Containment `json:"containment"`
}

func (s *DB) enqueueHooks(ctx context.Context, tx *sql.Tx, c *containment.Containment, event string, now time.Time) error {
	for _, h := range s.config(ctx).ContainmentHooks {
		if len(h.Actions) > 0 && !slices.Contains(h.Actions, string(c.Action)) {
			continue
		}
		body, err := json.Marshal(HookPayload{Event: event, At: now, Containment: *c})
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO containment_hooks (hook, containment_id, incident_id, event, payload, created_at, attempts, next_at,
			delivered_at, gave_up_at, last_error) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0, 0, '')`,
			h.Name, c.ID, c.IncidentID, event, string(body), nanos(now), nanos(now)); err != nil {
			return fmt.Errorf("queue containment hook: %w", err)
		}
	}
	return nil
}

const hookCols = `id, hook, containment_id, incident_id, event, payload, created_at, attempts, next_at, delivered_at, gave_up_at, last_error`

func scanHook(r scanner) (HookDelivery, error) {
	var d HookDelivery
	var payload string
	var created, next, delivered, gaveUp int64
	err := r.Scan(&d.ID, &d.Hook, &d.ContainmentID, &d.IncidentID, &d.Event, &payload, &created, &d.Attempts, &next, &delivered, &gaveUp, &d.LastError)
	d.Payload = []byte(payload)
	d.CreatedAt, d.NextAt, d.DeliveredAt, d.GaveUpAt = fromNanos(created), fromNanos(next), fromNanos(delivered), fromNanos(gaveUp)
	return d, err
}

// ClaimHooks returns up to limit deliveries that are due, each leased to the caller for
// lease (its next_at moves past now): another replica claims it only if the caller dies
// without reporting. A lease taken by another replica in between is skipped.
func (s *DB) ClaimHooks(ctx context.Context, limit int, lease time.Duration) ([]HookDelivery, error) {
	var out []HookDelivery
	err := s.write(ctx, "containment_hooks_claim", func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		now := s.now().UTC()
		rows, err := s.query(ctx, tx, `SELECT `+hookCols+` FROM containment_hooks
			WHERE delivered_at = 0 AND gave_up_at = 0 AND next_at <= ? ORDER BY next_at, id LIMIT ?`, nanos(now), limit)
		if err != nil {
			return err
		}
		var due []HookDelivery
		for rows.Next() {
			d, err := scanHook(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range due {
			res, err := s.exec(ctx, tx, `UPDATE containment_hooks SET next_at = ? WHERE id = ? AND next_at = ? AND delivered_at = 0 AND gave_up_at = 0`,
				nanos(now.Add(lease)), d.ID, nanos(d.NextAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

// HookBackoff is the wait before retry n (1-based): 1 s doubling, at most 5 minutes.
func HookBackoff(n int) time.Duration {
	if n > 9 {
		return 5 * time.Minute
	}
	return min(time.Second<<(n-1), 5*time.Minute)
}

// HookResult records the outcome of a delivery: delivered (err nil), to retry after
// HookBackoff, or given up — after maxAttempts or a refusal not worth retrying — which is
// put on the incident's timeline so the responders see that the hook did not run.
func (s *DB) HookResult(ctx context.Context, d HookDelivery, sendErr error, retry bool, maxAttempts int) error {
	return s.write(ctx, "containment_hooks_result", func(ctx context.Context, tx *sql.Tx) error {
		now := s.now().UTC()
		attempts := d.Attempts + 1
		if sendErr == nil {
			_, err := s.exec(ctx, tx, `UPDATE containment_hooks SET attempts = ?, delivered_at = ?, last_error = '' WHERE id = ?`, attempts, nanos(now), d.ID)
			return err
		}
		msg := truncate(sendErr.Error(), 500)
		if retry && attempts < maxAttempts {
			_, err := s.exec(ctx, tx, `UPDATE containment_hooks SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?`,
				attempts, nanos(now.Add(HookBackoff(attempts))), msg, d.ID)
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE containment_hooks SET attempts = ?, gave_up_at = ?, last_error = ? WHERE id = ?`, attempts, nanos(now), msg, d.ID); err != nil {
			return err
		}
		if d.IncidentID == 0 {
			return nil
		}
		return s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: d.IncidentID, At: now, Actor: SystemActor, Kind: "containment_hook_failed", Note: fmt.Sprintf("hook %s for %s of containment #%d failed after %d attempts: %s", d.Hook, d.Event, d.ContainmentID, attempts, msg)})
	})
}

// ContainmentHooks lists a containment's hook deliveries, oldest first.
func (s *DB) ContainmentHooks(ctx context.Context, containmentID int64) ([]HookDelivery, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT `+hookCols+` FROM containment_hooks WHERE containment_id = ? ORDER BY id LIMIT 200`), containmentID)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	out := []HookDelivery{}
	for rows.Next() {
		d, err := scanHook(rows)
		if err != nil {
			return nil, s.unavailable(err)
		}
		out = append(out, d)
	}
	return out, s.unavailable(rows.Err())
}
