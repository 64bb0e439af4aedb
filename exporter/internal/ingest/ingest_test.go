package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const schema = `
unknown_models: reject
limits: {max_body_bytes: 64KiB, max_categories_per_feature: 10, max_text_tokens: 12}
models:
  fraud:
    unknown_features: reject
    features:
      amount: {type: numeric, required: true, min: 0, max: 1000, expected_max: 500}
      country: {type: categorical, allowed: [US, DE]}
      is_new: {type: boolean}
      note: {type: text, max_length: 5}
    versions: {v1: {}, v2: {}}
  chat:
    provider: openai
    unknown_features: learn
    price_per_million_tokens: {currency: USD, input: 3, output: 15, cached_input: 1}
`

type fixture struct {
	st  *state.State
	srv *httptest.Server
}

func newFixture(t *testing.T, cfgText string) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgText))
	require.NoError(t, err)
	st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
	srv := httptest.NewServer(New(st, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return &fixture{st: st, srv: srv}
}

type response struct {
	status int
	Result
}

func (f *fixture) post(t *testing.T, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var r response
	require.NoError(t, json.Unmarshal(data, &r.Result), string(data))
	r.status = resp.StatusCode
	return r
}

func (f *fixture) rejected(reason string) uint64 {
	var n uint64
	for k, c := range f.st.Rejected() {
		if k.Reason == reason {
			n += c
		}
	}
	return n
}

func (f *fixture) read(t *testing.T, model, version string) state.Reading {
	t.Helper()
	for _, v := range f.st.Versions() {
		if v.Model() == model && v.Name == version {
			return v.Read(t0)
		}
	}
	t.Fatalf("no state for %s/%s", model, version)
	return state.Reading{}
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestAcceptsArrayObjectAndNDJSON(t *testing.T) {
	f := newFixture(t, schema)
	ev := `{"model":"fraud","version":"v1","features":{"amount":10,"country":"US"}}`
	r := f.post(t, []byte("["+ev+","+ev+"]"), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, 2, r.Accepted)
	require.Empty(t, r.Rejected)

	r = f.post(t, []byte(ev), map[string]string{"Content-Type": "application/json"})
	require.Equal(t, 1, r.Accepted)

	nd := []byte(ev + "\n\n" + ev + "\r\n" + ev)
	r = f.post(t, nd, map[string]string{"Content-Type": "application/x-ndjson"})
	require.Equal(t, 3, r.Accepted)

	// Without the NDJSON content type, newline-separated objects are still read line by line.
	r = f.post(t, nd, nil)
	require.Equal(t, 3, r.Accepted)

	r = f.post(t, gz(t, nd), map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
	require.Equal(t, 3, r.Accepted)
	r = f.post(t, gz(t, nd), map[string]string{"Content-Type": "application/x-ndjson; charset=utf-8", "Content-Encoding": "GZIP"})
	require.Equal(t, 3, r.Accepted)

	got := f.read(t, "fraud", "v1")
	require.Equal(t, uint64(2+1+3+3+3+3), got.Counters.Events)
	require.Equal(t, uint64(2+1+3+3+3+3), got.WindowEvents)
}

// Each bad event is rejected with its index, field and reason; the good ones around it
// are kept.
func TestRejectsBadEvents(t *testing.T) {
	for _, tc := range []struct {
		name, event, field, reason string
	}{
		{"not an object", `[1]`, "", ReasonInvalidJSON},
		{"missing model", `{"features":{"amount":1}}`, "model", ReasonMissingModel},
		{"empty model", `{"model":""}`, "model", ReasonMissingModel},
		{"model not string", `{"model":7}`, "model", ReasonTypeMismatch},
		{"unknown model", `{"model":"other"}`, "model", ReasonUnknownModel},
		{"unknown version", `{"model":"fraud","version":"v9","features":{"amount":1}}`, "version", ReasonUnknownVersion},
		{"unknown feature", `{"model":"fraud","version":"v1","features":{"amount":1,"zip":"x"}}`, "features.zip", ReasonUnknownFeature},
		{"unknown field", `{"model":"fraud","version":"v1","features":{"amount":1},"latency":1}`, "latency", ReasonUnknownField},
		{"numeric as string", `{"model":"fraud","version":"v1","features":{"amount":"12"}}`, "features.amount", ReasonTypeMismatch},
		{"category as number", `{"model":"fraud","version":"v1","features":{"amount":1,"country":3}}`, "features.country", ReasonTypeMismatch},
		{"bool as string", `{"model":"fraud","version":"v1","features":{"amount":1,"is_new":"yes"}}`, "features.is_new", ReasonTypeMismatch},
		{"nested feature", `{"model":"chat","features":{"x":{"a":1}}}`, "features.x", ReasonTypeMismatch},
		{"missing required", `{"model":"fraud","version":"v1","features":{"country":"US"}}`, "features.amount", ReasonMissingRequired},
		{"null required", `{"model":"fraud","version":"v1","features":{"amount":null}}`, "features.amount", ReasonMissingRequired},
		{"above max", `{"model":"fraud","version":"v1","features":{"amount":1000.5}}`, "features.amount", ReasonOutOfRange},
		{"below min", `{"model":"fraud","version":"v1","features":{"amount":-1}}`, "features.amount", ReasonOutOfRange},
		{"text too long", `{"model":"fraud","version":"v1","features":{"amount":1,"note":"123456"}}`, "features.note", ReasonOutOfRange},
		{"unknown category", `{"model":"fraud","version":"v1","features":{"amount":1,"country":"FR"}}`, "features.country", ReasonUnknownCategory},
		{"NaN feature", `{"model":"fraud","version":"v1","features":{"amount":NaN}}`, "features.amount", ReasonNonFinite},
		{"Inf feature", `{"model":"chat","features":{"x":-Inf}}`, "features.x", ReasonNonFinite},
		{"overflow to Inf", `{"model":"chat","latency_seconds":1e999}`, "latency_seconds", ReasonNonFinite},
		{"NaN latency", `{"model":"chat","latency_seconds":nan}`, "latency_seconds", ReasonNonFinite},
		{"negative latency", `{"model":"chat","latency_seconds":-0.1}`, "latency_seconds", ReasonNegativeValue},
		{"negative tokens", `{"model":"chat","tokens":{"input":-5}}`, "tokens.input", ReasonNegativeValue},
		{"fractional tokens", `{"model":"chat","tokens":{"output":1.5}}`, "tokens.output", ReasonTypeMismatch},
		{"cached above input", `{"model":"chat","tokens":{"input":1,"cached":2}}`, "tokens.cached", ReasonInvalidValue},
		{"unknown token type", `{"model":"chat","tokens":{"reasoning":2}}`, "tokens.reasoning", ReasonInvalidValue},
		{"negative cost", `{"model":"chat","cost":-1}`, "cost", ReasonNegativeValue},
		{"bad number", `{"model":"chat","cost":1.2.3}`, "cost", ReasonTypeMismatch},
		{"future timestamp", `{"model":"chat","timestamp":"2026-11-29T13:00:00Z"}`, "timestamp", ReasonTimestampOutOfRange},
		{"past timestamp", `{"model":"chat","timestamp":"2026-11-28T12:00:00Z"}`, "timestamp", ReasonTimestampOutOfRange},
		{"far future unix", fmt.Sprintf(`{"model":"chat","timestamp":%d}`, t0.Unix()+86400*365), "timestamp", ReasonTimestampOutOfRange},
		{"milliseconds", fmt.Sprintf(`{"model":"chat","timestamp":%d}`, t0.UnixMilli()), "timestamp", ReasonTimestampOutOfRange},
		{"bad timestamp", `{"model":"chat","timestamp":"yesterday"}`, "timestamp", ReasonTypeMismatch},
		{"bad outcome", `{"model":"chat","outcome":{"task":"done"}}`, "outcome.task", ReasonInvalidValue},
		{"bad rating", `{"model":"chat","feedback":{"rating":7}}`, "feedback.rating", ReasonInvalidValue},
		{"containment not an object", `{"model":"chat","containment":"fallback"}`, "containment", ReasonTypeMismatch},
		{"containment unknown action", `{"model":"chat","containment":{"id":3,"action":"reroute"}}`, "containment.action", ReasonInvalidValue},
		{"containment bad id", `{"model":"chat","containment":{"id":-3,"action":"fallback"}}`, "containment.id", ReasonInvalidValue},
		{"containment without id", `{"model":"chat","containment":{"action":"fallback"}}`, "containment", ReasonMissingRequired},
		{"containment without action", `{"model":"chat","containment":{"id":3}}`, "containment", ReasonMissingRequired},
		{"containment unknown field", `{"model":"chat","containment":{"id":3,"action":"disable","by":"x"}}`, "containment.by", ReasonUnknownField},
		{"bad rating word", `{"model":"chat","feedback":{"rating":"meh"}}`, "feedback.rating", ReasonInvalidValue},
		{"negative business", `{"model":"chat","business":{"refund":-3}}`, "business.refund", ReasonNegativeValue},
		{"error object", `{"model":"chat","error":{"code":1}}`, "error", ReasonTypeMismatch},
		{"long name", `{"model":"` + strings.Repeat("m", 300) + `"}`, "model", ReasonInvalidValue},
		{"model not UTF-8", "{\"model\":\"m\xff\"}", "model", ReasonInvalidValue},
		{"error not UTF-8", "{\"model\":\"chat\",\"error\":\"\xc3\"}", "error", ReasonInvalidValue},
		{"business not UTF-8", "{\"model\":\"chat\",\"business\":{\"\xa0\":1}}", "business", ReasonInvalidValue},
		{"feature name not UTF-8", "{\"model\":\"chat\",\"features\":{\"\xe2\x82\":1}}", "features", ReasonInvalidValue},
		{"category not UTF-8", "{\"model\":\"chat\",\"features\":{\"c\":\"\xff\"}}", "features.c", ReasonInvalidValue},
		{"output not a string", `{"model":"chat","output_text":["a"],"reference_answer":"a"}`, "output_text", ReasonTypeMismatch},
		{"reference not a string", `{"model":"chat","output_text":"a","reference_answer":1}`, "reference_answer", ReasonTypeMismatch},
		{"reference without output", `{"model":"chat","reference_answer":"Paris"}`, "output_text", ReasonMissingRequired},
		{"output not UTF-8", "{\"model\":\"chat\",\"output_text\":\"\xff\",\"reference_answer\":\"a\"}", "output_text", ReasonInvalidValue},
		{"output too long", `{"model":"chat","output_text":"` + strings.Repeat("word ", 13) + `","reference_answer":"a"}`, "output_text", ReasonOutOfRange},
		{"reference too long", `{"model":"chat","output_text":"a","reference_answer":"` + strings.Repeat("word ", 13) + `"}`, "reference_answer", ReasonOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, schema)
			good := `{"model":"chat"}`
			body := "[" + good + "," + strings.TrimSuffix(strings.TrimPrefix(tc.event, "["), "]") + "," + good + "]"
			r := f.post(t, []byte(body), nil)
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, 2, r.Accepted, "%+v", r.Rejected)
			require.Len(t, r.Rejected, 1)
			rej := r.Rejected[0]
			require.Equal(t, 1, rej.Index)
			require.Equal(t, tc.field, rej.Field)
			require.Equal(t, tc.reason, rej.Reason)
			require.NotEmpty(t, rej.Message)
			require.Equal(t, uint64(1), f.rejected(tc.reason))
			require.Equal(t, uint64(2), f.read(t, "chat", state.DefaultVersion).Counters.Events)
		})
	}
}

