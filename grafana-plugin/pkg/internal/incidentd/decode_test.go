package incidentd

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fastjson"
)

// randomPage builds a page as incidentd's encoder writes it (omitzero times, optional MTTA).
func randomPage(r *rand.Rand, n int) []byte {
	type wire struct {
		Incident
		TriagedAt   *time.Time `json:"triaged_at,omitempty"`
		ContainedAt *time.Time `json:"contained_at,omitempty"`
		ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
		ReviewedAt  *time.Time `json:"reviewed_at,omitempty"`
		MTTASeconds float64    `json:"mtta_seconds,omitempty"`
		MTTRSeconds float64    `json:"mttr_seconds,omitempty"`
	}
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	page := struct {
		Incidents  []wire `json:"incidents"`
		NextCursor string `json:"next_cursor,omitempty"`
	}{NextCursor: fmt.Sprintf("c%d", r.IntN(1000))}
	for i := range n {
		det := base.Add(time.Duration(r.Int64N(int64(180 * 24 * time.Hour)))).Add(time.Duration(r.IntN(1e9)))
		w := wire{Incident: Incident{ID: int64(i + 1), GroupKey: fmt.Sprintf(`{}:{alertname="A%d"}`, i), Title: fmt.Sprintf("drift \"%d\" é\n", i),
			Tier: []Tier{"P1", "P2", "P3", "P4", ""}[r.IntN(5)], Team: fmt.Sprint("t", r.IntN(4)), Model: fmt.Sprint("m", r.IntN(9)),
			State: "investigating", DetectedAt: det, AlertsFiring: r.IntN(3), AlertsTotal: r.IntN(9), SLABreached: r.IntN(2) == 0}}
		if r.IntN(2) == 0 {
			w.Labels = map[string]string{"alertname": "A", "runbook_url": "https://x/y?z=1&q=<2>"}
		}
		if r.IntN(2) == 0 {
			t := det.Add(time.Duration(r.IntN(3600)) * time.Second)
			w.TriagedAt = &t
			w.MTTASeconds = t.Sub(det).Seconds()
		}
		if r.IntN(2) == 0 {
			t := det.Add(2 * time.Hour)
			w.ResolvedAt = &t
			w.MTTRSeconds = 7200.5
		}
		page.Incidents = append(page.Incidents, w)
	}
	b, err := json.Marshal(page)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodePageMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var p fastjson.Parser
	for _, n := range []int{0, 1, 7, 500} {
		data := randomPage(r, n)
		var want Page
		require.NoError(t, json.Unmarshal(data, &want))
		got, err := decodePage(&p, data)
		require.NoError(t, err)
		if want.Incidents == nil {
			want.Incidents = []Incident{}
		}
		require.Equal(t, want, *got, "n=%d", n)
	}
}

func TestDecodePageErrors(t *testing.T) {
	var p fastjson.Parser
	for in, want := range map[string]string{
		`[]`:                                      "page: expected a JSON object",
		`{"incidents":{}}`:                        "incidents: expected an array",
		`{"incidents":[{"id":"7"}]}`:              "incidents[0].id: expected an integer",
		`{"incidents":[{"id":1},{"title":3}]}`:    "incidents[1].title: expected a string",
		`{"incidents":[{"detected_at":"today"}]}`: `incidents[0].detected_at: expected an RFC 3339 time, got "today"`,
		`{"incidents":[{"labels":{"a":1}}]}`:      "incidents[0].labels.a: expected a string",
		`{"incidents":[{"sla_breached":"yes"}]}`:  "incidents[0].sla_breached: expected true or false",
		`{"incidents":[{"mtta_seconds":"1"}]}`:    "incidents[0].mtta_seconds: expected a number",
		`{"incidents":[1]}`:                       "incidents[0].incident: expected an object",
		`{"next_cursor":5}`:                       "next_cursor: expected a string",
		`{"incidents":[{"id":1}]`:                 "cannot parse",
	} {
		_, err := decodePage(&p, []byte(in))
		require.ErrorContains(t, err, want, in)
	}
}

// FuzzDecodePage: never panics, and whatever it accepts survives a round trip through
// encoding/json unchanged.
func FuzzDecodePage(f *testing.F) {
	f.Add(randomPage(rand.New(rand.NewPCG(3, 4)), 3))
	f.Add([]byte(`{"incidents":null,"next_cursor":null}`))
	f.Add([]byte(`{"incidents":[{"labels":null,"detected_at":null,"id":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p fastjson.Parser
		got, err := decodePage(&p, data)
		if err != nil {
			return
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("accepted page does not encode: %v", err)
		}
		var back Page
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("accepted page does not decode: %v", err)
		}
		again, err := decodePage(&p, b)
		if err != nil {
			t.Fatalf("re-encoded page rejected: %v", err)
		}
		require.Equal(t, len(got.Incidents), len(again.Incidents))
	})
}

// BenchmarkDecodePage compares, side by side, encoding/json and the fastjson decoder on a
// full page of 500 incidents.
func BenchmarkDecodePage(b *testing.B) {
	data := randomPage(rand.New(rand.NewPCG(5, 6)), PageLimit)
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var p Page
			if err := json.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		var p fastjson.Parser
		for b.Loop() {
			if _, err := decodePage(&p, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
