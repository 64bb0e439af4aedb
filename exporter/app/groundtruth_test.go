package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// clockApp runs the exporter in-process on a fake clock, with its state in dir.
func clockApp(t *testing.T, dir, cfg string, clock *fakeClock) (*App, *httptest.Server) {
	t.Helper()
	opts := DefaultOptions()
	opts.StoragePath = filepath.Join(dir, "data")
	opts.ConfigFile = filepath.Join(dir, "exporter.yml")
	require.NoError(t, os.WriteFile(opts.ConfigFile, []byte(cfg), 0o600))
	opts.Registry = prometheus.NewRegistry()
	opts.Now = clock.Now
	a, err := New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return a, srv
}

func request(t *testing.T, method, url, contentType string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out), "%s", data)
	return resp.StatusCode, out
}

// metric returns the value of the one series of name carrying these labels, and whether it
// exists.
func metric(t *testing.T, a *App, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := a.opts.Registry.Gather()
	require.NoError(t, err)
	var found []float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Gauge != nil:
				found = append(found, m.Gauge.GetValue())
			case m.Counter != nil:
				found = append(found, m.Counter.GetValue())
			case m.Histogram != nil:
				found = append(found, float64(m.Histogram.GetSampleCount()))
			}
		}
	}
	require.LessOrEqual(t, len(found), 1, "%s%v matches several series", name, labels)
	if len(found) == 0 {
		return math.NaN(), false
	}
	return found[0], true
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	got := map[string]string{}
	for _, lp := range m.Label {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range labels {
		if got[k] != v {
			return false
		}
	}
	return true
}

func mustMetric(t *testing.T, a *App, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := metric(t, a, name, labels)
	require.True(t, ok, "no series %s%v", name, labels)
	return v
}

const groundTruthConfig = `
window: {sub_windows: 24, sub_window_duration: 1h}
reference: {capture_first: 0}
labels: {max_awaiting: 1000, max_age: 30d, unknown_id_ttl: 1h}
models:
  churn:
    versions: {stable: {}, canary: {}}
`

// predictions posts n predictions of version with ids prefix0…, predicting "yes" for even
// and "no" for odd numbers, with a score.
func predictions(t *testing.T, url, version, prefix string, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		class := []string{"yes", "no"}[i%2]
		fmt.Fprintf(&b, `{"model":"churn","version":%q,"id":"%s%d","prediction":%q,"scores":{%q:0.9}}`+"\n", version, prefix, i, class, class)
	}
	status, out := request(t, http.MethodPost, url+"/api/v1/events", "application/x-ndjson", []byte(b.String()))
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.EqualValues(t, n, out["accepted"], "%v", out)
}

// labelsFor posts labels for ids prefix[from,to): right for the first `right`, wrong after.
func labelsFor(t *testing.T, url, prefix string, from, to, right int) map[string]any {
	t.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		class := []string{"yes", "no"}[i%2]
		if i-from >= right {
			class = []string{"no", "yes"}[i%2]
		}
		fmt.Fprintf(&b, `{"model":"churn","id":"%s%d","label":%q}`+"\n", prefix, i, class)
	}
	status, out := request(t, http.MethodPost, url+"/api/v1/labels", "application/x-ndjson", []byte(b.String()))
	require.Equal(t, http.StatusOK, status, "%v", out)
	return out
}