func TestMalformedJSONBody(t *testing.T) {
	f := newFixture(t, schema)
	r := f.post(t, []byte(`[{"model":"chat"},`), nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.Error, "body is not valid JSON")
	require.Equal(t, uint64(1), f.rejected(ReasonInvalidJSON))

	// In NDJSON a malformed line is one rejected event.
	r = f.post(t, []byte("{\"model\":\"chat\"}\n{\"model\":\n{\"model\":\"chat\"}\n"), map[string]string{"Content-Type": "application/x-ndjson"})
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, 2, r.Accepted)
	require.Equal(t, []Rejection{{Index: 1, Reason: ReasonInvalidJSON, Message: r.Rejected[0].Message}}, r.Rejected)
	require.Contains(t, r.Rejected[0].Message, "line is not valid JSON")

	r = f.post(t, []byte(`"just a string"`), nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.Error, "got a JSON string")
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, schema)
	big := bytes.Repeat([]byte(`{"model":"chat"}`+"\n"), 64<<10/17+10)
	r := f.post(t, big, map[string]string{"Content-Type": "application/x-ndjson"})
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Contains(t, r.Error, "limits.max_body_bytes (65536 bytes decoded)")
	// The limit applies to the decoded size of a gzip body too (gzip bombs).
	r = f.post(t, gz(t, big), map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Empty(t, f.st.Versions(), "nothing of an oversized body is ingested")
}

