package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/client"
)

// captureSink keeps everything sent, in order.
type captureSink struct {
	events []client.Event
	labels []client.Label
}

func (c *captureSink) SendEvents(_ context.Context, e []client.Event) error {
	c.events = append(c.events, e...)
	return nil
}

func (c *captureSink) SendLabels(_ context.Context, l []client.Label) error {
	c.labels = append(c.labels, l...)
	return nil
}

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func play(t *testing.T, yml string) (*Scenario, *captureSink) {
	t.Helper()
	s, err := ParseScenario("test.yaml", []byte(yml))
	require.NoError(t, err)
	sink := &captureSink{}
	_, err = Run(context.Background(), Options{Scenario: s, Sink: sink, NoPacing: true, Start: t0})
	require.NoError(t, err)
	return s, sink
}

// within asserts that a share measured on n trials is within 4 standard errors of p.
func within(t *testing.T, what string, got, p float64, n int) {
	t.Helper()
	se := math.Sqrt(p * (1 - p) / float64(n))
	require.InDelta(t, p, got, 4*se+1e-9, "%s: got %.4f want %.4f (n=%d)", what, got, p, n)
}

const classifierScenario = `
seed: 7
duration: 20m
models:
  - name: fraud
    kind: classifier
    rate: 40
    accuracy: 0.9
    label_delay: 1m
    versions: [{name: v1, weight: 3}, {name: v2, weight: 1}]
faults:
  - {kind: accuracy_decay, model: fraud, accuracy: 0.6, at: 10m, for: 5m}
  - {kind: feature_shift, model: fraud, feature: amount, shift: 2, at: 5m, for: 5m}
  - {kind: nulls, model: fraud, feature: country, ratio: 0.25, at: 5m, for: 5m}
  - {kind: canary_worse, model: fraud, version: v2, accuracy: 0.5, at: 15m, for: 5m}
  - {kind: volume_drop, model: fraud, factor: 0.25, at: 15m, for: 5m}
`

func TestDeterministic(t *testing.T) {
	_, a := play(t, classifierScenario)
	_, b := play(t, classifierScenario)
	require.Equal(t, a.events, b.events)
	require.Equal(t, a.labels, b.labels)
	_, c := play(t, strings.Replace(classifierScenario, "seed: 7", "seed: 8", 1))
	require.NotEqual(t, a.events[:100], c.events[:100])
}

func TestClassifierFaults(t *testing.T) {
	_, sink := play(t, classifierScenario)
	truth := map[string]any{}
	for _, l := range sink.labels {
		truth[l.ID] = l.Label
	}
	type window struct{ from, to time.Duration }
	phase := func(ev client.Event) time.Duration { return ev.Timestamp.Sub(t0) }
	count := func(w window, keep func(client.Event) bool) (n, hit int, conf float64) {
		for _, ev := range sink.events {
			if p := phase(ev); p < w.from || p >= w.to {
				continue
			}
			n++
			if keep(ev) {
				hit++
			}
			conf += math.Max(ev.Scores["fraud"], ev.Scores["legit"])
		}
		return n, hit, conf / float64(n)
	}
	correct := func(ev client.Event) bool { return truth[ev.ID] == ev.Prediction }

	// Healthy: right 90% of the time, and the scores are calibrated (mean confidence = accuracy).
	n, hit, conf := count(window{0, 5 * time.Minute}, correct)
	within(t, "healthy accuracy", float64(hit)/float64(n), 0.9, n)
	require.InDelta(t, 0.9, conf, 0.01)
	require.InDelta(t, 5*60*40, n, 2, "events at 40/s for 5m")

	// Accuracy decay: right 60% of the time, while the confidence stays where it was.
	n, hit, conf = count(window{10 * time.Minute, 15 * time.Minute}, correct)
	within(t, "decayed accuracy", float64(hit)/float64(n), 0.6, n)
	require.InDelta(t, 0.9, conf, 0.01)

	// Canary worse: v2 drops to 50% while v1 stays at 90%; volume is a quarter.
	n, hit, _ = count(window{15 * time.Minute, 20 * time.Minute}, func(ev client.Event) bool { return ev.Version == "v2" && correct(ev) })
	n2, v2, _ := count(window{15 * time.Minute, 20 * time.Minute}, func(ev client.Event) bool { return ev.Version == "v2" })
	require.Equal(t, n, n2)
	within(t, "canary accuracy", float64(hit)/float64(v2), 0.5, v2)
	within(t, "canary share", float64(v2)/float64(n2), 0.25, n2)
	require.InDelta(t, 5*60*40*0.25, n2, 2, "volume drop to a quarter")

	// Feature shift moves log(amount) by 2 standard deviations (1.0) and leaves hour alone;
	// nulls remove a quarter of the country values.
	stats := func(w window) (logAmount, hour, nullCountry float64) {
		var k int
		for _, ev := range sink.events {
			if p := phase(ev); p < w.from || p >= w.to {
				continue
			}
			k++
			logAmount += math.Log(ev.Features["amount"].(float64))
			hour += ev.Features["hour"].(float64)
			if _, ok := ev.Features["country"]; !ok {
				nullCountry++
			}
		}
		return logAmount / float64(k), hour / float64(k), nullCountry / float64(k)
	}
	la0, h0, nc0 := stats(window{0, 5 * time.Minute})
	la1, h1, nc1 := stats(window{5 * time.Minute, 10 * time.Minute})
	require.InDelta(t, 2.0, la1-la0, 0.1)
	require.InDelta(t, 0, h1-h0, 0.3)
	require.Zero(t, nc0)
	within(t, "country nulls", nc1, 0.25, 5*60*40)
}

