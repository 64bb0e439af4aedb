package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

// collectQuality writes the data-quality ratios over the sliding window. With no event in
// the window a ratio is undefined, so it is not exposed rather than reported as 0.
func (c *Collector) collectQuality(ch chan<- prometheus.Metric, r *state.Reading) {
	if r.WindowEvents == 0 {
		return
	}
	for _, f := range r.Features {
		present := min(f.Present, r.WindowEvents)
		ch <- constMetric(c.d.nullRatio, prometheus.GaugeValue,
			1-float64(present)/float64(r.WindowEvents), r.Model, r.Version, f.Name)
		if f.Numeric && f.Present > 0 {
			ch <- constMetric(c.d.outlierRatio, prometheus.GaugeValue,
				float64(f.Outliers)/float64(f.Present), r.Model, r.Version, f.Name)
		}
	}
}
