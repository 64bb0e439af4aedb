package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
)

// BenchmarkListHandler10k reads 10,000 incidents from a real SQLite store through the list
// handler without the network in between, so a CPU profile of it shows where the list
// path spends its time: full-500 is the full view in 20 pages of 500 (what the Grafana
// plugin read before the table view), table-10000 the table view in one page, as the
// plugin reads it now. The plugin's end-to-end figure is BenchmarkBinaryQuery10k in
// grafana-plugin/pkg/e2e.
func BenchmarkListHandler10k(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "list.db")
	s, err := sqlite.Open(ctx, sqlite.Options{Path: path, Config: store.DefaultConfig()})
	require.NoError(b, err)
	defer s.Close()
	raw, err := sqlite.OpenDB(path)
	require.NoError(b, err)
	defer raw.Close()
	const n = 10000
	require.NoError(b, storetest.Seed(ctx, raw, sqlite.Dialect, n))
	// Seeded incidents carry no labels; real ones carry their alert group's common labels.
	_, err = raw.ExecContext(ctx, `UPDATE incidents SET labels = json_object('alertname', 'Bench' || id, 'model', model, 'team', team, 'tier', tier)`)
	require.NoError(b, err)
	a := New(Options{Store: s})
	from, to := storetest.SeedStart.Add(-1), storetest.SeedStart.AddDate(1, 0, 0)
	for _, c := range []struct {
		name, view string
		limit      int
	}{{"full-500", "", store.MaxPageSize}, {"table-10000", "table", store.MaxTablePageSize}} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				cursor, total := "", 0
				for {
					q := url.Values{"limit": {strconv.Itoa(c.limit)}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "cursor": {cursor}}
					if c.view != "" {
						q.Set("view", c.view)
					}
					r := httptest.NewRequest(http.MethodGet, "/api/v1/incidents?"+q.Encode(), nil)
					w := httptest.NewRecorder()
					a.list(w, r, auth.Principal{})
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
					// Only count and find the cursor: decoding the body is the client's cost,
					// not the handler's (the plugin benchmark measures the whole trip).
					body := w.Body.Bytes()
					if c.view == "table" {
						// Rows are arrays of plain values here (the seeded titles hold no brackets).
						total += bytes.Count(body, []byte("],[")) + 1
					} else {
						total += bytes.Count(body, []byte(`{"id":`))
					}
					k := bytes.LastIndex(body, []byte(`"next_cursor":"`))
					if k < 0 {
						break
					}
					rest := body[k+len(`"next_cursor":"`):]
					cursor = string(rest[:bytes.IndexByte(rest, '"')])
				}
				require.Equal(b, n, total)
			}
			// CPU time is what other load on a shared machine disturbs least; compare it side by side.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/n, "cpu-µs/incident")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/incident")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