func TestLabelsArriveLater(t *testing.T) {
	_, sink := play(t, classifierScenario)
	sent := map[string]time.Time{}
	for _, ev := range sink.events {
		sent[ev.ID] = *ev.Timestamp
	}
	require.NotEmpty(t, sink.labels)
	for _, l := range sink.labels {
		require.Equal(t, time.Minute, l.Timestamp.Sub(sent[l.ID]), l.ID)
	}
	// Every prediction made at least a minute before the end got its label.
	var due int
	for _, ev := range sink.events {
		if ev.Timestamp.Sub(t0) < 19*time.Minute {
			due++
		}
	}
	require.GreaterOrEqual(t, len(sink.labels), due)
}

func TestRegressorAndLLM(t *testing.T) {
	_, sink := play(t, `
seed: 3
duration: 10m
models:
  - {name: demand, kind: regressor, rate: 20, accuracy: 0.9, label_delay: 30s}
  - {name: bot, kind: llm, rate: 20}
faults:
  - {kind: latency_spike, model: bot, factor: 4, at: 5m, for: 5m}
  - {kind: token_runaway, model: bot, factor: 3, at: 5m, for: 5m}
  - {kind: errors, model: bot, ratio: 0.2, at: 5m, for: 5m}
  - {kind: accuracy_decay, model: demand, accuracy: 0.7, at: 5m, for: 5m}
`)
	truth := map[string]float64{}
	for _, l := range sink.labels {
		require.NotNil(t, l.Value)
		truth[l.ID] = *l.Value
	}
	relErr := func(from, to time.Duration) float64 {
		var sum float64
		var n int
		for _, ev := range sink.events {
			p := ev.Timestamp.Sub(t0)
			y, ok := truth[ev.ID]
			if ev.Model != "demand" || p < from || p >= to || !ok || y < 20 {
				continue
			}
			e := (ev.Prediction.(float64) - y) / y
			sum += e * e
			n++
		}
		return math.Sqrt(sum / float64(n))
	}
	require.InDelta(t, 0.1, relErr(0, 5*time.Minute), 0.01)
	require.InDelta(t, 0.3, relErr(5*time.Minute, 10*time.Minute), 0.03)

	medianOut := func(from, to time.Duration) (lat, out float64, errs, n int) {
		var lats, outs []float64
		for _, ev := range sink.events {
			p := ev.Timestamp.Sub(t0)
			if ev.Model != "bot" || p < from || p >= to {
				continue
			}
			n++
			if ev.Error != "" {
				errs++
				continue
			}
			require.NotNil(t, ev.Tokens)
			require.NotNil(t, ev.Outcome)
			lats = append(lats, *ev.LatencySeconds)
			outs = append(outs, float64(ev.Tokens.Output))
		}
		return median(lats), median(outs), errs, n
	}
	l0, o0, e0, _ := medianOut(0, 5*time.Minute)
	l1, o1, e1, n1 := medianOut(5*time.Minute, 10*time.Minute)
	require.InDelta(t, 3, o1/o0, 0.3)
	require.Greater(t, l1/l0, 4.0, "latency rises by the spike and the longer answers")
	require.Zero(t, e0)
	within(t, "error ratio", float64(e1)/float64(n1), 0.2, n1)
}