func TestTruncatedGzip(t *testing.T) {
	f := newFixture(t, schema)
	var lines []string
	for i := range 800 {
		lines = append(lines, fmt.Sprintf(`{"model":"chat","id":"req-%d","tokens":{"input":%d,"output":5}}`, i*7919%10007, i))
	}
	full := gz(t, []byte(strings.Join(lines, "\n")+"\n"))
	cut := full[:len(full)*2/3]
	r := f.post(t, cut, map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.Error, "gzip stream broken")
	// Whatever complete lines came out before the break were kept; the server is still up.
	kept := r.Accepted
	require.Positive(t, kept)
	require.Less(t, kept, 800)
	require.Empty(t, r.Rejected)
	require.Contains(t, r.Error, "complete lines before the break were processed")
	got := f.read(t, "chat", state.DefaultVersion).Counters
	require.Equal(t, uint64(kept), got.Events)
	// The kept events are exactly the first ones: input tokens 0..kept-1.
	require.Equal(t, uint64(kept*(kept-1)/2), got.Tokens[0])

	// A truncated JSON array cannot be split: the request fails with a clear error.
	arr := gz(t, []byte("["+strings.Join(lines, ",")+"]"))
	r = f.post(t, arr[:len(arr)/2], map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.Error, "gzip stream broken")

	r = f.post(t, []byte("not gzip at all"), map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.Error, "body is not gzip")

	r = f.post(t, []byte(`{"model":"chat"}`), nil)
	require.Equal(t, 1, r.Accepted)
}

