package state

import (
	"maps"
	"time"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/histogram"
	"github.com/opscentre/opscentre/exporter/window"
)

// Reading is a consistent copy of one version's numbers, taken for a scrape.
type Reading struct {
	Model, Version      string
	Provider, Operation string // OpenTelemetry GenAI attributes of the model
	Counters            Counters
	// WindowEvents is the number of events in the sliding window; Features the window
	// counts per feature, in Feature.Index order.
	WindowEvents uint64
	Features     []FeatureReading
}

// FeatureReading is one feature's counts over the window.
type FeatureReading struct {
	Name     string
	Numeric  bool
	Present  uint64
	Outliers uint64
}

// Read copies the version's state as of now.
func (v *Version) Read(now time.Time) Reading {
	v.mu.Lock()
	defer v.mu.Unlock()
	mc := v.ModelConfig()
	r := Reading{
		Model:     v.model.Name,
		Version:   v.Name,
		Provider:  mc.Provider,
		Operation: mc.Operation,
		Counters:  v.c.clone(),
		Features:  make([]FeatureReading, len(v.list)),
	}
	if r.Provider == "" {
		r.Provider = "unknown"
	}
	if r.Operation == "" {
		r.Operation = "chat"
	}
	for i, f := range v.list {
		r.Features[i].Name = f.Name
		r.Features[i].Numeric = f.Schema.Type == config.Numeric
	}
	v.ring.Each(now, func(s *Slot) {
		r.WindowEvents += s.Events
		for i := range s.Features {
			r.Features[i].Present += s.Features[i].Present
			r.Features[i].Outliers += s.Features[i].Outliers
		}
	})
	return r
}

func (c *Counters) clone() Counters {
	out := *c
	out.Errors = maps.Clone(c.Errors)
	out.Cost = maps.Clone(c.Cost)
	if c.Business != nil {
		out.Business = make(map[string]*BusinessCount, len(c.Business))
		for k, b := range c.Business {
			bc := *b
			out.Business[k] = &bc
		}
	}
	if c.QueueDepth != nil {
		q := *c.QueueDepth
		out.QueueDepth = &q
	}
	out.Latency = cloneHist(c.Latency)
	out.Duration = cloneHist(c.Duration)
	out.InputLength = cloneHist(c.InputLength)
	out.Text.RougeL = cloneHist(c.Text.RougeL)
	out.Text.BLEU = cloneHist(c.Text.BLEU)
	out.TokenUsage[0] = cloneHist(c.TokenUsage[0])
	out.TokenUsage[1] = cloneHist(c.TokenUsage[1])
	out.Perf = c.Perf.clone()
	out.DriftUnbinned = cloneMap(c.DriftUnbinned)
	return out
}

func cloneHist(h histogram.Histogram) histogram.Histogram {
	var out histogram.Histogram
	out.Merge(&h)
	return out
}

// MergeAccumulators merges the feature's accumulators of every sub-window inside the window
// ending at now into `into` (fresh accumulators from the same factory, in the same order):
// the window-wide drift histogram or sketch is the merge of its sub-windows. It reports
// whether the feature exists.
func (v *Version) MergeAccumulators(now time.Time, feature string, into []window.Accumulator) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	f := v.features[feature]
	if f == nil {
		return false
	}
	v.ring.Each(now, func(s *Slot) {
		if f.Index >= len(s.Features) {
			return
		}
		for i, a := range s.Features[f.Index].Extra {
			if i < len(into) {
				into[i].Merge(a)
			}
		}
	})
	return true
}
