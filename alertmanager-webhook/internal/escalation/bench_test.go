package escalation_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
	"github.com/opscentre/opscentre/test/notifytest"
)

// BenchmarkIdleTick is the cost of one worker round when nothing is due — what every
// replica pays every second — on an empty database and beside 100,000 past incidents:
// the two should be close, the worker must not scan history.
func BenchmarkIdleTick(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(map[int]string{0: "empty", 100_000: "history-100k"}[n], func(b *testing.B) {
			ctx := context.Background()
			clock := storetest.NewClock(storetest.SeedStart.Add(200 * 24 * time.Hour))
			path := filepath.Join(b.TempDir(), "i.db")
			db, err := sqlite.Open(ctx, sqlite.Options{Path: path, Config: store.DefaultConfig(), Now: clock.Now})
			require.NoError(b, err)
			defer db.Close()
			if n > 0 {
				raw, err := sqlite.OpenDB(path)
				require.NoError(b, err)
				require.NoError(b, storetest.Seed(ctx, raw, sqlite.Dialect, n))
				require.NoError(b, raw.Close())
			}
			cfg := config(b, notifytest.NewServer(b), clock.Now)
			eng := escalation.New(escalation.Options{Store: db, Config: func() *escalation.Config { return cfg }, Now: clock.Now})
			require.NoError(b, eng.Tick(ctx))
			b.ResetTimer()
			for b.Loop() {
				if err := eng.Tick(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
