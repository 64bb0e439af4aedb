package client

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
)

// BenchmarkWatcherDecide is the cost Decide adds to each request: with no containment of
// the model (the floor: every request pays it) and with ten active on the model (a block
// checked against the features, a fallback taken).
func BenchmarkWatcherDecide(b *testing.B) {
	features := map[string]any{"amount": 129.5, "country": "DE", "input_class": "form"}
	for _, n := range []int{0, 10} {
		b.Run(fmt.Sprintf("active=%d", n), func(b *testing.B) {
			f := &fakeIncidentd{token: "app"}
			var cs []containment.Containment
			for i := range n {
				c := containment.Containment{ID: int64(i + 1), Model: "fraud", Action: containment.BlockInputs, Reason: "r",
					Match: &containment.Match{Feature: "country", Value: fmt.Sprintf("X%d", i)}}
				if i == n-1 {
					c = containment.Containment{ID: int64(i + 1), Model: "fraud", Version: "v2", Action: containment.Fallback, FallbackVersion: "v1", Reason: "r"}
				}
				cs = append(cs, c)
			}
			f.set(cs...)
			srv := httptest.NewServer(f)
			defer srv.Close()
			w, err := NewWatcher(WatcherOptions{URL: srv.URL, Token: "app", Models: []string{"fraud"}, Refresh: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			if err := refreshB(w); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if d := w.Decide("fraud", "v2", features); (n == 0) != (d.Action == Serve) {
						b.Fatalf("decision %+v", d)
					}
				}
			})
		})
	}
}
