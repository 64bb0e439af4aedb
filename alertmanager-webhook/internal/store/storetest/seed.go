package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// SeedStart is when the first seeded incident was detected.
var SeedStart = time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC)

// Seed bulk-loads n synthetic incidents spread over 100 days, for benchmarks and load
// tests of the list endpoint: tiers P1–P4, 20 teams, 100 models, every state.
func Seed(ctx context.Context, db *sql.DB, d store.Dialect, n int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, d.Rebind(`INSERT INTO incidents (group_key, title, summary, tier, alert_tier, team, model, labels, state, assignee,
		detected_at, triaged_at, contained_at, investigating_at, resolved_at, reviewed_at, resolved_by, alerts_firing, alerts_total, reopen_count, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, '', ?, ?, 0, 0, ?, 0, '', 1, 1, 0, ?, ?)`))
	if err != nil {
		return err
	}
	defer stmt.Close()
	states := []string{"detected", "triaged", "contained", "investigating", "resolved", "reviewed"}
	t0 := SeedStart.UnixNano()
	step := int64(100*24*time.Hour) / int64(n)
	for i := range n {
		det := t0 + int64(i)*step
		st := states[(i*7)%len(states)]
		var tri, res int64
		if st != "detected" {
			tri = det + int64(time.Duration(i%3600)*time.Second)
		}
		if st == "resolved" || st == "reviewed" {
			res = tri + int64(time.Hour)
		}
		tier := fmt.Sprintf("P%d", 1+i%4)
		model := fmt.Sprintf("model-%d", i%100)
		if _, err := stmt.ExecContext(ctx, fmt.Sprintf("{}:{alertname=\"A%d\"}", i), "Drift on "+model+" ", "summary", tier, tier,
			fmt.Sprintf("team-%d", i%20), model, st, det, tri, res, det, det); err != nil {
			return err
		}
	}
	return tx.Commit()
}
