package otlp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/collector"
	"github.com/opscentre/opscentre/exporter/internal/otlp"
	"github.com/opscentre/opscentre/exporter/internal/state"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

type point struct {
	start  time.Time
	count  uint64
	sum    float64
	counts []uint64 // over bounds 0.05, 0.5
	model  any
}

func ttft(temporality pmetric.AggregationTemporality, name string, pts ...point) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "chat-server")
	sm := rm.ScopeMetrics().AppendEmpty()
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(temporality)
	for _, p := range pts {
		dp := h.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(p.start))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
		dp.SetCount(p.count)
		dp.SetSum(p.sum)
		dp.ExplicitBounds().FromRaw([]float64{0.05, 0.5})
		dp.BucketCounts().FromRaw(p.counts)
		model := p.model
		if model == nil {
			model = "gpt-4o"
		}
		_ = dp.Attributes().FromRaw(map[string]any{"gen_ai.request.model": model, "gen_ai.response.model": "gpt-4o-2024-08-06"})
	}
	// Runtime metrics a Collector forwards too, and the per-call GenAI metrics.
	for _, other := range []string{"process.runtime.go.goroutines", "gen_ai.client.token.usage", "gen_ai.client.operation.duration"} {
		m := sm.Metrics().AppendEmpty()
		m.SetName(other)
		m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
	}
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func (f *fixture) sendMetrics(t *testing.T, body []byte) (int, int64, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/metrics", bytesReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out := readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, 0, string(out)
	}
	er := pmetricotlp.NewExportResponse()
	require.NoError(t, er.UnmarshalProto(out))
	return resp.StatusCode, er.PartialSuccess().RejectedDataPoints(), er.PartialSuccess().ErrorMessage()
}

func TestServerMetricsTemporality(t *testing.T) {
	v := map[string]string{"model": "gpt-4o", "version": "gpt-4o-2024-08-06"}
	sample := func(f *fixture) (uint64, float64, map[float64]uint64) {
		m := f.metrics(t)
		ms := m["aiops_llm_time_to_first_token_seconds"].GetMetric()
		if len(ms) == 0 {
			return 0, 0, nil
		}
		h := ms[0].GetHistogram()
		b := map[float64]uint64{}
		for _, bk := range h.GetBucket() {
			b[bk.GetUpperBound()] = bk.GetCumulativeCount()
		}
		return h.GetSampleCount(), h.GetSampleSum(), b
	}
	_ = v

	t.Run("delta points add up", func(t *testing.T) {
		f := newFixture(t)
		for i := 0; i < 3; i++ {
			code, rej, msg := f.sendMetrics(t, ttft(pmetric.AggregationTemporalityDelta, "gen_ai.server.time_to_first_token", point{start: t0.Add(-time.Minute), count: 4, sum: 0.9, counts: []uint64{1, 2, 1}}))
			require.Equal(t, http.StatusOK, code, msg)
			require.Zero(t, rej, msg)
		}
		n, sum, b := sample(f)
		require.Equal(t, uint64(12), n)
		require.InDelta(t, 2.7, sum, 1e-9)
		// Sender bucket (…, 0.05] goes to the bucket of ours holding 0.05; (0.05, 0.5] to 0.5; (0.5, +Inf) above 0.5.
		require.Equal(t, uint64(3), b[0.06]) // 0.05 falls in ours up to 0.06
		require.Equal(t, uint64(9), b[0.5])
		require.Equal(t, uint64(12), b[0.75]) // (0.5, +Inf) goes to the bucket above 0.5
		m := f.metrics(t)
		require.Equal(t, 3.0, value(t, m, "aiops_otlp_ignored_total", map[string]string{"signal": "metrics", "reason": "not_genai"}))
		require.Equal(t, 6.0, value(t, m, "aiops_otlp_ignored_total", map[string]string{"signal": "metrics", "reason": "from_spans"}))
		// The per-call families were not touched by metrics.
		require.Zero(t, value(t, m, "aiops_events_total", nil))
	})

	t.Run("cumulative points are counted once", func(t *testing.T) {
		f := newFixture(t)
		// A stream that started before the exporter: its first point is only a baseline.
		old := t0.Add(-time.Hour)
		f.sendMetrics(t, ttft(pmetric.AggregationTemporalityCumulative, "gen_ai.server.time_to_first_token", point{start: old, count: 100, sum: 30, counts: []uint64{50, 50, 0}}))
		n, _, _ := sample(f)
		require.Zero(t, n)
		f.sendMetrics(t, ttft(pmetric.AggregationTemporalityCumulative, "gen_ai.server.time_to_first_token", point{start: old, count: 104, sum: 31, counts: []uint64{51, 52, 1}}))
		f.sendMetrics(t, ttft(pmetric.AggregationTemporalityCumulative, "gen_ai.server.time_to_first_token", point{start: old, count: 104, sum: 31, counts: []uint64{51, 52, 1}}))
		n, sum, b := sample(f)
		require.Equal(t, uint64(4), n)
		require.InDelta(t, 1.0, sum, 1e-9)
		require.Equal(t, uint64(1), b[0.06])
		require.Equal(t, uint64(3), b[0.5])
		// The sender restarted (new start time): its point counts from zero.
		f.sendMetrics(t, ttft(pmetric.AggregationTemporalityCumulative, "gen_ai.server.time_to_first_token", point{start: t0.Add(-time.Second), count: 2, sum: 0.1, counts: []uint64{2, 0, 0}}))
		n, _, _ = sample(f)
		require.Equal(t, uint64(6), n)
	})

	t.Run("bad points are a partial success", func(t *testing.T) {
		f := newFixture(t)
		code, rej, msg := f.sendMetrics(t, ttft(pmetric.AggregationTemporalityDelta, "gen_ai.server.time_per_output_token",
			point{start: t0, count: 1, sum: 0.02, counts: []uint64{1, 0, 0}},
			point{start: t0, count: 1, sum: 0.02, counts: []uint64{1, 0}},
			point{start: t0, count: 1, sum: 0.02, counts: []uint64{1, 0, 0}, model: 7},
		))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, int64(2), rej)
		require.Contains(t, msg, "2 bucket counts for 2 explicit bounds")
		require.Equal(t, 1.0, value(t, f.metrics(t), "aiops_llm_time_per_output_token_seconds", map[string]string{"model": "gpt-4o"}))
		code, _, msg = f.sendMetrics(t, []byte{0xff, 0x01})
		require.Equal(t, http.StatusBadRequest, code)
		require.Contains(t, msg, "ExportMetricsServiceRequest")
	})
}