func TestUnsupportedRequests(t *testing.T) {
	f := newFixture(t, schema)
	r := f.post(t, []byte(`{}`), map[string]string{"Content-Type": "application/xml"})
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)
	r = f.post(t, []byte(`{}`), map[string]string{"Content-Encoding": "br"})
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)
	resp, err := http.Get(f.srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// Distinct values for every open label, far past their limits: all events are accepted,
// the labels stay bounded and the folded counter says how many were folded.
func TestManyDistinctLabelValues(t *testing.T) {
	f := newFixture(t, "limits: {max_models: 10, max_label_values: 20, max_categories_per_feature: 30}\n")
	const n = 20_000
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"model":"m-%d","error":"err-%d","business":{"b-%d":1},"features":{"city":"c-%d"}}`+"\n", i, i, i, i)
	}
	r := f.post(t, b.Bytes(), map[string]string{"Content-Type": "application/x-ndjson"})
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, n, r.Accepted)
	versions := f.st.Versions()
	require.Len(t, versions, 11) // 10 models and __other__
	other := f.read(t, state.Other, state.DefaultVersion)
	require.Equal(t, uint64(n-10), other.Counters.Events)
	require.LessOrEqual(t, len(other.Counters.Errors), 21)
	require.LessOrEqual(t, len(other.Counters.Business), 21)
	folded := f.st.Folded()
	require.Equal(t, uint64(n-10), folded[state.LabelModel])
	require.Equal(t, uint64(n-20), folded[state.LabelType])
	require.Equal(t, uint64(n-20), folded[state.LabelName])
	// Every model's city feature learnt its first category; __other__ remembered 30.
	require.Equal(t, uint64(n-10-30), folded[state.LabelBin])

	// Repeated overflow names count every event, in every request.
	for range 3 {
		r = f.post(t, []byte(`[{"model":"m-19999"},{"model":"m-19999"}]`), nil)
		require.Equal(t, 2, r.Accepted)
	}
	require.Equal(t, uint64(n-10+6), f.st.Folded()[state.LabelModel])
}

// A learnt feature first seen as null takes the type of its first value.
func TestFeatureLearntWhileNull(t *testing.T) {
	f := newFixture(t, "")
	r := f.post(t, []byte(`[{"model":"m","features":{"x":null}},{"model":"m","features":{"x":3}},{"model":"m","features":{"x":"a"}}]`), nil)
	require.Equal(t, 2, r.Accepted)
	require.Equal(t, []Rejection{{Index: 2, Field: "features.x", Reason: ReasonTypeMismatch, Message: r.Rejected[0].Message}}, r.Rejected)
	got := f.read(t, "m", state.DefaultVersion)
	require.Equal(t, []state.FeatureReading{{Name: "x", Numeric: true, Present: 1}}, got.Features)
	require.Equal(t, uint64(2), got.WindowEvents)
}

// TestTextQualityScored checks that an answer with a reference answer lands in the ROUGE-L and
// BLEU histograms and the corpus counters, with values worked out by hand (ROUGE-L) and by
// NLTK's BLEU with smoothing method2 (testdata/bleu-vectors.json of package textquality).
func TestTextQualityScored(t *testing.T) {
	f := newFixture(t, schema)
	body := `{"model":"chat","output_text":"You can reset your password from the account settings page.","reference_answer":"To reset your password, open the account settings page and choose Reset."}
{"model":"chat","output_text":"Paris","reference_answer":"Paris"}
{"model":"chat","output_text":"no reference, so not scored"}
`
	r := f.post(t, []byte(body), nil)
	require.Equal(t, 3, r.Accepted, "%+v", r.Rejected)
	tq := f.read(t, "chat", state.DefaultVersion).Counters.Text

	// LCS "reset your password the account settings page" = 7 of 10 and 12 words:
	// P 0.7, R 7/12, F1 = 2PR/(P+R) = 0.636…; the identical answer scores 1.
	f1 := 2 * 0.7 * (7.0 / 12) / (0.7 + 7.0/12)
	require.Equal(t, uint64(2), tq.RougeL.Count)
	require.InDelta(t, f1+1, tq.RougeL.Sum, 1e-12)
	require.Equal(t, []uint64{0, 0, 0, 0, 0, 0, 1, 0, 0, 1}, tq.RougeL.Counts[:len(state.TextScoreBounds)])

	// NLTK sentence_bleu(..., smoothing_function=method2): 0.3805334152345362; "Paris" vs
	// "Paris" has no 2..4-grams, so each of those orders scores (0+1)/(1+1) = 1/2: 0.5^(3/4).
	require.Equal(t, uint64(2), tq.BLEU.Count)
	require.InDelta(t, 0.3805334152345362+math.Pow(0.5, 0.75), tq.BLEU.Sum, 1e-12)

	// Corpus counts: unigram matches 7 + 1 of 10 + 1 words; bigrams "reset your", "your
	// password", "the account", "account settings", "settings page" (5 of 9); trigrams "reset
	// your password", "the account settings", "account settings page" (3 of 8); 4-grams "the
	// account settings page" (1 of 7).
	require.Equal(t, [4]float64{8, 5, 3, 1}, tq.Corpus.Matches)
	require.Equal(t, [4]float64{11, 9, 8, 7}, tq.Corpus.Totals)
	require.Equal(t, 11.0, tq.Corpus.CandLen)
	require.Equal(t, 13.0, tq.Corpus.RefLen)
}

// TestContainedEventsCounted: events carrying the containment they were produced under
// are counted by action, on the version that served them.
func TestContainedEventsCounted(t *testing.T) {
	f := newFixture(t, schema)
	r := f.post(t, []byte(`[{"model":"chat","containment":{"id":4,"action":"fallback"}},{"model":"chat","containment":{"id":4,"action":"fallback"}},
		{"model":"chat","containment":{"id":9,"action":"block_inputs"}},{"model":"chat"},{"model":"chat","containment":null}]`), nil)
	require.Equal(t, 5, r.Accepted, "%+v", r.Rejected)
	k := f.read(t, "chat", state.DefaultVersion).Counters
	require.Equal(t, [3]uint64{2, 0, 1}, k.Contained)
	require.Equal(t, uint64(5), k.Events)
}
