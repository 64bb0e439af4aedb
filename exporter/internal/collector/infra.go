package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

// collectInfra writes latency, errors and queue depth.
func (c *Collector) collectInfra(ch chan<- prometheus.Metric, r *state.Reading) {
	k := &r.Counters
	if k.Latency.Count > 0 {
		ch <- k.Latency.Metric(c.d.latency, state.LatencyBounds, r.Model, r.Version)
	}
	for typ, n := range k.Errors {
		ch <- constMetric(c.d.errors, prometheus.CounterValue, float64(n), r.Model, r.Version, typ)
	}
	if k.QueueDepth != nil {
		ch <- constMetric(c.d.queue, prometheus.GaugeValue, *k.QueueDepth, r.Model, r.Version)
	}
}
