package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

// collectOutcomes writes task outcomes, feedback, input length and business outcomes.
// Outcomes and ratings are closed sets: once a model reports any, all are exposed (zeros
// included) so ratios such as escalated / sum(outcomes) work from the first event.
func (c *Collector) collectOutcomes(ch chan<- prometheus.Metric, r *state.Reading) {
	k := &r.Counters
	if sum(k.Outcomes[:]) > 0 {
		for i, o := range state.Outcomes {
			ch <- constMetric(c.d.outcomes, prometheus.CounterValue, float64(k.Outcomes[i]), r.Model, r.Version, o)
		}
	}
	if sum(k.Contained[:]) > 0 {
		for i, a := range state.ContainmentActions {
			ch <- constMetric(c.d.contained, prometheus.CounterValue, float64(k.Contained[i]), r.Model, r.Version, a)
		}
	}
	if sum(k.Feedback[:]) > 0 {
		for i, o := range state.Ratings {
			ch <- constMetric(c.d.feedback, prometheus.CounterValue, float64(k.Feedback[i]), r.Model, r.Version, o)
		}
	}
	if k.InputLength.Count > 0 {
		ch <- k.InputLength.Metric(c.d.inputLength, state.InputLengthBounds, r.Model, r.Version)
	}
	for name, b := range k.Business {
		ch <- constMetric(c.d.businessEvents, prometheus.CounterValue, float64(b.Events), r.Model, r.Version, name)
		ch <- constMetric(c.d.businessValue, prometheus.CounterValue, b.Value, r.Model, r.Version, name)
	}
}

func sum(xs []uint64) uint64 {
	var s uint64
	for _, x := range xs {
		s += x
	}
	return s
}
