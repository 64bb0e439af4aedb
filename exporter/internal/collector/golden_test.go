package collector_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/collector"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// goldenDir holds the /metrics exposition and the state snapshot that pillarState produced at
// commit c91d286, before the state package was split by pillar. They were written by running
// this file's TestGoldenC91d286 on that commit with OPSCENTRE_WRITE_GOLDEN=1, and are never
// rewritten by the code under test.
const goldenDir = "testdata/c91d286"

var goldenT0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const goldenConfig = `
reference: {capture_first: 200}
limits: {max_label_values: 2}
drift: {multivariate: true}
models:
  fraud:
    features:
      amount: {type: numeric, expected_max: 800}
      country: {type: categorical}
      is_new: {type: boolean}
  chat:
    provider: openai
    price_per_million_tokens: {currency: USD, input: 3, output: 15, cached_input: 1}
`

// pillarState feeds every pillar through the real ingest and label paths: a classifier, a
// boolean and a regression model with labels (CBPE calibrated), an LLM chat model with
// tokens, text scores, business outcomes and embeddings, references captured from the first
// events (univariate, multivariate and embedding drift), and rejected events.
func pillarState(t *testing.T) *state.State {
	t.Helper()
	cfg, err := config.Parse([]byte(goldenConfig))
	require.NoError(t, err)
	st := state.New(cfg, state.Options{Now: func() time.Time { return goldenT0 }})
	in := ingest.New(st, slog.New(slog.DiscardHandler))
	send := func(lines ...string) {
		t.Helper()
		_, err := in.Ingest([]byte(strings.Join(lines, "\n")), true)
		require.NoError(t, err)
	}
	label := func(model, id string, l state.Label) {
		t.Helper()
		l.ID, l.Time = id, goldenT0
		_, _, err := st.ApplyLabel(model, "", &l)
		require.NoError(t, err)
	}
	countries := []string{"US", "DE", "FR", "GB"}
	// A label before its prediction: pending, then joined late.
	label("fraud", "f-early", state.Label{IsClass: true, Class: "legit"})
	for i := range 1500 {
		class, p := "legit", 0.55+float64(i%40)/100
		if i%5 == 0 {
			class = "fraud"
		}
		id := fmt.Sprintf("f-%d", i)
		if i == 1499 {
			id = "f-early"
		}
		send(fmt.Sprintf(`{"model":"fraud","version":"v1","id":%q,"latency_seconds":%g,"prediction":%q,"scores":{%q:%g},"features":{"amount":%d,"country":%q,"is_new":%t}}`,
			id, float64(i%50)/100, class, class, p, (i*37)%1000+i/10, countries[(i+i/300)%4], i%3 == 0))
		if i < 1200 {
			truth := class
			if i%7 == 0 {
				truth = "fraud"
			}
			label("fraud", id, state.Label{IsClass: true, Class: truth})
		}
	}
	for i := range 1200 {
		pred := i%3 != 0
		id := fmt.Sprintf("s-%d", i)
		send(fmt.Sprintf(`{"model":"spam","id":%q,"prediction":%t,"scores":{"score":%g}}`, id, pred, float64(i%100)/100))
		if i < 1100 {
			label("spam", id, state.Label{IsClass: true, Class: fmt.Sprint(i%4 != 0)})
		}
	}
	for i := range 300 {
		id := fmt.Sprintf("r-%d", i)
		send(fmt.Sprintf(`{"model":"reg","version":"v2","id":%q,"prediction":%g,"features":{"x":%d,"y":%g,"z":%g}}`, id, float64(i)/3, i%17, float64(i%17)*2+float64(i%3), float64(i%5)-float64(i%17)/4))
		label("reg", id, state.Label{Value: float64(i)/3 + float64(i%5-2)})
	}
	for i := range 400 {
		send(fmt.Sprintf(`{"model":"chat","version":"2025-01","latency_seconds":%g,"error":%s,"tokens":{"input":%d,"output":%d,"cached":%d},"outcome":{"task":%q,"escalated":%t},"feedback":{"rating":%d},"business":{"order":%d,"refund":1},"queue_depth":%d,"input_text_length":%d,"output_text":"the password is reset from the %s page","reference_answer":"reset the password on the account %s page","embedding":[%g,%g,%g,0.5],"containment":{"id":7,"action":"fallback"}}`,
			float64(i%90)/10, []string{`"timeout"`, "null", "null", `"rate_limited"`, "null", `"oops"`}[i%6], 100+i, 20+i%50, i%30, []string{"completed", "failed", "abandoned"}[i%3], i%11 == 0,
			1+i%5, i%4, i%6, 50+i, []string{"settings", "account", "login"}[i%3], []string{"settings", "profile"}[i%2],
			float64(i%10)/10, float64((i+3)%10)/10+float64(i/200), float64(i%7)/7))
	}
	send(`{"model":"chat","version":"2025-01","embedding":[1,2,3]}`, `{"model":"chat","latency_seconds":-1}`, `{"model":""}`, `not json`, `{"model":"fraud","version":"v1","features":{"amount":"x"}}`)
	return st
}

// exposition is the text exposition of the collector over st, without the scrape's own
// duration.
func exposition(t *testing.T, st *state.State) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collector.New(st))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var b bytes.Buffer
	for _, mf := range mfs {
		if mf.GetName() == "aiops_exporter_collect_duration_seconds" {
			continue
		}
		_, err := expfmt.MetricFamilyToText(&b, mf)
		require.NoError(t, err)
	}
	return b.String()
}

// The metrics of every pillar are what they were before the state package was split, both
// for events ingested now and for a state restored from the snapshot that release wrote.
func TestGoldenC91d286(t *testing.T) {
	st := pillarState(t)
	got := exposition(t, st)
	snap, err := st.Snapshot()
	require.NoError(t, err)
	if os.Getenv("OPSCENTRE_WRITE_GOLDEN") != "" {
		data, err := json.Marshal(snap)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(goldenDir, "metrics.txt"), []byte(got), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(goldenDir, "snapshot.json"), data, 0o644))
		return
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, "metrics.txt"))
	require.NoError(t, err)
	require.Equal(t, string(want), got)

	data, err := os.ReadFile(filepath.Join(goldenDir, "snapshot.json"))
	require.NoError(t, err)
	var old state.Snapshot
	require.NoError(t, json.Unmarshal(data, &old))
	cfg, err := config.Parse([]byte(goldenConfig))
	require.NoError(t, err)
	restored := state.New(cfg, state.Options{Now: func() time.Time { return goldenT0 }})
	require.NoError(t, restored.Restore(&old))
	require.Equal(t, string(want), exposition(t, restored))

	// What that release saved is saved again unchanged: each version's counters and window
	// have the same JSON form in both releases.
	again, err := restored.Snapshot()
	require.NoError(t, err)
	require.Len(t, again.Versions, len(old.Versions))
	for i, vs := range again.Versions {
		require.JSONEq(t, jsonOf(t, old.Versions[i].Counters), jsonOf(t, vs.Counters), "%s/%s", vs.Model, vs.Version)
		require.JSONEq(t, string(old.Versions[i].Window), string(vs.Window), "%s/%s", vs.Model, vs.Version)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}
