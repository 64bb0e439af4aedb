package ingest

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
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

// BenchmarkIngestDriftSplit separates BenchmarkIngestDriftPerformance's extra cost: in one
// loop over the same batches it runs the ingest with nothing on, with ids kept for labels
// (2,000 at most per version, so every insert evicts), with ids in the events and the default
// store bound (inserts only), with drift alone (no ids), and with both, and reports each
// relative to nothing on ("x-labels", "x-labels-noevict", "x-drift", "x-both").
func BenchmarkIngestDriftSplit(b *testing.B) {
	const n, batches = 1000, 20
	var withIDs, noIDs [batches][]byte
	for k := range batches {
		body := benchBatch(n)
		withIDs[k] = bytes.ReplaceAll(body, []byte(`"id":"req-`), fmt.Appendf(nil, `"id":"req-%02d-`, k))
		noIDs[k] = removeIDs(bytes.ReplaceAll(body, []byte(`"id":"req-`), []byte(`"idx":"req-`)))
	}
	type run struct {
		name   string
		config string
		bodies *[batches][]byte
		in     *Ingester
		took   time.Duration
	}
	runs := []*run{
		{name: "off", config: "reference: {capture_first: 0}\n", bodies: &noIDs},
		{name: "labels", config: "reference: {capture_first: 0}\nlabels: {max_awaiting: 2000}\n", bodies: &withIDs},
		{name: "labels-noevict", config: "reference: {capture_first: 0}\n", bodies: &withIDs},
		{name: "drift", config: "reference: {capture_first: 250}\n", bodies: &noIDs},
		{name: "both", config: "reference: {capture_first: 250}\nlabels: {max_awaiting: 2000}\n", bodies: &withIDs},
	}
	ingest := func(r *run, k int) {
		res, err := r.in.Ingest(r.bodies[k], true)
		if err != nil || res.Accepted != n {
			b.Fatalf("%s: accepted %d of %d: %v %+v", r.name, res.Accepted, n, err, res.Rejected)
		}
	}
	for _, r := range runs {
		cfg, err := config.Parse([]byte(r.config))
		if err != nil {
			b.Fatal(err)
		}
		r.in = New(state.New(cfg, state.Options{Now: func() time.Time { return t0 }}), slog.New(slog.DiscardHandler))
		for k := range batches {
			ingest(r, k)
		}
	}
	k := 0
	for b.Loop() {
		for _, r := range runs {
			t := time.Now()
			ingest(r, k)
			r.took += time.Since(t)
		}
		k = (k + 1) % batches
	}
	for _, r := range runs[1:] {
		b.ReportMetric(float64(r.took)/float64(runs[0].took), "x-"+r.name)
	}
}
