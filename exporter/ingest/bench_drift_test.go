package ingest

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/state"
)

// BenchmarkIngestDriftPerformance measures, in one loop over the same events, the ingest with
// drift and ground truth off (no reference, no ids kept) and on (each value binned against a
// reference captured from the first 1000 events, each prediction kept for its label), and
// reports the ratio "x-off" (target ≤ 1.3). Each of the 4 model versions sees its ids cycle
// through 5,000 values while at most 2,000 of its predictions wait, so every stored prediction
// is a real insert and an eviction, not a duplicate (checked after the loop).
func BenchmarkIngestDriftPerformance(b *testing.B) {
	const n, batches = 1000, 20
	var on, off [batches][]byte
	for k := range batches {
		body := benchBatch(n)
		// Unique ids per batch: req-<batch><event>.
		on[k] = bytes.ReplaceAll(body, []byte(`"id":"req-`), fmt.Appendf(nil, `"id":"req-%02d-`, k))
		off[k] = bytes.ReplaceAll(body, []byte(`"id":"req-`), []byte(`"idx":"req-`))
		off[k] = removeIDs(off[k])
	}
	newIngester := func(doc string) (*Ingester, *state.State) {
		cfg, err := config.Parse([]byte(doc))
		if err != nil {
			b.Fatal(err)
		}
		st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
		return New(st, slog.New(slog.DiscardHandler)), st
	}
	inOff, _ := newIngester("reference: {capture_first: 0}\n")
	inOn, stOn := newIngester("reference: {capture_first: 250}\nlabels: {max_awaiting: 2000}\n")
	run := func(in *Ingester, body []byte) {
		res, err := in.Ingest(body, true)
		if err != nil || res.Accepted != n {
			b.Fatalf("accepted %d of %d: %v %+v", res.Accepted, n, err, res.Rejected)
		}
	}
	// Warm up: captures the references (4 models × 250 events) and fills the label store.
	for k := range batches {
		run(inOff, off[k])
		run(inOn, on[k])
	}
	var tOff, tOn time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	k := 0
	for b.Loop() {
		t1 := time.Now()
		run(inOff, off[k])
		t2 := time.Now()
		run(inOn, on[k])
		t3 := time.Now()
		tOff += t2.Sub(t1)
		tOn += t3.Sub(t2)
		k = (k + 1) % batches
	}
	b.StopTimer()
	for _, v := range stOn.Versions() {
		if r := v.ReadPerf(t0); r.Awaiting != 2000 || r.Evicted["capacity"] == 0 {
			b.Fatalf("%s: %d awaiting, %d evicted for capacity; want 2000 and evictions", v.Name, r.Awaiting, r.Evicted["capacity"])
		}
	}
	events := float64(b.N) * n
	b.ReportMetric(float64(tOff.Nanoseconds())/events, "ns-off/event")
	b.ReportMetric(float64(tOn.Nanoseconds())/events, "ns-on/event")
	b.ReportMetric(float64(tOn)/float64(tOff), "x-off")
}

// removeIDs deletes the "idx" members, leaving events that ask for no join.
func removeIDs(body []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if i := bytes.Index(line, []byte(`"idx":"`)); i >= 0 {
			j := bytes.IndexByte(line[i+7:], '"')
			line = append(append([]byte{}, line[:i]...), line[i+7+j+2:]...)
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}
