package state

// The infrastructure and LLM pillar: latency, errors and queue depth of every model, and the
// tokens, cost, OpenTelemetry GenAI histograms and text-quality scores of LLM calls. Its
// numbers are cumulative: nothing of it is windowed. Apply adds an event to it with
// InfraCounters.apply and LLMCounters.apply; Read and Snapshot copy it with their clone.

import (
	"maps"
	"math"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/histogram"
	"github.com/opscentre/opscentre/exporter/textquality"
)

// Bucket bounds of the histograms (classic buckets; native buckets come on top).
var (
	// LatencyBounds cover fast classifiers to slow LLM calls.
	LatencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// GenAIDurationBounds are the OpenTelemetry GenAI advice for gen_ai.client.operation.duration.
	GenAIDurationBounds = histogram.ExponentialBuckets(0.01, 2, 14) // 0.01 … 81.92
	// GenAITokenBounds are the OpenTelemetry GenAI advice for gen_ai.client.token.usage.
	GenAITokenBounds = histogram.ExponentialBuckets(1, 4, 14) // 1 … 67108864
	// InputLengthBounds bucket input_text_length (characters or tokens, as the app reports).
	InputLengthBounds = histogram.ExponentialBuckets(1, 4, 11) // 1 … 1048576
	// TextScoreBounds bucket ROUGE-L and BLEU, which lie in [0, 1].
	TextScoreBounds = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}
)

// TokenTypes are the token types, a closed set used as label values.
var TokenTypes = [3]string{"input", "output", "cached"}

// InfraCounters are a version's infrastructure numbers.
type InfraCounters struct {
	Errors     map[string]uint64   `json:"errors,omitempty"`
	QueueDepth *float64            `json:"queue_depth,omitempty"`
	Latency    histogram.Histogram `json:"latency"`
}

func (c *InfraCounters) apply(v *Version, e *Event, cfg *config.Config) {
	if e.HasLatency {
		c.Latency.Observe(LatencyBounds, e.Latency)
	}
	if e.ErrorType != nil {
		if c.Errors == nil {
			c.Errors = make(map[string]uint64)
		}
		c.Errors[v.state.bound(LabelType, e.ErrorType, cfg.Limits.MaxLabelValues)]++
	}
	if e.HasQueue {
		q := e.QueueDepth
		c.QueueDepth = &q
	}
}

func (c *InfraCounters) clone() InfraCounters {
	out := InfraCounters{Errors: maps.Clone(c.Errors), Latency: cloneHist(c.Latency)}
	if c.QueueDepth != nil {
		q := *c.QueueDepth
		out.QueueDepth = &q
	}
	return out
}

// LLMCounters are a version's LLM usage and the quality of its generated answers.
type LLMCounters struct {
	Tokens      [3]uint64              `json:"tokens"`
	Cost        map[string]float64     `json:"cost,omitempty"`
	Duration    histogram.Histogram    `json:"genai_duration"` // LLM calls only
	TokenUsage  [2]histogram.Histogram `json:"genai_tokens"`   // input, output
	InputLength histogram.Histogram    `json:"input_length"`
	Text        TextCounters           `json:"text"`
}

// TextCounters score generated answers against reference answers.
type TextCounters struct {
	RougeL histogram.Histogram `json:"rouge_l"` // per-answer ROUGE-L F1
	BLEU   histogram.Histogram `json:"bleu"`    // per-answer BLEU+1 (smoothed)
	// Corpus sums the answers' clipped n-gram counts and lengths: corpus BLEU over any
	// range and across replicas, computed in PromQL from the counters.
	Corpus textquality.BLEU `json:"corpus"`
}

func (c *LLMCounters) apply(v *Version, e *Event, cfg *config.Config) {
	if e.HasLatency && e.HasTokens {
		c.Duration.Observe(GenAIDurationBounds, e.Latency)
	}
	if e.HasTokens {
		for i, n := range e.Tokens {
			c.Tokens[i] += n
		}
		c.TokenUsage[0].Observe(GenAITokenBounds, float64(e.Tokens[0]))
		c.TokenUsage[1].Observe(GenAITokenBounds, float64(e.Tokens[1]))
	}
	if cost, currency, ok := v.cost(e, cfg); ok {
		if c.Cost == nil {
			c.Cost = make(map[string]float64)
		}
		c.Cost[currency] += cost
	}
	if e.HasInputLen {
		c.InputLength.Observe(InputLengthBounds, e.InputLen)
	}
	if e.HasText {
		// The scores were computed by the caller, outside the version's lock.
		c.Text.RougeL.Observe(TextScoreBounds, e.RougeL)
		c.Text.BLEU.Observe(TextScoreBounds, e.BLEU.SmoothedScore())
		c.Text.Corpus.Merge(&e.BLEU)
	}
}

func (c *LLMCounters) clone() LLMCounters {
	out := *c
	out.Cost = maps.Clone(c.Cost)
	out.Duration = cloneHist(c.Duration)
	out.TokenUsage[0] = cloneHist(c.TokenUsage[0])
	out.TokenUsage[1] = cloneHist(c.TokenUsage[1])
	out.InputLength = cloneHist(c.InputLength)
	out.Text.RougeL = cloneHist(c.Text.RougeL)
	out.Text.BLEU = cloneHist(c.Text.BLEU)
	return out
}

// cost is the event's own cost, or the one derived from the model's price table.
func (v *Version) cost(e *Event, cfg *config.Config) (float64, string, bool) {
	p := v.modelConfig().Price
	currency := cfg.DefaultCurrency
	if p != nil && p.Currency != "" {
		currency = p.Currency
	}
	if e.HasCost {
		return e.Cost, currency, true
	}
	if p == nil || !e.HasTokens {
		return 0, "", false
	}
	cachedPrice := p.Input
	if p.CachedInput != nil {
		cachedPrice = *p.CachedInput
	}
	in, out, cached := float64(e.Tokens[0]), float64(e.Tokens[1]), float64(e.Tokens[2])
	cached = math.Min(cached, in)
	return ((in-cached)*p.Input + cached*cachedPrice + out*p.Output) / 1e6, currency, true
}
