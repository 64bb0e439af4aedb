package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MaintenanceWindow is a stored maintenance window. Its matchers are kept as the
// maintenance package encodes them: the store neither reads nor checks them.
type MaintenanceWindow struct {
	ID        int64
	Matchers  string
	Start     time.Time
	End       time.Time
	Reason    string
	CreatedBy string
	CreatedAt time.Time
}

// AddMaintenance records a window and returns its id.
func (s *DB) AddMaintenance(ctx context.Context, w MaintenanceWindow) (int64, error) {
	var id int64
	err := s.write(ctx, "maintenance", func(ctx context.Context, tx *sql.Tx) error {
		rows, err := s.query(ctx, tx, `INSERT INTO maintenance (matchers, starts_at, ends_at, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			w.Matchers, nanos(w.Start), nanos(w.End), w.Reason, w.CreatedBy, nanos(w.CreatedAt))
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("insert maintenance: no id")
		}
		if err := rows.Scan(&id); err != nil {
			return err
		}
		return rows.Close()
	})
	return id, err
}

const maintenanceActive = `SELECT id, matchers, starts_at, ends_at, reason, created_by, created_at FROM maintenance WHERE ends_at > ? ORDER BY ends_at, id`

// ActiveMaintenance lists windows not yet ended at t (also those starting later), soonest
// end first.
func (s *DB) ActiveMaintenance(ctx context.Context, t time.Time) ([]MaintenanceWindow, error) {
	rows, err := s.readRows(ctx, maintenanceActive, nanos(t))
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	ws, err := scanMaintenance(rows)
	return ws, s.unavailable(err)
}

// ActiveMaintenance is DB.ActiveMaintenance inside the transaction.
func (t *EscalationTx) ActiveMaintenance(ctx context.Context, at time.Time) ([]MaintenanceWindow, error) {
	rows, err := t.s.query(ctx, t.tx, maintenanceActive, nanos(at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanMaintenance(rows)
}

func scanMaintenance(rows *sql.Rows) ([]MaintenanceWindow, error) {
	out := []MaintenanceWindow{}
	for rows.Next() {
		var w MaintenanceWindow
		var st, en, cr int64
		if err := rows.Scan(&w.ID, &w.Matchers, &st, &en, &w.Reason, &w.CreatedBy, &cr); err != nil {
			return nil, err
		}
		w.Start, w.End, w.CreatedAt = fromNanos(st), fromNanos(en), fromNanos(cr)
		out = append(out, w)
	}
	return out, rows.Err()
}