func TestSignalsTurnedOff(t *testing.T) {
	cfg, err := config.Parse([]byte("otlp: {signals: [traces]}\n"))
	require.NoError(t, err)
	st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
	mux := http.NewServeMux()
	otlp.New(st, nil).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := &fixture{st: st, srv: srv}
	code, _, msg := f.sendMetrics(t, ttft(pmetric.AggregationTemporalityDelta, "gen_ai.server.time_to_first_token"))
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, msg, "otlp.signals")
	require.Equal(t, http.StatusOK, f.sendTraces(t, genAIBatch(), false).code)
}

func TestModelTemplate(t *testing.T) {
	cfg, err := config.Parse([]byte("otlp: {model_template: \"{service.name}/{gen_ai.request.model}\"}\n"))
	require.NoError(t, err)
	st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
	r := otlp.New(st, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.New(st), r.Collector())
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := &fixture{st: st, srv: srv, reg: reg}
	noModel := chat("x", "gpt-4o-2024-08-06", 1, 1)
	delete(noModel.attrs, "gen_ai.request.model")
	res := f.sendTraces(t, traces(chat("gpt-4o", "v", 1, 1, "stop"), noModel), false) // service.name is "test"
	require.Zero(t, res.rejected, res.message)
	m := f.metrics(t)
	require.Equal(t, 1.0, value(t, m, "aiops_events_total", map[string]string{"model": "test/gpt-4o", "version": "v"}))
	require.Equal(t, 1.0, value(t, m, "aiops_llm_finish_reasons_total", map[string]string{"model": "test/gpt-4o", "reason": "stop"}))
	require.Equal(t, 1.0, value(t, m, "aiops_events_total", map[string]string{"model": "test/gpt-4o-2024-08-06"}))

	for _, bad := range []string{"{service.name", "plain", "{}", "a}b"} {
		_, err := config.Parse([]byte("otlp: {model_template: \"" + bad + "\"}\n"))
		require.ErrorContains(t, err, "otlp.model_template", bad)
	}
}
