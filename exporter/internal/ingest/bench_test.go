package ingest

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// benchBatch is an NDJSON batch of n events, each with 20 features (15 numeric, 5
// categorical), latency, an id and a prediction: the shape the performance target names.
func benchBatch(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"model":"fraud-%d","version":"v3","id":"req-%08d","latency_seconds":%.4f,"prediction":"legit","features":{`, i%4, i, float64(i%97)/1000)
		for f := range 15 {
			if f > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"num_%02d":%.3f`, f, float64((i*31+f*17)%1000)/7)
		}
		for f := range 5 {
			fmt.Fprintf(&b, `,"cat_%d":"v%d"`, f, (i+f)%8)
		}
		b.WriteString("}}\n")
	}
	return b.Bytes()
}

func benchState() *state.State {
	return state.New(config.Default(), state.Options{Now: func() time.Time { return t0 }})
}

// readAll reads every value of a parsed document into Go values, without allocating: what
// decoding means beyond fastjson's lazy parse, which leaves numbers as text and strings
// escaped until asked.
func readAll(v *fastjson.Value) (sum float64, n int) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(k []byte, v *fastjson.Value) {
			s, m := readAll(v)
			sum, n = sum+s, n+m+len(k)
		})
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, e := range a {
			s, m := readAll(e)
			sum, n = sum+s, n+m
		}
	case fastjson.TypeNumber:
		f, _ := v.Float64()
		sum += f
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		n += len(s)
	}
	return sum, n
}

// BenchmarkIngestVsDecode measures, in the same loop over the same batch: fastjson merely
// parsing it (lazy: numbers stay text), fastjson parsing it and reading every value into Go
// values (a complete decode), and the full ingest (parse, validate, apply to state). It
// reports each per event and the ingest's ratio to both ("x-parse", "x-decode").
func BenchmarkIngestVsDecode(b *testing.B) {
	const n = 1000
	body := benchBatch(n)
	in := New(benchState(), slog.New(slog.DiscardHandler))
	var p fastjson.Parser
	var sink float64
	decode := func(read bool) func() {
		return func() {
			rest := body
			for len(rest) > 0 {
				i := bytes.IndexByte(rest, '\n')
				v, err := p.ParseBytes(rest[:i])
				if err != nil {
					b.Fatal(err)
				}
				if read {
					s, _ := readAll(v)
					sink += s
				}
				rest = rest[i+1:]
			}
		}
	}
	parseOnly, decodeOnly := decode(false), decode(true)
	ingest := func() {
		res, err := in.Ingest(body, true)
		if err != nil || res.Accepted != n {
			b.Fatalf("accepted %d of %d: %v %+v", res.Accepted, n, err, res.Rejected)
		}
	}
	parseOnly()
	decodeOnly()
	ingest()
	var tParse, tDecode, tIngest time.Duration
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		parseOnly()
		t1 := time.Now()
		decodeOnly()
		t2 := time.Now()
		ingest()
		t3 := time.Now()
		tParse += t1.Sub(t0)
		tDecode += t2.Sub(t1)
		tIngest += t3.Sub(t2)
	}
	events := float64(b.N) * n
	b.ReportMetric(float64(tParse.Nanoseconds())/events, "ns-parse/event")
	b.ReportMetric(float64(tDecode.Nanoseconds())/events, "ns-decode/event")
	b.ReportMetric(float64(tIngest.Nanoseconds())/events, "ns-ingest/event")
	b.ReportMetric(float64(tIngest)/float64(tParse), "x-parse")
	b.ReportMetric(float64(tIngest)/float64(tDecode), "x-decode")
	b.ReportMetric(events/tIngest.Seconds(), "ingest-events/s")
	_ = sink
}

// BenchmarkIngestHTTP posts 1000-event NDJSON batches through a real HTTP server and client
// on loopback (one request at a time, so it measures about one core of server work plus
// the client).
func BenchmarkIngestHTTP(b *testing.B) {
	const n = 1000
	body := benchBatch(n)
	srv := httptest.NewServer(New(benchState(), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	client := srv.Client()
	post := func() {
		resp, err := client.Post(srv.URL, "application/x-ndjson", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	post()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		post()
	}
	b.ReportMetric(float64(b.N)*n/time.Since(start).Seconds(), "events/s")
}
