package ingest

import (
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/collector"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// FuzzDecodeEvents feeds arbitrary bodies to the decoder, as JSON and as NDJSON. Whatever the
// input: no panic, every rejection carries a reason from the closed set and a message, the
// response encodes as JSON, and the accepted count is what the state counted.
func FuzzDecodeEvents(f *testing.F) {
	for _, seed := range []string{
		`[{"model":"fraud","version":"v1","features":{"amount":10,"country":"US"}}]`,
		`{"model":"chat","tokens":{"input":10,"output":5,"cached":2},"latency_seconds":0.5,"cost":0.1}`,
		`{"model":"chat","outcome":{"task":"failed","escalated":true},"feedback":{"rating":3},"business":{"x":1}}`,
		"{\"model\":\"a\"}\n{\"model\":\n[1,2]\n",
		`[{"model":"fraud","features":{"amount":NaN}},{"model":"m","timestamp":"2026-11-29T12:00:00Z"}]`,
		`{"model":"m","features":{"__other__":1,"x":{"y":2}},"error":true,"queue_depth":-1}`,
		`[`, `nul`, `{"model":"m","latency_seconds":1e999}`, `{"model":"\u00e9\ud800"}`,
		`[{"model":"llm","embedding":[0.1,-2,3e5]},{"model":"llm","embedding":[1,null]},{"model":"llm","embedding":[]}]`,
		// Features checked under the version's lock after the other fields: repeated keys,
		// errors on both sides of them, texts and required features together.
		`{"model":"fraud","version":"v1","features":{"amount":-1},"features":{"amount":1},"latency_seconds":-1}`,
		`{"model":"fraud","version":"v1","reference_answer":"a b","output_text":"a","features":{"country":"US"}}`,
		`{"model":"chat","features":5,"features":{"x":1},"output_text":"x","reference_answer":"y"}`,
		"{\"model\":\"\xff\xfe\",\"error\":\"\xc3\",\"business\":{\"\xa0\":1},\"features\":{\"\xe2\x82\":1}}",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	cfg, err := config.Parse([]byte(schema))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		cfg.UnknownModels = config.PolicyLearn
		st := state.New(cfg, state.Options{Now: func() time.Time { return t0 }})
		in := New(st, slog.New(slog.DiscardHandler))
		res, err := in.Ingest(body, ndjson)
		if err != nil {
			if res.Accepted != 0 || len(res.Rejected) != 0 {
				t.Fatalf("body-level error %v but %d accepted, %d rejected", err, res.Accepted, len(res.Rejected))
			}
			return
		}
		for _, r := range res.Rejected {
			if !slices.Contains(Reasons, r.Reason) || r.Message == "" {
				t.Fatalf("rejection outside the closed set or without a message: %+v", r)
			}
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("response does not encode: %v", err)
		}
		var counted uint64
		for _, v := range st.Versions() {
			counted += v.Read(t0).Counters.Events
		}
		if counted != uint64(res.Accepted) {
			t.Fatalf("accepted %d but the state counted %d", res.Accepted, counted)
		}
		// Whatever was ingested can be scraped: label values are valid, nothing panics.
		reg := prometheus.NewRegistry()
		reg.MustRegister(collector.New(st))
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("scrape after ingest: %v", err)
		}
	})
}
