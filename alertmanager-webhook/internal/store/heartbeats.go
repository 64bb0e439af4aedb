package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// RecordHeartbeats notes that the named heartbeat alerts arrived at t. A later arrival
// already recorded (by another replica, or a notification that overtook this one) is kept.
func (s *DB) RecordHeartbeats(ctx context.Context, names []string, t time.Time) error {
	return s.write(ctx, "heartbeat", func(ctx context.Context, tx *sql.Tx) error {
		for _, n := range names {
			if _, err := s.exec(ctx, tx, `INSERT INTO heartbeats (name, last_seen) VALUES (?, ?)
				ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen WHERE heartbeats.last_seen < excluded.last_seen`, n, nanos(t)); err != nil {
				return err
			}
		}
		return nil
	})
}

// StartHeartbeats counts each named heartbeat never recorded as seen at t, leaving the
// others as they are.
func (s *DB) StartHeartbeats(ctx context.Context, names []string, t time.Time) error {
	return s.write(ctx, "heartbeat", func(ctx context.Context, tx *sql.Tx) error {
		for _, n := range names {
			if _, err := s.exec(ctx, tx, `INSERT INTO heartbeats (name, last_seen) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, n, nanos(t)); err != nil {
				return err
			}
		}
		return nil
	})
}

// HeartbeatSeen returns when the named heartbeat last arrived; ok is false if it was
// never recorded (nor started).
func (s *DB) HeartbeatSeen(ctx context.Context, name string) (last time.Time, ok bool, err error) {
	var n int64
	err = s.readRow(ctx, `SELECT last_seen FROM heartbeats WHERE name = ?`, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, s.unavailable(err)
	}
	return fromNanos(n), true, nil
}

// FiringOccurrences returns the start times of the occurrences of the alert with this
// fingerprint that are still firing.
func (s *DB) FiringOccurrences(ctx context.Context, fingerprint string) ([]time.Time, error) {
	rows, err := s.readRows(ctx, `SELECT starts_at FROM alerts WHERE fingerprint = ? AND status = 'firing'`, fingerprint)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var st int64
		if err := rows.Scan(&st); err != nil {
			return nil, s.unavailable(err)
		}
		out = append(out, fromNanos(st))
	}
	return out, s.unavailable(rows.Err())
}
