package collector

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// BenchmarkDriftScrape100x20 times a scrape of one model version with 100 numeric features
// judged against a reference of 20 quantile bins (plus the 256-edge fine grid), its 12
// sub-windows holding 100 events each: merging the slots, Compare with the default scores,
// and building every drift series. The target for the recompute is < 50 ms.
func BenchmarkDriftScrape100x20(b *testing.B) {
	const features = 100
	cfg, err := config.Parse([]byte("reference: {capture_first: 0}\n"))
	if err != nil {
		b.Fatal(err)
	}
	now := t0
	st := state.New(cfg, state.Options{Now: func() time.Time { return now }})
	v, _ := st.Resolve([]byte("m"), []byte("v1"))
	rng := rand.New(rand.NewPCG(1, 2))
	bld := drift.NewBuilder(drift.ProfileOptions{Bins: 20})
	for range 5000 {
		for f := range features {
			if err := bld.AddFloat(fmt.Sprintf("f%03d", f), rng.NormFloat64()); err != nil {
				b.Fatal(err)
			}
		}
	}
	v.SetReference(bld.Profile(), state.SourceUpload)
	width := time.Duration(cfg.Window.SubWindowDuration)
	for s := range cfg.Window.SubWindows {
		now = t0.Add(time.Duration(s) * width)
		for range 100 {
			e := state.Event{Time: now, Now: now, Outcome: -1, Feedback: -1}
			for f := range features {
				e.Features = append(e.Features, state.FeatureValue{Name: fmt.Appendf(nil, "f%03d", f), Type: config.Numeric, Num: rng.NormFloat64() + 0.1})
			}
			event(v, e)
		}
	}
	c := New(st)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	var series int
	for b.Loop() {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		series = 0
		for _, mf := range mfs {
			series += len(mf.Metric)
		}
	}
	b.ReportMetric(float64(series), "series")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
}
