package gate_test

import (
	"context"
	"encoding/binary"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/opscentre/opscentre/rulegen/gate"
)

// FuzzCompareHistograms: any bucket counts (unsorted, decreasing, zero, huge) give a
// Mann-Whitney result inside its ranges.
func FuzzCompareHistograms(f *testing.F) {
	f.Add([]byte{1, 0, 5, 0, 9, 0, 2, 0, 7, 0, 8, 0})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{255, 255, 0, 1, 255, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c, b []gate.Bucket
		bounds := []float64{0.1, 0.5, 1, 2, math.Inf(1), 0.5}
		for i := 0; i+1 < len(data) && i < 64; i += 2 {
			cnt := float64(binary.LittleEndian.Uint16([]byte{data[i], data[i+1]}))
			bk := gate.Bucket{UpperBound: bounds[(i/2)%len(bounds)], Count: cnt}
			if (i/2)%2 == 0 {
				c = append(c, bk)
			} else {
				b = append(b, bk)
			}
		}
		r := gate.CompareHistograms(c, b)
		if r.NC == 0 || r.NB == 0 {
			return
		}
		for name, v := range map[string]float64{"theta": r.Theta, "p": r.P} {
			if math.IsNaN(v) || v < -1e-12 || v > 1+1e-12 {
				t.Fatalf("%s = %v out of [0,1] for %v vs %v", name, v, c, b)
			}
		}
		if math.IsNaN(r.Var) || r.Var < 0 || r.U > r.NC*r.NB+1e-6 {
			t.Fatalf("var %v, U %v for %v vs %v", r.Var, r.U, c, b)
		}
	})
}

// emptyProm answers every query with an empty vector: a Prometheus with no data, enough to
// drive the webhook parsing (the real Prometheus is used in gate_test.go).
type emptyProm struct{}

func (emptyProm) Query(context.Context, string, time.Time, ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	return model.Vector{}, nil, nil, nil
}

// FuzzFlaggerWebhook: any body gets a status the contract allows, never a 500 or a panic.
func FuzzFlaggerWebhook(f *testing.F) {
	f.Add(`{"name":"m","namespace":"ml","phase":"Progressing","metadata":{"model":"m","candidate":"v2","baseline":"v1"}}`)
	f.Add(`{"metadata":{"model":"m","candidate":"v2","baseline":"v1","since":"2026-12-07T18:00:00Z"}}`)
	f.Add(`{"metadata":{"model":"m","candidate":"v2","baseline":"v1","since":"1765130000"}}`)
	f.Add(`{"metadata":null}`)
	f.Add(`[]`)
	margin := 0.01
	h := (&gate.Server{Evaluator: &gate.Evaluator{API: emptyProm{}, Settings: gate.DefaultSettings()},
		Criteria: gate.Criteria{Window: time.Hour, AccuracyMargin: &margin}}).Handler()
	allowed := map[int]bool{200: true, 400: true, 412: true, 413: true, 425: true}
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/flagger/check", "/flagger/promote"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
			if !allowed[rec.Code] {
				t.Fatalf("%s: status %d for %q: %s", path, rec.Code, body, rec.Body)
			}
		}
	})
}

// FuzzParseSince: any text is a time or an error naming what was expected.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "2026-12-07T18:00:00Z", "1765130000", "1e300", "-5", "NaN", "2026-12-07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := gate.ParseSince(s); err != nil && !strings.Contains(err.Error(), "RFC 3339") {
			t.Fatalf("error does not say what is expected: %v", err)
		}
	})
}
