package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

// collectLLM writes tokens, cost and the OpenTelemetry GenAI histograms.
func (c *Collector) collectLLM(ch chan<- prometheus.Metric, r *state.Reading) {
	k := &r.Counters
	if k.TokenUsage[0].Count > 0 {
		for i, typ := range state.TokenTypes {
			ch <- constMetric(c.d.tokens, prometheus.CounterValue, float64(k.Tokens[i]), r.Model, r.Version, typ)
		}
		// OTel's gen_ai.token.type has input and output only; cached input is part of input.
		for i, typ := range state.TokenTypes[:2] {
			ch <- k.TokenUsage[i].Metric(c.d.genaiTokens, state.GenAITokenBounds, r.Model, r.Version, typ, r.Model, r.Operation, r.Provider)
		}
	}
	if k.Duration.Count > 0 {
		ch <- k.Duration.Metric(c.d.genaiDuration, state.GenAIDurationBounds, r.Model, r.Version, r.Model, r.Operation, r.Provider)
	}
	for currency, v := range k.Cost {
		ch <- constMetric(c.d.cost, prometheus.CounterValue, v, r.Model, r.Version, currency)
	}
}
