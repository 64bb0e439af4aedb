package otlp

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

// PathLogs is where OTLP/HTTP exporters send logs.
const PathLogs = "/v1/logs"

const signalLogs = "logs"

// The evaluation event of the GenAI conventions.
const (
	eventEvaluation    = "gen_ai.evaluation.result"
	attrEvalName       = "gen_ai.evaluation.name"
	attrEvalScoreValue = "gen_ai.evaluation.score.value"
	attrEvalScoreLabel = "gen_ai.evaluation.score.label"
	attrEventName      = "event.name" // where older SDKs put the event name
)

// Label names of the evaluation families in aiops_label_values_folded_total.
const (
	LabelEvaluation = "evaluation"
	LabelScoreLabel = "label"
)

// ScoreBounds are the buckets of aiops_evaluation_score: scores are mostly 0..1, some 1..10.
var ScoreBounds = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2, 3, 4, 5, 10}

// maxJoined bounds the spans remembered for joining an evaluation to the evaluated call.
const maxJoined = 100000

type evalKey struct {
	versionKey
	evaluation string
}

type labelKey struct {
	evalKey
	label string
}

type evalHist struct {
	counts []uint64
	count  uint64
	sum    float64
}

// evaluations holds the evaluation families and the span → model join.
type evaluations struct {
	mu     sync.Mutex
	spans  map[pcommon.SpanID][2]string // evaluated call → model, version (as sent)
	scores map[evalKey]*evalHist
	labels map[labelKey]uint64
	names  map[string]struct{}
	values map[string]struct{}

	dScore, dLabel *prometheus.Desc
}

func newEvaluations() *evaluations {
	return &evaluations{
		spans:  make(map[pcommon.SpanID][2]string),
		scores: make(map[evalKey]*evalHist),
		labels: make(map[labelKey]uint64),
		names:  make(map[string]struct{}),
		values: make(map[string]struct{}),
		dScore: prometheus.NewDesc("aiops_evaluation_score", "Scores of gen_ai.evaluation.result events received over OTLP logs, per evaluation.", []string{"model", "version", "evaluation"}, nil),
		dLabel: prometheus.NewDesc("aiops_evaluation_labels_total", "Labels of gen_ai.evaluation.result events received over OTLP logs, per evaluation.", []string{"model", "version", "evaluation", "label"}, nil),
	}
}

// remember notes the model of an accepted inference span, for evaluations of it.
func (e *evaluations) remember(span pcommon.SpanID, model, version pcommon.Value) {
	if span.IsEmpty() {
		return
	}
	e.mu.Lock()
	if len(e.spans) >= maxJoined {
		e.spans = make(map[pcommon.SpanID][2]string)
	}
	e.spans[span] = [2]string{model.AsString(), version.AsString()}
	e.mu.Unlock()
}

func (r *Receiver) serveLogs(rw http.ResponseWriter, req *http.Request) {
	r.serveOTLP(rw, req, signalLogs, func(body []byte, enc encoding) ([]byte, error) {
		in := plogotlp.NewExportRequest()
		if err := decode(in, body, enc, "ExportLogsServiceRequest"); err != nil {
			return nil, err
		}
		rejected, msg := r.consumeLogs(in.Logs())
		resp := plogotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedLogRecords(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		return encode(resp, enc)
	})
}

func (r *Receiver) consumeLogs(ld plog.Logs) (int, string) {
	ignored, rejected := 0, 0
	var msgs []string
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				name := lr.EventName()
				if name == "" {
					if v, ok := lr.Attributes().Get(attrEventName); ok {
						name = v.AsString()
					}
				}
				if name != eventEvaluation {
					ignored++
					continue
				}
				if err := r.evaluation(lr.Attributes(), lr.SpanID()); err != nil {
					rejected++
					if len(msgs) < maxMessages {
						msgs = append(msgs, fmt.Sprintf("log record %d: %v", k, err))
					}
				}
			}
		}
	}
	r.counts.ignore(signalLogs, ignoredNotGenAI, ignored)
	return rejected, joinMessages(msgs, rejected)
}

