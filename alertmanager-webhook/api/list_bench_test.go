package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/store/storetest"
)

// BenchmarkListHandler10k reads 10,000 incidents from a real SQLite store through the list
// handler in 20 pages of 500, the way the Grafana plugin does, without the network in
// between, so a CPU profile of it shows where the list path spends its time.
func BenchmarkListHandler10k(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "list.db"), Config: store.DefaultConfig()})
	require.NoError(b, err)
	defer s.Close()
	const n = 10000
	require.NoError(b, storetest.Seed(ctx, s.SQL(), sqlite.Dialect, n))
	// Seeded incidents carry no labels; real ones carry their alert group's common labels.
	_, err = s.SQL().ExecContext(ctx, `UPDATE incidents SET labels = json_object('alertname', 'Bench' || id, 'model', model, 'team', team, 'tier', tier)`)
	require.NoError(b, err)
	a := New(Options{Store: s})
	from, to := storetest.SeedStart.Add(-1), storetest.SeedStart.AddDate(1, 0, 0)
	b.ResetTimer()
	for b.Loop() {
		cursor, total := "", 0
		for {
			q := url.Values{"limit": {"500"}, "from": {from.Format("2006-01-02T15:04:05Z07:00")}, "to": {to.Format("2006-01-02T15:04:05Z07:00")}, "cursor": {cursor}}
			r := httptest.NewRequest(http.MethodGet, "/api/v1/incidents?"+q.Encode(), nil)
			w := httptest.NewRecorder()
			a.list(w, r, auth.Principal{})
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var page struct {
				Incidents  []json.RawMessage `json:"incidents"`
				NextCursor string            `json:"next_cursor"`
			}
			require.NoError(b, json.Unmarshal(w.Body.Bytes(), &page))
			total += len(page.Incidents)
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		require.Equal(b, n, total)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/incident")
}
