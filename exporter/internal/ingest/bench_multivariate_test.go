package ingest

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// benchBatchNumeric is n events of 4 models with 20 numeric and 5 categorical features, ids
// for the label join, and a boolean prediction with a score.
func benchBatchNumeric(n, batch int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"model":"fraud-%d","version":"v3","id":"req-%02d-%08d","prediction":%t,"scores":{"true":%.3f},"features":{`,
			i%4, batch, i, i%3 == 0, float64(i%1000)/1000)
		for f := range 20 {
			if f > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"num_%02d":%.3f`, f, float64((i*31+f*17+batch*7)%1000)/7+float64((i*f)%13))
		}
		for f := range 5 {
			fmt.Fprintf(&b, `,"cat_%d":"v%d"`, f, (i+f)%8)
		}
		b.WriteString("}}\n")
	}
	return b.Bytes()
}

// BenchmarkIngestMultivariate runs, side by side over the same batches (20 numeric features),
// the ingest with drift off, with drift and labels on (multivariate off, the default), and with
// the reconstruction drift on as well, and reports both against drift off: "x-off" (budget
// 1.3) and "x-off-multivariate" (target 2).
func BenchmarkIngestMultivariate(b *testing.B) {
	const n, batches = 1000, 20
	var bodies [batches][]byte
	for k := range batches {
		bodies[k] = benchBatchNumeric(n, k)
	}
	newIngester := func(doc string) (*Ingester, *state.State) {
		cfg, err := config.Parse([]byte(doc))
		if err != nil {
			b.Fatal(err)
		}
		st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
		return New(st, slog.New(slog.DiscardHandler)), st
	}
	inOff, _ := newIngester("reference: {capture_first: 0}\nlabels: {max_awaiting: 2000}\n")
	inOn, _ := newIngester("reference: {capture_first: 250}\nlabels: {max_awaiting: 2000}\n")
	inMV, stMV := newIngester("reference: {capture_first: 250}\nlabels: {max_awaiting: 2000}\ndrift: {multivariate: true}\n")
	run := func(in *Ingester, body []byte) {
		res, err := in.Ingest(body, true)
		if err != nil || res.Accepted != n {
			b.Fatalf("accepted %d of %d: %v %+v", res.Accepted, n, err, res.Rejected)
		}
	}
	for k := range batches { // warm up: capture the references, fill the label stores
		run(inOff, bodies[k])
		run(inOn, bodies[k])
		run(inMV, bodies[k])
	}
	for _, v := range stMV.Versions() {
		r, ok := v.ReadDrift(t0)
		if !ok || r.Profile.Reconstruction == nil || r.Reconstruction == nil || r.Reconstruction.N == 0 {
			b.Fatalf("%s: no reconstruction drift computed", v.Name)
		}
	}
	var tOff, tOn, tMV time.Duration
	var rOn, rMV []float64
	b.ReportAllocs()
	b.ResetTimer()
	k := 0
	for b.Loop() {
		// The order rotates so that no configuration always runs first (or last) in a round.
		var d [3]time.Duration
		for j := range 3 {
			c := (j + k) % 3
			t := time.Now()
			run([]*Ingester{inOff, inOn, inMV}[c], bodies[k])
			d[c] = time.Since(t)
		}
		tOff += d[0]
		tOn += d[1]
		tMV += d[2]
		rOn = append(rOn, float64(d[1])/float64(d[0]))
		rMV = append(rMV, float64(d[2])/float64(d[0]))
		k = (k + 1) % batches
	}
	b.StopTimer()
	events := float64(b.N) * n
	b.ReportMetric(float64(tOff.Nanoseconds())/events, "ns-off/event")
	b.ReportMetric(float64(tMV.Nanoseconds())/events, "ns-mv/event")
	b.ReportMetric(float64(tOn)/float64(tOff), "x-off")
	b.ReportMetric(float64(tMV)/float64(tOff), "x-off-multivariate")
	// Medians of the per-round ratios resist the bursts of a shared machine better than the
	// ratio of sums.
	b.ReportMetric(median(rOn), "x-off-median")
	b.ReportMetric(median(rMV), "x-off-multivariate-median")
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkIngestEmbedding runs, side by side, the ingest of events with 5 numeric features and
// a 256-number embedding with drift off and with drift on (the reference captured with its
// embeddings), and reports the median per-round ratio ("x-off-median"). Decoding the embedding
// is paid in both; the drift adds one pass over it.
func BenchmarkIngestEmbedding(b *testing.B) {
	const n, batches, dim = 1000, 10, 256
	var bodies [batches][]byte
	for k := range batches {
		var buf bytes.Buffer
		for i := range n {
			fmt.Fprintf(&buf, `{"model":"chat-%d","version":"v1","features":{`, i%4)
			for f := range 5 {
				if f > 0 {
					buf.WriteByte(',')
				}
				fmt.Fprintf(&buf, `"num_%d":%d`, f, (i*7+f+k)%100)
			}
			buf.WriteString(`},"embedding":[`)
			for j := range dim {
				if j > 0 {
					buf.WriteByte(',')
				}
				fmt.Fprintf(&buf, "%.4f", float64((i*31+j*17+k)%200)/100-1)
			}
			buf.WriteString("]}\n")
		}
		bodies[k] = buf.Bytes()
	}
	newIngester := func(doc string) *Ingester {
		cfg, err := config.Parse([]byte(doc))
		if err != nil {
			b.Fatal(err)
		}
		return New(state.New(cfg, state.Options{Now: func() time.Time { return t0 }}), slog.New(slog.DiscardHandler))
	}
	inOff := newIngester("reference: {capture_first: 0}\n")
	stOn := state.New(mustParse(b, "reference: {capture_first: 250}\n"), state.Options{Now: func() time.Time { return t0 }})
	inOn := New(stOn, slog.New(slog.DiscardHandler))
	run := func(in *Ingester, body []byte) {
		res, err := in.Ingest(body, true)
		if err != nil || res.Accepted != n {
			b.Fatalf("accepted %d of %d: %v %+v", res.Accepted, n, err, res.Rejected)
		}
	}
	for k := range batches {
		run(inOff, bodies[k])
		run(inOn, bodies[k])
	}
	for _, v := range stOn.Versions() {
		if r, ok := v.ReadDrift(t0); !ok || r.Embedding == nil || r.Embedding.N == 0 {
			b.Fatalf("%s: no embedding drift computed", v.Name)
		}
	}
	var ratios []float64
	b.ResetTimer()
	k := 0
	for b.Loop() {
		var d [2]time.Duration
		for j := range 2 {
			c := (j + k) % 2
			t := time.Now()
			run([]*Ingester{inOff, inOn}[c], bodies[k%batches])
			d[c] = time.Since(t)
		}
		ratios = append(ratios, float64(d[1])/float64(d[0]))
		k++
	}
	b.StopTimer()
	b.ReportMetric(median(ratios), "x-off-median")
}

func mustParse(b *testing.B, doc string) *config.Config {
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}