// Labels that arrive days after their predictions: accuracy is computed over the window of
// label time, so it falls when the late, worse labels come in, and the label delay shows it.
func TestDelayedLabelsAccuracyFalls(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), groundTruthConfig, clock)
	defer a.store.Close()
	stable := map[string]string{"model": "churn", "version": "stable"}

	predictions(t, srv.URL, "stable", "p", 200)
	require.InDelta(t, 200, mustMetric(t, a, "aiops_predictions_awaiting_label", stable), 0)
	_, ok := metric(t, a, "aiops_model_accuracy", stable)
	require.False(t, ok, "no accuracy before any label")

	// An hour later the first 100 labels: all right.
	clock.Advance(time.Hour)
	out := labelsFor(t, srv.URL, "p", 0, 100, 100)
	require.EqualValues(t, 100, out["accepted"])
	require.InDelta(t, 1.0, mustMetric(t, a, "aiops_model_accuracy", stable), 1e-12)
	require.InDelta(t, 100, mustMetric(t, a, "aiops_predictions_awaiting_label", stable), 0)

	// Three days later the other 100: only 40 right. The window (24 h) now holds only them.
	clock.Advance(72 * time.Hour)
	labelsFor(t, srv.URL, "p", 100, 200, 40)
	require.InDelta(t, 0.4, mustMetric(t, a, "aiops_model_accuracy", stable), 1e-12)
	require.InDelta(t, 0, mustMetric(t, a, "aiops_predictions_awaiting_label", stable), 0)
	require.InDelta(t, 140, mustMetric(t, a, "aiops_predictions_labeled_total", map[string]string{"version": "stable", "outcome": "correct"}), 0)
	require.InDelta(t, 60, mustMetric(t, a, "aiops_predictions_labeled_total", map[string]string{"version": "stable", "outcome": "incorrect"}), 0)
	// Wrong answers are yes↔no swaps: 30 actual "no" predicted "yes" among the late ones.
	require.InDelta(t, 30, mustMetric(t, a, "aiops_confusion_total", map[string]string{"version": "stable", "actual": "no", "predicted": "yes"}), 0)

	// Per-class figures over the window, checked against counts worked by hand: of the 100
	// late labels, ids 100..139 are right (20 yes, 20 no), ids 140..199 swapped (30 each way).
	// yes: TP 20, predicted yes 50, actual yes 50 → precision = recall = 0.4.
	require.InDelta(t, 0.4, mustMetric(t, a, "aiops_model_precision", map[string]string{"version": "stable", "class": "yes"}), 1e-12)
	require.InDelta(t, 0.4, mustMetric(t, a, "aiops_model_recall", map[string]string{"version": "stable", "class": "no"}), 1e-12)
	require.InDelta(t, 0.4, mustMetric(t, a, "aiops_model_f1", map[string]string{"version": "stable", "class": "__macro__"}), 1e-12)
	// Log-loss of a 0.9 confidence: −ln 0.9 when right, −ln 0.1 when wrong.
	require.InDelta(t, (40*-math.Log(0.9)+60*-math.Log(0.1))/100, mustMetric(t, a, "aiops_model_log_loss", stable), 1e-9)
	require.InDelta(t, (40*0.01+60*0.81)/100, mustMetric(t, a, "aiops_model_brier_score", stable), 1e-9)

	// Label delay: 100 labels after 1 h, 100 after 73 h.
	fams, err := a.opts.Registry.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != "aiops_label_delay_seconds" {
			continue
		}
		h := f.Metric[0].Histogram
		require.EqualValues(t, 200, h.GetSampleCount())
		require.InDelta(t, 100*3600+100*73*3600, h.GetSampleSum(), 1e-6)
		for _, b := range h.Bucket {
			switch b.GetUpperBound() {
			case 3600:
				require.EqualValues(t, 100, b.GetCumulativeCount())
			case 3 * 86400:
				require.EqualValues(t, 100, b.GetCumulativeCount(), "73 h is past 3 days")
			case 7 * 86400:
				require.EqualValues(t, 200, b.GetCumulativeCount())
			}
		}
	}

	// The canary was never labelled: nothing mixes across versions.
	_, ok = metric(t, a, "aiops_model_accuracy", map[string]string{"model": "churn", "version": "canary"})
	require.False(t, ok)
}