// evaluation applies one evaluation result. Its model is, in order: gen_ai.request.model /
// gen_ai.response.model on the record; the model of the span it refers to (span_id), if
// that span was among the last maxJoined accepted inference spans; else
// __unknown__.
func (r *Receiver) evaluation(attrs pcommon.Map, span pcommon.SpanID) error {
	nameV, ok := attrs.Get(attrEvalName)
	if !ok || nameV.Type() != pcommon.ValueTypeStr || nameV.Str() == "" {
		return fmt.Errorf("%s: a non-empty string is required", attrEvalName)
	}
	score, hasScore := attrs.Get(attrEvalScoreValue)
	var x float64
	if hasScore {
		switch score.Type() {
		case pcommon.ValueTypeDouble:
			x = score.Double()
		case pcommon.ValueTypeInt:
			x = float64(score.Int())
		default:
			return fmt.Errorf("%s: a number is required, got %s", attrEvalScoreValue, score.Type())
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s: a finite number is required, got %v", attrEvalScoreValue, x)
		}
	}
	labelV, hasLabel := attrs.Get(attrEvalScoreLabel)
	if !hasScore && !hasLabel {
		return fmt.Errorf("neither %s nor %s is set", attrEvalScoreValue, attrEvalScoreLabel)
	}
	model, version := modelOf(kindInference, attrs)
	var k versionKey
	if model.Type() == pcommon.ValueTypeEmpty && !span.IsEmpty() {
		r.evals.mu.Lock()
		mv, found := r.evals.spans[span]
		r.evals.mu.Unlock()
		if found {
			model, version = pcommon.NewValueStr(mv[0]), pcommon.NewValueStr(mv[1])
		}
	}
	if model.Type() == pcommon.ValueTypeEmpty {
		k = versionKey{state.Unknown, state.Unknown}
	} else {
		if model.Type() != pcommon.ValueTypeStr || len(model.Str()) > maxNameLen || !utf8.ValidString(model.Str()) {
			return fmt.Errorf("%s: a UTF-8 string of at most %d bytes is required", attrRequestModel, maxNameLen)
		}
		ver, res := r.st.Resolve([]byte(model.Str()), []byte(version.AsString()))
		if res != state.Resolved {
			return fmt.Errorf("model %q is not configured and unknown_models is reject", truncate(model.Str()))
		}
		k = versionKey{ver.Model(), ver.Name}
	}
	limit := r.st.Config().Limits.MaxLabelValues
	e := r.evals
	e.mu.Lock()
	defer e.mu.Unlock()
	ek := evalKey{k, r.bounded(e.names, nameV.Str(), limit, LabelEvaluation)}
	if hasScore {
		h := e.scores[ek]
		if h == nil {
			h = &evalHist{counts: make([]uint64, len(ScoreBounds)+1)}
			e.scores[ek] = h
		}
		h.counts[searchBound(ScoreBounds, x)]++
		h.count++
		h.sum += x
	}
	if hasLabel {
		e.labels[labelKey{ek, r.bounded(e.values, labelV.AsString(), limit, LabelScoreLabel)}]++
	}
	return nil
}

// bounded returns v if set may take it, else __other__ (counting the fold).
func (r *Receiver) bounded(set map[string]struct{}, v string, limit int, label string) string {
	if len(v) > maxNameLen || !utf8.ValidString(v) {
		r.st.Fold(label)
		return state.Other
	}
	if _, ok := set[v]; ok {
		return v
	}
	if len(set) >= limit || v == state.Other {
		r.st.Fold(label)
		return state.Other
	}
	set[v] = struct{}{}
	return v
}

func (e *evaluations) describe(ch chan<- *prometheus.Desc) {
	ch <- e.dScore
	ch <- e.dLabel
}

func (e *evaluations) collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, h := range e.scores {
		buckets := make(map[float64]uint64, len(ScoreBounds))
		var cum uint64
		for i, b := range ScoreBounds {
			cum += h.counts[i]
			buckets[b] = cum
		}
		ch <- prometheus.MustNewConstHistogram(e.dScore, h.count, h.sum, buckets, k.model, k.version, k.evaluation)
	}
	for k, n := range e.labels {
		ch <- prometheus.MustNewConstMetric(e.dLabel, prometheus.CounterValue, float64(n), k.model, k.version, k.evaluation, k.label)
	}
}
