package storetest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// RunbookBackfill checks migration 6 on an empty database of dialect d: incidents stored
// before it take their runbook from their first alert's runbook_url annotation, else from
// their runbook_url label, and keep their rows when it is undone and done again.
func RunbookBackfill(t *testing.T, db *sql.DB, d store.Dialect, ms []store.Migration) {
	ctx := context.Background()
	require.NoError(t, store.Migrate(ctx, db, d, ms, 5))
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := db.ExecContext(ctx, d.Rebind(q), args...)
		require.NoError(t, err)
	}
	for id, labels := range map[int]string{
		1: `{"alertname":"A"}`,                               // runbook in its first alert's annotations
		2: `{"alertname":"B","runbook_url":"https://label"}`, // in its label only
		3: `{"alertname":"C"}`,                               // none
		4: `{"alertname":"D","runbook_url":"https://label"}`, // both: the annotation wins
	} {
		exec(`INSERT INTO incidents (id, group_key, title, summary, tier, alert_tier, team, model, labels, state, assignee,
			detected_at, triaged_at, contained_at, investigating_at, resolved_at, reviewed_at, resolved_by,
			alerts_firing, alerts_total, reopen_count, created_at, updated_at)
			VALUES (?, 'g', 't', '', 'P2', 'P2', '', '', ?, 'detected', '', 1, 0, 0, 0, 0, 0, '', 1, 1, 0, 1, 1)`, id, labels)
	}
	alert := func(id, incident int, annotations string) {
		exec(`INSERT INTO alerts (id, incident_id, group_key, fingerprint, starts_at, ends_at, status, labels, annotations,
			generator_url, first_seen, last_change) VALUES (?, ?, 'g', ?, 1, 0, 'firing', '{}', ?, '', 1, 1)`,
			id, incident, string(rune('a'+id)), annotations)
	}
	alert(1, 1, `{"runbook_url":"https://first","summary":"x"}`)
	alert(2, 1, `{"runbook_url":"https://second"}`)
	alert(3, 2, `{"summary":"no runbook"}`)
	alert(4, 4, `{"runbook_url":"https://annotation"}`)
	runbooks := func() map[int]string {
		rows, err := db.QueryContext(ctx, `SELECT id, runbook_url FROM incidents`)
		require.NoError(t, err)
		defer rows.Close()
		out := map[int]string{}
		for rows.Next() {
			var id int
			var rb string
			require.NoError(t, rows.Scan(&id, &rb))
			out[id] = rb
		}
		require.NoError(t, rows.Err())
		return out
	}
	want := map[int]string{1: "https://first", 2: "https://label", 3: "", 4: "https://annotation"}
	require.NoError(t, store.Migrate(ctx, db, d, ms, 6))
	require.Equal(t, want, runbooks())
	require.NoError(t, store.Migrate(ctx, db, d, ms, 5))
	require.NoError(t, store.Migrate(ctx, db, d, ms, 6))
	require.Equal(t, want, runbooks())
}