// Duplicates, labels before their prediction, labels of the wrong kind and malformed ones.
func TestLabelEdgeCases(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), groundTruthConfig, clock)
	defer a.store.Close()
	predictions(t, srv.URL, "stable", "d", 2)

	// A JSON array: a join, a duplicate of it (first wins), a label for an unknown id, and
	// rejections that name the field.
	status, out := request(t, http.MethodPost, srv.URL+"/api/v1/labels", "application/json", []byte(`[
		{"model":"churn","id":"d0","label":"yes"},
		{"model":"churn","id":"d0","label":"no"},
		{"model":"churn","id":"later","label":"no","timestamp":"2026-11-02T08:59:00Z"},
		{"model":"churn","id":"d1","value":3.5},
		{"model":"churn","id":"x","label":{"a":1}},
		{"model":"churn","label":"yes"},
		{"model":"churn","id":"y","label":"yes","value":1},
		{"model":"churn","id":"z","labl":"yes"},
		{"model":"churn","id":"t","label":"yes","timestamp":"2026-11-03T09:00:00Z"},
		{"id":"w","label":"yes"}
	]`))
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 3, out["accepted"], "%v", out)
	want := []struct{ index, field, reason string }{
		{"3", "value", "type_mismatch"},
		{"4", "label", "type_mismatch"},
		{"5", "id", "missing_required"},
		{"6", "value", "invalid_value"},
		{"7", "labl", "unknown_field"},
		{"8", "timestamp", "timestamp_out_of_range"},
		{"9", "model", "missing_model"},
	}
	rejected := out["rejected"].([]any)
	require.Len(t, rejected, len(want), "%v", rejected)
	got := map[string]map[string]any{}
	for _, r := range rejected {
		m := r.(map[string]any)
		got[fmt.Sprint(m["index"])] = m
		require.NotEmpty(t, m["message"])
	}
	for _, w := range want {
		require.Equal(t, w.field, got[w.index]["field"], "index %s: %v", w.index, got[w.index])
		require.Equal(t, w.reason, got[w.index]["reason"], "index %s: %v", w.index, got[w.index])
	}
	churn := func(version, result string) map[string]string {
		return map[string]string{"model": "churn", "version": version, "result": result}
	}
	require.InDelta(t, 1, mustMetric(t, a, "aiops_labels_total", churn("stable", "joined")), 0)
	require.InDelta(t, 1, mustMetric(t, a, "aiops_labels_total", churn("stable", "duplicate")), 0)
	require.InDelta(t, 1, mustMetric(t, a, "aiops_labels_total", churn("__unknown__", "pending")), 0)
	// The wrong-kind label left d1 waiting for a proper one.
	require.InDelta(t, 1, mustMetric(t, a, "aiops_predictions_awaiting_label", map[string]string{"model": "churn", "version": "stable"}), 0)

	// The prediction for "later" arrives after its label: they join then.
	status, out = request(t, http.MethodPost, srv.URL+"/api/v1/events", "", []byte(`{"model":"churn","version":"stable","id":"later","prediction":"no"}`))
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.InDelta(t, 1, mustMetric(t, a, "aiops_labels_total", churn("stable", "late_join")), 0)
	require.InDelta(t, 2, mustMetric(t, a, "aiops_predictions_labeled_total", map[string]string{"version": "stable", "outcome": "correct"}), 0)

	// A label carrying its own prediction (regression) needs no waiting prediction.
	status, out = request(t, http.MethodPost, srv.URL+"/api/v1/labels", "", []byte(`{"model":"churn","version":"canary","id":"r1","value":10,"prediction":7}`))
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1, out["accepted"], "%v", out)
	canary := map[string]string{"model": "churn", "version": "canary"}
	require.InDelta(t, 3, mustMetric(t, a, "aiops_model_rmse", canary), 1e-12)
	require.InDelta(t, 3, mustMetric(t, a, "aiops_model_mae", canary), 1e-12)
	require.InDelta(t, 9, mustMetric(t, a, "aiops_regression_error_sum", map[string]string{"version": "canary", "kind": "squared"}), 1e-12)

	// A pending label expires after labels.unknown_id_ttl: its prediction then waits alone.
	_, _ = request(t, http.MethodPost, srv.URL+"/api/v1/labels", "", []byte(`{"model":"churn","id":"gone","label":"yes"}`))
	clock.Advance(2 * time.Hour)
	status, _ = request(t, http.MethodPost, srv.URL+"/api/v1/events", "", []byte(`{"model":"churn","version":"stable","id":"gone","prediction":"yes"}`))
	require.Equal(t, http.StatusOK, status)
	require.InDelta(t, 1, mustMetric(t, a, "aiops_labels_total", churn("stable", "late_join")), 0)

	// Whole-body failures.
	status, _ = request(t, http.MethodPost, srv.URL+"/api/v1/labels", "", []byte(`[{"model":`))
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = request(t, http.MethodPost, srv.URL+"/api/v1/labels", "text/csv", []byte(`a,b`))
	require.Equal(t, http.StatusUnsupportedMediaType, status)
}

