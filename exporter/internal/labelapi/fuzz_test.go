package labelapi

import (
	"slices"
	"testing"
	"time"

	"github.com/opscentre/opscentre/exporter/internal/ingest"
)

// FuzzDecodeLabels: whatever the body, decoding does not panic, and when the body as a whole
// is readable every label gets exactly one verdict: accepted (with a model, an id and a class
// or value) or rejected with a known reason and a message.
func FuzzDecodeLabels(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","id":"a","label":"yes"}`,
		`[{"model":"m","id":1,"value":2.5,"timestamp":1700000000},{"model":"m","id":"b","label":true,"prediction":false}]`,
		"{\"model\":\"m\",\"id\":\"a\",\"label\":\"x\"}\n\n{\"model\":\"m\"}\nnot json\n",
		`{"model":"m","id":"a","label":"x","value":1,"version":"v","timestamp":"2026-11-02T09:00:00Z"}`,
		`[1, null, "x", {"model":"\ud800","id":"a","label":"y"}]`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		items, rejected, err := Decode(body, ndjson, Limits{Now: now, MaxClockSkew: 5 * time.Minute})
		if err != nil {
			if len(items)+len(rejected) > 0 {
				t.Fatalf("error %v but verdicts returned", err)
			}
			return
		}
		seen := map[int]bool{}
		for _, it := range items {
			if seen[it.Index] {
				t.Fatalf("index %d twice", it.Index)
			}
			seen[it.Index] = true
			if it.Model == "" || it.Label.ID == "" || (it.Label.IsClass && it.Label.Class == "") {
				t.Fatalf("accepted an incomplete label: %+v", it)
			}
			if it.Label.Time.Sub(now) > 5*time.Minute {
				t.Fatalf("accepted a label from the future: %v", it.Label.Time)
			}
		}
		for _, r := range rejected {
			if seen[r.Index] {
				t.Fatalf("index %d twice", r.Index)
			}
			seen[r.Index] = true
			if !slices.Contains(ingest.Reasons, r.Reason) || r.Message == "" {
				t.Fatalf("rejection without a known reason or message: %+v", r)
			}
		}
		for i := range len(seen) {
			if !seen[i] {
				t.Fatalf("index %d has no verdict (of %d)", i, len(seen))
			}
		}
	})
}
