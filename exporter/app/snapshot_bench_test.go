package app

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/store"
)

// BenchmarkSnapshotAwaiting1M times a full snapshot (state copy and bbolt transaction,
// fsync included) with 1M predictions awaiting their label (UUID-length ids), next to its
// floor: writing and syncing a file of the database's size. labels.max_bytes bounds the
// predictions kept, and so this time: the default 256MiB holds about 1.9M such entries.
func BenchmarkSnapshotAwaiting1M(b *testing.B) {
	dir := b.TempDir()
	opts := DefaultOptions()
	opts.StoragePath = filepath.Join(dir, "data")
	opts.Registry = prometheus.NewRegistry()
	a, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer a.store.Close()
	in := ingest.New(a.state, a.logger)
	const n, batch = 1_000_000, 10_000
	var body bytes.Buffer
	for i := 0; i < n; i += batch {
		body.Reset()
		for j := i; j < i+batch; j++ {
			fmt.Fprintf(&body, `{"model":"m","id":"%08x-0000-4000-8000-%012x","prediction":"yes"}`+"\n", j, j)
		}
		if _, err := in.Ingest(body.Bytes(), true); err != nil {
			b.Fatal(err)
		}
	}
	if got := a.state.Versions()[0].ReadPerf(a.opts.Now()).Awaiting; got != n {
		b.Fatalf("%d awaiting, want %d", got, n)
	}
	if err := a.Snapshot(); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(opts.StoragePath, store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			if err := a.Snapshot(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(a.state.LabelBytes())/(1<<20), "awaiting_MiB")
	})
	b.Run("write_floor", func(b *testing.B) {
		data := make([]byte, info.Size())
		path := filepath.Join(dir, "floor")
		for b.Loop() {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		b.ReportMetric(float64(info.Size())/(1<<20), "file_MiB")
	})
}