// CBPE: once enough labelled predictions calibrate the scores, the accuracy of unlabelled
// predictions is estimated from their scores. The model's confidence is 0.9 but it is right
// 70% of the time, so the calibrated estimate must say 0.7, not 0.9.
func TestEstimatedAccuracyBeforeLabels(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), groundTruthConfig, clock)
	defer a.store.Close()
	const n = 1000 // state.CalibrationRows
	predictions(t, srv.URL, "stable", "c", n)
	var b strings.Builder
	for i := range n {
		class := []string{"yes", "no"}[i%2]
		if i%10 >= 7 {
			class = []string{"no", "yes"}[i%2]
		}
		fmt.Fprintf(&b, `{"model":"churn","id":"c%d","label":%q}`+"\n", i, class)
	}
	status, _ := request(t, http.MethodPost, srv.URL+"/api/v1/labels", "application/x-ndjson", []byte(b.String()))
	require.Equal(t, http.StatusOK, status)
	stable := map[string]string{"model": "churn", "version": "stable"}
	require.InDelta(t, 1, mustMetric(t, a, "aiops_model_estimate_calibrated", stable), 0)
	require.InDelta(t, 0.7, mustMetric(t, a, "aiops_model_accuracy", stable), 1e-12)

	clock.Advance(25 * time.Hour) // the calibration rows leave the window
	predictions(t, srv.URL, "stable", "u", 100)
	require.InDelta(t, 0.7, mustMetric(t, a, "aiops_model_estimated_accuracy", stable), 1e-9)
}

// A restart keeps the reference, the predictions awaiting labels and the counters.
func TestRestartKeepsReferencesAndAwaitingPredictions(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	a, srv := clockApp(t, dir, groundTruthConfig, clock)

	var csv strings.Builder
	csv.WriteString("amount,country\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		fmt.Fprintf(&csv, "%.3f,%s\n", rng.NormFloat64()*10+100, []string{"DE", "FR"}[i%2])
	}
	status, out := request(t, http.MethodPut, srv.URL+"/api/v1/models/churn/versions/stable/reference", "text/csv", []byte(csv.String()))
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.EqualValues(t, 500, out["rows"])
	require.Empty(t, out["warnings"])
	status, exported := request(t, http.MethodGet, srv.URL+"/api/v1/models/churn/versions/stable/reference", "", nil)
	require.Equal(t, http.StatusOK, status)

	predictions(t, srv.URL, "stable", "k", 10)
	require.NoError(t, a.Snapshot())
	require.NoError(t, a.store.Close())
	srv.Close()

	clock.Advance(time.Hour)
	b, srv := clockApp(t, dir, groundTruthConfig, clock)
	defer b.store.Close()
	status, list := request(t, http.MethodGet, srv.URL+"/api/v1/references", "", nil)
	require.Equal(t, http.StatusOK, status)
	refs := list["references"].([]any)
	require.Len(t, refs, 1)
	require.Equal(t, "upload", refs[0].(map[string]any)["source"])
	status, again := request(t, http.MethodGet, srv.URL+"/api/v1/models/churn/versions/stable/reference", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, exported, again, "the exported profile changed across the restart")

	stable := map[string]string{"model": "churn", "version": "stable"}
	require.InDelta(t, 10, mustMetric(t, b, "aiops_predictions_awaiting_label", stable), 0)
	labelsFor(t, srv.URL, "k", 0, 10, 10)
	require.InDelta(t, 10, mustMetric(t, b, "aiops_labels_total", map[string]string{"version": "stable", "result": "joined"}), 0)
	require.InDelta(t, 1, mustMetric(t, b, "aiops_model_accuracy", stable), 0)
}

