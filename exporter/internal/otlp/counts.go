package otlp

import (
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/opscentre/opscentre/exporter/internal/histogram"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// Signals, the signal label of the receiver's own families.
const (
	signalTraces = "traces"
)

// maxNameLen bounds a tool name, as the event schema bounds model names.
const maxNameLen = 256

// LabelTool is the label of the tool families in aiops_label_values_folded_total.
const LabelTool = "tool"

// StepBounds are the buckets of aiops_agent_task_steps: LLM and tool calls per task.
var StepBounds = []float64{1, 2, 3, 5, 8, 13, 21, 34, 55, 89}

type versionKey struct{ model, version string }

type reasonKey struct {
	versionKey
	reason string
}

type toolKey struct {
	versionKey
	tool string
}

type ignoreKey struct{ signal, reason string }

type toolCount struct{ calls, errors uint64 }

// counts holds what the event schema has no field for. Model and version labels are the
// state's (folded names included), so the families join the state's on {model, version};
// other labels are a closed set or bounded by limits.max_label_values. They start from zero
// when the exporter restarts, as Prometheus counters may.
type counts struct {
	st *state.State

	mu      sync.Mutex
	ignored map[ignoreKey]uint64
	failed  map[string]uint64
	reasons map[reasonKey]uint64
	tools   map[toolKey]*toolCount
	toolSet map[string]struct{}
	steps   map[versionKey]*histogram.Histogram

	dIgnored, dFailed, dReasons, dToolCalls, dToolErrors, dSteps *prometheus.Desc
}

func newCounts(st *state.State) *counts {
	mv := []string{"model", "version"}
	return &counts{
		st:      st,
		ignored: make(map[ignoreKey]uint64),
		failed:  make(map[string]uint64),
		reasons: make(map[reasonKey]uint64),
		tools:   make(map[toolKey]*toolCount),
		toolSet: make(map[string]struct{}),
		steps:   make(map[versionKey]*histogram.Histogram),

		dIgnored:    prometheus.NewDesc("aiops_otlp_ignored_total", "OTLP items received and ignored because they are not GenAI telemetry (reason not_genai) or an operation not mapped (unsupported_operation).", []string{"signal", "reason"}, nil),
		dFailed:     prometheus.NewDesc("aiops_otlp_requests_failed_total", "OTLP requests refused as a whole: unreadable, too large, or not OTLP.", []string{"signal"}, nil),
		dReasons:    prometheus.NewDesc("aiops_llm_finish_reasons_total", "Finish reasons of accepted GenAI spans (gen_ai.response.finish_reasons); reasons outside the known set are __other__.", append(mv, "reason"), nil),
		dToolCalls:  prometheus.NewDesc("aiops_agent_tool_calls_total", "Tool calls of agents (execute_tool spans), by agent and tool.", append(mv, "tool"), nil),
		dToolErrors: prometheus.NewDesc("aiops_agent_tool_errors_total", "Tool calls of agents that failed (span status error or error.type set).", append(mv, "tool"), nil),
		dSteps:      prometheus.NewDesc("aiops_agent_task_steps", "LLM and tool calls per agent task (invoke_agent span), counted over the spans sent in the same request.", mv, nil),
	}
}

func (c *counts) ignore(signal, reason string, n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.ignored[ignoreKey{signal, reason}] += uint64(n)
	c.mu.Unlock()
}

func (c *counts) requestFailed(signal string) {
	c.mu.Lock()
	c.failed[signal]++
	c.mu.Unlock()
}

// key labels a span's counts with the version its event went to, or nil.
func (c *counts) key(model, version pcommon.Value) (versionKey, bool) {
	ver := c.st.Lookup(model.AsString(), version.AsString())
	if ver == nil {
		return versionKey{}, false
	}
	return versionKey{ver.Model(), ver.Name}, true
}

// finishReasons counts the finish reasons of an accepted inference span.
func (c *counts) finishReasons(span ptrace.Span, model, version pcommon.Value) {
	v, ok := span.Attributes().Get(attrFinishReasons)
	if !ok {
		return
	}
	k, ok := c.key(model, version)
	if !ok {
		return
	}
	add := func(s string) {
		r, known := finishReason(s)
		if !known {
			c.st.Fold(LabelReason)
		}
		c.mu.Lock()
		c.reasons[reasonKey{k, r}]++
		c.mu.Unlock()
	}
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			add(s.At(i).AsString())
		}
	case pcommon.ValueTypeStr:
		// Some instrumentations send a single reason as a string.
		add(v.Str())
	}
}

// tool counts one tool call of the agent version k.
func (c *counts) tool(k versionKey, name string, failed bool) {
	limit := c.st.Config().Limits.MaxLabelValues
	if name == "" {
		name = "unknown"
	}
	if len(name) > maxNameLen || !utf8.ValidString(name) {
		name = state.Other
	}
	c.mu.Lock()
	if _, ok := c.toolSet[name]; !ok {
		if len(c.toolSet) >= limit || name == state.Other {
			name = state.Other
			c.mu.Unlock()
			c.st.Fold(LabelTool)
			c.mu.Lock()
		} else {
			c.toolSet[name] = struct{}{}
		}
	}
	tc := c.tools[toolKey{k, name}]
	if tc == nil {
		tc = &toolCount{}
		c.tools[toolKey{k, name}] = tc
	}
	tc.calls++
	if failed {
		tc.errors++
	}
	c.mu.Unlock()
}

func (c *counts) taskSteps(k versionKey, n int) {
	c.mu.Lock()
	h := c.steps[k]
	if h == nil {
		h = &histogram.Histogram{}
		c.steps[k] = h
	}
	h.Observe(StepBounds, float64(n))
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *counts) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.dIgnored, c.dFailed, c.dReasons, c.dToolCalls, c.dToolErrors, c.dSteps} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *counts) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range c.ignored {
		ch <- prometheus.MustNewConstMetric(c.dIgnored, prometheus.CounterValue, float64(n), k.signal, k.reason)
	}
	for s, n := range c.failed {
		ch <- prometheus.MustNewConstMetric(c.dFailed, prometheus.CounterValue, float64(n), s)
	}
	for k, n := range c.reasons {
		ch <- prometheus.MustNewConstMetric(c.dReasons, prometheus.CounterValue, float64(n), k.model, k.version, k.reason)
	}
	for k, tc := range c.tools {
		ch <- prometheus.MustNewConstMetric(c.dToolCalls, prometheus.CounterValue, float64(tc.calls), k.model, k.version, k.tool)
		ch <- prometheus.MustNewConstMetric(c.dToolErrors, prometheus.CounterValue, float64(tc.errors), k.model, k.version, k.tool)
	}
	for k, h := range c.steps {
		ch <- h.Metric(c.dSteps, StepBounds, k.model, k.version)
	}
}

// Collector is the receiver's metric families, to register beside the state's.
func (r *Receiver) Collector() prometheus.Collector { return collectors{r} }

type collectors struct{ r *Receiver }

func (c collectors) Describe(ch chan<- *prometheus.Desc) {
	c.r.counts.Describe(ch)
	c.r.metrics.describe(ch)
	c.r.evals.describe(ch)
}

func (c collectors) Collect(ch chan<- prometheus.Metric) {
	c.r.counts.Collect(ch)
	c.r.metrics.collect(ch)
	c.r.evals.collect(ch)
}
