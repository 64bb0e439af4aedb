package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// OutboxStatus is the API's delivery status (incidentapi declares it once).
type OutboxStatus = incidentapi.DeliveryStatus

// The outbox statuses: pending until sent, or failed once retries are exhausted or the
// channel refused it for good.
const (
	OutboxPending = incidentapi.DeliveryPending
	OutboxSent    = incidentapi.DeliverySent
	OutboxFailed  = incidentapi.DeliveryFailed
)

// OutboxMessage is a notification to queue.
type OutboxMessage struct {
	IncidentID int64
	Channel    string
	Kind       string // notify.Kind*
	Recipient  string
	Step       int
	Payload    []byte // the notification as JSON, sent as queued
	// Dedup is unique per decision: a message whose key is already queued is dropped, so
	// a decision taken twice (a retried transaction, two replicas) notifies once.
	Dedup string
	At    time.Time
}

// Enqueue queues m, due at once; it reports false when m.Dedup was queued before.
func (t *EscalationTx) Enqueue(ctx context.Context, m OutboxMessage) (bool, error) {
	res, err := t.s.exec(ctx, t.tx, `INSERT INTO outbox (incident_id, channel, kind, recipient, step, payload, status, attempts, next_at, lease_until, last_error, dedup, created_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0, '', ?, ?, 0) ON CONFLICT (dedup) DO NOTHING`,
		m.IncidentID, m.Channel, m.Kind, m.Recipient, m.Step, string(m.Payload), string(OutboxPending), nanos(m.At), m.Dedup, nanos(m.At))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Destination is a channel, and the person if any, an incident was notified through.
type Destination struct{ Channel, Recipient string }

// Destinations lists the distinct destinations of an incident's queued messages of the
// given kinds, in no particular order.
func (t *EscalationTx) Destinations(ctx context.Context, incidentID int64, kinds ...string) ([]Destination, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	args := []any{incidentID}
	for _, k := range kinds {
		args = append(args, k)
	}
	rows, err := t.s.query(ctx, t.tx, `SELECT DISTINCT channel, recipient FROM outbox WHERE incident_id = ? AND kind IN `+placeholders(1, len(kinds)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Destination
	for rows.Next() {
		var d Destination
		if err := rows.Scan(&d.Channel, &d.Recipient); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// OutboxClaim is a queued message leased to its sender.
type OutboxClaim struct {
	ID       int64
	Channel  string
	Attempts int // deliveries tried before
	Payload  []byte
}

// ClaimOutbox leases up to limit pending messages due at now to the caller until
// leaseUntil, oldest first: another sender takes one only after its lease ran out (the
// caller died without recording the outcome). On PostgreSQL rows another replica is
// claiming are skipped.
func (s *DB) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]OutboxClaim, error) {
	var out []OutboxClaim
	err := s.write(ctx, "outbox_claim", func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		rows, err := s.query(ctx, tx, `SELECT id, channel, attempts, payload FROM outbox WHERE status = ? AND next_at <= ? AND lease_until <= ? ORDER BY id LIMIT ?`+s.skipLocked(),
			string(OutboxPending), nanos(now), nanos(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c OutboxClaim
			var p string
			if err := rows.Scan(&c.ID, &c.Channel, &c.Attempts, &p); err != nil {
				rows.Close()
				return err
			}
			c.Payload = []byte(p)
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range out {
			if _, err := s.exec(ctx, tx, `UPDATE outbox SET lease_until = ? WHERE id = ?`, nanos(leaseUntil), c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// OutboxResult is the outcome of one delivery attempt.
type OutboxResult struct {
	ID         int64
	IncidentID int64
	Kind       string
	// Status: sent, pending (retried at NextAt) or failed (given up).
	Status    OutboxStatus
	NextAt    time.Time
	LastError string // truncated to 1000 bytes
	At        time.Time
}

// FinishOutbox records r, ending the lease, and reports whether r is the first message of
// its kind sent for the incident (for the time-to-first-page metric).
func (s *DB) FinishOutbox(ctx context.Context, r OutboxResult) (first bool, err error) {
	if _, err := incidentapi.ParseDeliveryStatus(string(r.Status)); err != nil {
		return false, invalid("outbox %d: status: %w", r.ID, err)
	}
	msg := strings.ToValidUTF8(truncate(r.LastError, 1000), "")
	err = s.write(ctx, "outbox_done", func(ctx context.Context, tx *sql.Tx) error {
		first = false
		sentAt := int64(0)
		if r.Status == OutboxSent {
			var k int
			if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM outbox WHERE incident_id = ? AND kind = ? AND status = ?`, r.IncidentID, r.Kind, string(OutboxSent)).Scan(&k); err != nil {
				return err
			}
			first, sentAt = k == 0, nanos(r.At)
		}
		_, err := s.exec(ctx, tx, `UPDATE outbox SET status = ?, attempts = attempts + 1, next_at = ?, lease_until = 0, last_error = ?, sent_at = ? WHERE id = ?`,
			string(r.Status), nanos(r.NextAt), msg, sentAt, r.ID)
		return err
	})
	return first, err
}

// OutboxEntry is one queued notification as the API shows it.
type OutboxEntry struct {
	ID        int64
	Channel   string
	Kind      string
	Recipient string
	Step      int
	Status    OutboxStatus
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
}

// Outbox lists the notifications of an incident, oldest first.
func (s *DB) Outbox(ctx context.Context, incidentID int64) ([]OutboxEntry, error) {
	rows, err := s.readRows(ctx, `SELECT id, channel, kind, recipient, step, status, attempts, last_error, created_at, sent_at FROM outbox WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	out := []OutboxEntry{}
	for rows.Next() {
		var d OutboxEntry
		var status string
		var cr, se int64
		if err := rows.Scan(&d.ID, &d.Channel, &d.Kind, &d.Recipient, &d.Step, &status, &d.Attempts, &d.LastError, &cr, &se); err != nil {
			return nil, s.unavailable(err)
		}
		if d.Status, err = incidentapi.ParseDeliveryStatus(status); err != nil {
			return nil, fmt.Errorf("outbox %d: status: %w", d.ID, err)
		}
		d.CreatedAt, d.SentAt = fromNanos(cr), fromNanos(se)
		out = append(out, d)
	}
	return out, s.unavailable(rows.Err())
}