// A bad reference file is refused whole, naming row and column; the old reference stays.
func TestReferenceUploadErrors(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), groundTruthConfig, clock)
	defer a.store.Close()
	url := srv.URL + "/api/v1/models/churn/versions/stable/reference"

	status, out := request(t, http.MethodPut, url, "text/csv", []byte("amount,country\n1,DE\n2,FR\nx,DE\n"))
	require.Equal(t, http.StatusBadRequest, status)
	require.EqualValues(t, 3, out["row"], "%v", out)
	require.Equal(t, "amount", out["column"])
	require.Contains(t, out["error"], "nothing changed")
	status, _ = request(t, http.MethodGet, url, "", nil)
	require.Equal(t, http.StatusNotFound, status, "nothing half-loaded")

	// Too few rows: loaded, with a warning, and the test reported as disabled.
	status, out = request(t, http.MethodPut, url, "application/x-ndjson", []byte(`{"features":{"amount":1}}
{"features":{"amount":2}}
{"features":{"amount":3}}
`))
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Len(t, out["warnings"], 1)
	require.Contains(t, out["warnings"].([]any)[0], `"amount"`)
	status, _ = request(t, http.MethodPost, srv.URL+"/api/v1/events", "", []byte(`{"model":"churn","version":"stable","features":{"amount":2}}`))
	require.Equal(t, http.StatusOK, status)
	require.InDelta(t, 1, mustMetric(t, a, "aiops_feature_drift_test_disabled",
		map[string]string{"version": "stable", "feature": "amount", "reason": "reference_too_small"}), 0)
	_, judged := metric(t, a, "aiops_feature_drifted", map[string]string{"version": "stable", "feature": "amount"})
	require.False(t, judged)

	// A saved profile with an unknown field is refused, and the loaded one stays.
	status, out = request(t, http.MethodPut, url, "application/json", []byte(`{"features":[],"extra":1}`))
	require.Equal(t, http.StatusBadRequest, status, "%v", out)
	status, _ = request(t, http.MethodGet, url, "", nil)
	require.Equal(t, http.StatusOK, status)
	status, _ = request(t, http.MethodPut, url, "image/png", []byte("x"))
	require.Equal(t, http.StatusUnsupportedMediaType, status)
}

// Binary CBPE for a boolean model: predictions of true with score 0.8 are right 60% of the
// time, predictions of false (score of true 0.2) 90%. Calibrated on 1000 labelled rows, the
// estimate for a new 50/50 mix is worked by hand: expected TP 0.6·50, FP 0.4·50, FN 0.1·50,
// TN 0.9·50.
func TestEstimatedBinaryPrecisionRecall(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), groundTruthConfig, clock)
	defer a.store.Close()
	post := func(prefix string, n int) {
		var b strings.Builder
		for i := range n {
			if i%2 == 0 {
				fmt.Fprintf(&b, `{"model":"fraud","id":"%s%d","prediction":true,"scores":{"true":0.8}}`+"\n", prefix, i)
			} else {
				fmt.Fprintf(&b, `{"model":"fraud","id":"%s%d","prediction":false,"scores":{"true":0.2}}`+"\n", prefix, i)
			}
		}
		status, out := request(t, http.MethodPost, srv.URL+"/api/v1/events", "application/x-ndjson", []byte(b.String()))
		require.Equal(t, http.StatusOK, status)
		require.EqualValues(t, n, out["accepted"], "%v", out)
	}
	post("c", 1000)
	var b strings.Builder
	for i := range 1000 {
		truth := (i/2)%10 < 6 // right for 60% of the true predictions
		if i%2 == 1 {
			truth = (i/2)%10 >= 9 // wrong for 10% of the false ones
		}
		fmt.Fprintf(&b, `{"model":"fraud","id":"c%d","label":%t}`+"\n", i, truth)
	}
	status, _ := request(t, http.MethodPost, srv.URL+"/api/v1/labels", "application/x-ndjson", []byte(b.String()))
	require.Equal(t, http.StatusOK, status)
	clock.Advance(25 * time.Hour)
	post("u", 100)
	fraud := map[string]string{"model": "fraud", "version": "default"}
	require.InDelta(t, 0.6, mustMetric(t, a, "aiops_model_estimated_precision", fraud), 1e-9)
	require.InDelta(t, 0.6/0.7, mustMetric(t, a, "aiops_model_estimated_recall", fraud), 1e-9)
	require.InDelta(t, 1.2/1.7, mustMetric(t, a, "aiops_model_estimated_f1", fraud), 1e-9)
	require.InDelta(t, 0.75, mustMetric(t, a, "aiops_model_estimated_accuracy", fraud), 1e-9)
}
