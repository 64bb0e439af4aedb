package state

import (
	"time"

	"github.com/opscentre/opscentre/exporter/internal/histogram"
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

// Read copies the version's state as of now.
func (v *Version) Read(now time.Time) Reading {
	v.mu.Lock()
	defer v.mu.Unlock()
	mc := v.modelConfig()
	r := Reading{
		Model:     v.model.Name,
		Version:   v.Name,
		Provider:  mc.Provider,
		Operation: mc.Operation,
		Counters:  v.c.clone(),
	}
	if r.Provider == "" {
		r.Provider = "unknown"
	}
	if r.Operation == "" {
		r.Operation = "chat"
	}
	r.WindowEvents, r.Features = v.readQuality(now)
	return r
}

func cloneHist(h histogram.Histogram) histogram.Histogram {
	var out histogram.Histogram
	out.Merge(&h)
	return out
}