// TestLLMGoldenAnswers checks that a fifth of an LLM's events carry a golden-set question's
// reference answer, answered faithfully with the model's accuracy, and that accuracy_decay on an
// llm makes its answers wrong more often (what ROUGE-L and BLEU then show).
func TestLLMGoldenAnswers(t *testing.T) {
	_, sink := play(t, `
seed: 5
duration: 10m
models: [{name: bot, kind: llm, rate: 20}]
faults: [{kind: accuracy_decay, model: bot, accuracy: 0.3, at: 5m, for: 5m}]
`)
	faithful := func(from, to time.Duration) (asked, good, n int) {
		for _, ev := range sink.events {
			if p := ev.Timestamp.Sub(t0); p < from || p >= to {
				continue
			}
			n++
			require.NotNil(t, ev.QueueDepth)
			if ev.ReferenceAnswer == "" {
				require.Empty(t, ev.OutputText)
				continue
			}
			asked++
			for _, g := range golden {
				if g.reference == ev.ReferenceAnswer && g.good == ev.OutputText {
					good++
				}
			}
		}
		return asked, good, n
	}
	g0, good0, n0 := faithful(0, 5*time.Minute)
	g1, good1, _ := faithful(5*time.Minute, 10*time.Minute)
	within(t, "golden share", float64(g0)/float64(n0), goldenShare, n0)
	within(t, "faithful before", float64(good0)/float64(g0), 0.92, g0)
	within(t, "faithful during accuracy_decay", float64(good1)/float64(g1), 0.3, g1)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

func TestScenarioErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ yml, want string }{
		{`models: []`, "models: at least one model"},
		{`models: [{name: a, kind: svm, rate: 1}]`, `models[0].kind: "svm" is not one of`},
		{`models: [{name: a, kind: llm, rate: 0}]`, "models[0].rate"},
		{`models: [{name: a, kind: llm, rate: 1}, {name: a, kind: llm, rate: 1}]`, `models[1].name: duplicate model "a"`},
		{`models: [{name: a, kind: llm, rate: 1, colour: red}]`, "field colour not found"},
		{`models: [{name: a, kind: llm, rate: 1}]
faults: [{kind: nulls, model: b, ratio: 0.5, for: 1m}]`, `faults[0].model: "b" is not a model`},
		{`models: [{name: a, kind: classifier, rate: 1}]
faults: [{kind: nulls, model: a, feature: nope, ratio: 0.5, for: 1m}]`, `faults[0].feature: "nope" is not a feature`},
		{`models: [{name: a, kind: llm, rate: 1}]
faults: [{kind: canary_worse, model: a, version: v2, accuracy: 0.5, for: 1m}]`, "faults[0].kind: canary_worse needs a classifier"},
		{`models: [{name: a, kind: classifier, rate: 1}]
faults: [{kind: latency_spike, model: a, factor: 0.5, for: 1m}]`, "faults[0].factor"},
		{`models: [{name: a, kind: classifier, rate: 1}]
faults: [{kind: latency_spike, model: a, factor: 2, for: -1m}]`, "negative"},
		{`models: [{name: a, kind: classifier, rate: 1}]
faults: [{kind: latency_spike, model: a, factor: 2, at: soon, for: 1m}]`, `"soon" is not a duration`},
		{`models: [{name: a, kind: classifier, rate: 1, versions: [{name: v1, weight: 1}]}]
faults: [{kind: canary_worse, model: a, version: v9, accuracy: 0.5, for: 1m}]`, `faults[0].version: "v9"`},
	} {
		_, err := ParseScenario("s.yaml", []byte(tc.yml))
		require.Error(t, err, tc.yml)
		require.Contains(t, err.Error(), tc.want)
		require.True(t, strings.HasPrefix(err.Error(), "s.yaml: "), err.Error())
	}
}

