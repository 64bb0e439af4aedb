package otlp_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

func evalLogs(records ...map[string]any) []byte {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, attrs := range records {
		lr := lrs.AppendEmpty()
		if id, ok := attrs["span"]; ok {
			lr.SetSpanID(pcommon.SpanID{id.(byte), 1})
			delete(attrs, "span")
		}
		if _, ok := attrs["plain"]; ok {
			lr.Body().SetStr("GET / 200")
			continue
		}
		lr.SetEventName("gen_ai.evaluation.result")
		_ = lr.Attributes().FromRaw(attrs)
	}
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func (f *fixture) sendLogs(t *testing.T, body []byte) (int, int64, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/logs", bytesReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out := readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, 0, string(out)
	}
	er := plogotlp.NewExportResponse()
	require.NoError(t, er.UnmarshalProto(out))
	return resp.StatusCode, er.PartialSuccess().RejectedLogRecords(), er.PartialSuccess().ErrorMessage()
}

func TestEvaluationResults(t *testing.T) {
	f := newFixture(t)
	// The evaluated calls, as spans; the second carries an evaluation as a span event.
	a := chat("gpt-4o", "gpt-4o-2024-08-06", 10, 5, "stop")
	a.id = 7
	b := chat("gpt-4o", "gpt-4o-2024-11-20", 10, 5, "stop")
	b.id = 8
	td := traces(a, b)
	ev := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).Events().AppendEmpty()
	ev.SetName("gen_ai.evaluation.result")
	_ = ev.Attributes().FromRaw(map[string]any{"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.35, "gen_ai.evaluation.score.label": "irrelevant"})
	r := f.sendTraces(t, td, false)
	require.Equal(t, http.StatusOK, r.code)
	require.Zero(t, r.rejected, r.message)

	code, rej, msg := f.sendLogs(t, evalLogs(
		// joined to span 7 through span_id
		map[string]any{"span": byte(7), "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.9, "gen_ai.evaluation.score.label": "relevant"},
		map[string]any{"span": byte(7), "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.8, "gen_ai.evaluation.score.label": "relevant"},
		// the model on the record itself
		map[string]any{"gen_ai.evaluation.name": "hallucination", "gen_ai.evaluation.score.label": "hallucinated", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-11-20"},
		// nothing to join to
		map[string]any{"span": byte(99), "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 1},
		// bad ones
		map[string]any{"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": "high"},
		map[string]any{"gen_ai.evaluation.score.value": 1.0},
		// not an evaluation
		map[string]any{"plain": true},
	))
	require.Equal(t, http.StatusOK, code, msg)
	require.Equal(t, int64(2), rej)
	require.Contains(t, msg, "gen_ai.evaluation.score.value: a number is required, got Str")
	require.Contains(t, msg, "gen_ai.evaluation.name: a non-empty string is required")

	m := f.metrics(t)
	v1 := map[string]string{"model": "gpt-4o", "version": "gpt-4o-2024-08-06", "evaluation": "relevance"}
	h := func(labels map[string]string) (uint64, float64) {
		for _, mm := range m["aiops_evaluation_score"].GetMetric() {
			got := map[string]string{}
			for _, lp := range mm.Label {
				got[lp.GetName()] = lp.GetValue()
			}
			match := true
			for k, v := range labels {
				match = match && got[k] == v
			}
			if match {
				return mm.GetHistogram().GetSampleCount(), mm.GetHistogram().GetSampleSum()
			}
		}
		return 0, 0
	}
	n, sum := h(v1)
	require.Equal(t, uint64(2), n)
	require.InDelta(t, 1.7, sum, 1e-9)
	n, sum = h(map[string]string{"model": "gpt-4o", "version": "gpt-4o-2024-11-20", "evaluation": "relevance"})
	require.Equal(t, uint64(1), n)
	require.InDelta(t, 0.35, sum, 1e-9)
	n, _ = h(map[string]string{"model": "__unknown__", "evaluation": "relevance"})
	require.Equal(t, uint64(1), n)
	require.Equal(t, 2.0, value(t, m, "aiops_evaluation_labels_total", map[string]string{"version": "gpt-4o-2024-08-06", "label": "relevant"}))
	require.Equal(t, 1.0, value(t, m, "aiops_evaluation_labels_total", map[string]string{"version": "gpt-4o-2024-11-20", "evaluation": "hallucination", "label": "hallucinated"}))
	require.Equal(t, 1.0, value(t, m, "aiops_otlp_ignored_total", map[string]string{"signal": "logs", "reason": "not_genai"}))
}