func TestDefaultScenarioParses(t *testing.T) {
	s, err := DefaultScenario()
	require.NoError(t, err)
	require.Len(t, s.Models, 3)
	kinds := map[string]bool{}
	for _, f := range s.Faults {
		kinds[f.Kind] = true
	}
	for _, k := range []string{FaultFeatureShift, FaultNulls, FaultAccuracyDecay, FaultLatencySpike, FaultTokenRunaway, FaultVolumeDrop, FaultCanaryWorse} {
		require.True(t, kinds[k], "default scenario scripts %s", k)
	}
}

func TestHTTPSinkSpeaksTheIngestAPI(t *testing.T) {
	var lines []map[string]any
	var labels []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		into := map[string]*[]map[string]any{"/api/v1/events": &lines, "/api/v1/labels": &labels}[r.URL.Path]
		if into == nil {
			http.NotFound(w, r)
			return
		}
		require.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"))
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
			*into = append(*into, m)
		}
		_, _ = w.Write([]byte(`{"accepted":1}`))
	}))
	defer srv.Close()
	s, err := ParseScenario("s", []byte(`
duration: 3s
models: [{name: bot, kind: llm, rate: 2}, {name: f, kind: classifier, rate: 2, label_delay: 1s}]`))
	require.NoError(t, err)
	st, err := Run(context.Background(), Options{Scenario: s, Sink: &HTTPSink{URL: srv.URL + "/"}, NoPacing: true, Start: t0})
	require.NoError(t, err)
	require.EqualValues(t, 12, st.Events)
	require.Len(t, lines, 12)
	require.NotEmpty(t, labels)
	var bot map[string]any
	for _, l := range lines {
		if l["model"] == "bot" {
			bot = l
		}
	}
	require.NotNil(t, bot)
	for _, k := range []string{"model", "version", "id", "timestamp", "features", "latency_seconds", "tokens", "outcome", "input_text_length", "business"} {
		require.Contains(t, bot, k)
	}
	tok := bot["tokens"].(map[string]any)
	require.Contains(t, tok, "input")
	require.Contains(t, tok, "output")

	// A sink that answers 4xx/5xx is an error the run counts, not a silent success.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"nope"}`, http.StatusBadRequest)
	}))
	defer bad.Close()
	st, err = Run(context.Background(), Options{Scenario: s, Sink: &HTTPSink{URL: bad.URL}, NoPacing: true, Start: t0})
	require.NoError(t, err)
	require.Zero(t, st.Events)
	require.NotZero(t, st.SendErrors)
}

func TestPacingFollowsSpeed(t *testing.T) {
	s, err := ParseScenario("s", []byte(`
duration: 2s
models: [{name: bot, kind: llm, rate: 10}]`))
	require.NoError(t, err)
	sink := &captureSink{}
	start := time.Now()
	_, err = Run(context.Background(), Options{Scenario: s, Sink: sink, Speed: 10})
	require.NoError(t, err)
	elapsed := time.Since(start)
	require.Len(t, sink.events, 20)
	// At speed 10, two seconds of scenario time are played over 0.2 s of wall time, and
	// the events' timestamps span the same 0.2 s.
	require.GreaterOrEqual(t, elapsed, 180*time.Millisecond)
	span := sink.events[len(sink.events)-1].Timestamp.Sub(*sink.events[0].Timestamp)
	require.InDelta(t, 0.2, span.Seconds(), 0.02)
}

// blockingSink holds every send until the run is stopped, like an exporter slow to answer
// when the caller ends the run.
type blockingSink struct{ started chan struct{} }

func (b *blockingSink) SendEvents(ctx context.Context, _ []client.Event) error {
	select {
	case b.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func (b *blockingSink) SendLabels(ctx context.Context, _ []client.Label) error {
	return b.SendEvents(ctx, nil)
}

// Stopping a run while a send is in flight ends the run; it is not a send error (the e2e
// loop stops the simulator that way and requires no send errors).
func TestStopDuringSendIsNotAnError(t *testing.T) {
	s, err := ParseScenario("s", []byte(`
duration: 1h
models: [{name: bot, kind: llm, rate: 10}]`))
	require.NoError(t, err)
	sink := &blockingSink{started: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Stats, 1)
	go func() {
		st, _ := Run(ctx, Options{Scenario: s, Sink: sink, NoPacing: true, Start: t0})
		done <- st
	}()
	<-sink.started
	cancel()
	st := <-done
	require.Zero(t, st.SendErrors, "last error: %v", st.LastError)
}
