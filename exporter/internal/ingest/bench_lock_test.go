package ingest

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// longAnswerBatch is an NDJSON batch of n events of one model version; every tenth carries an
// output_text and a reference_answer of words words each (ROUGE-L fills a words×words
// table), the others latency and 20 features.
func longAnswerBatch(n, words int) []byte {
	vocab := strings.Fields("the password is reset from account settings page open choose reset link mail sent to your address within minutes")
	text := func(seed int) string {
		w := make([]string, words)
		for i := range w {
			w[i] = vocab[(i*7+seed*3+i*i)%len(vocab)]
		}
		return strings.Join(w, " ")
	}
	var b bytes.Buffer
	for i := range n {
		if i%10 == 0 {
			fmt.Fprintf(&b, `{"model":"chat","version":"v1","latency_seconds":1.5,"output_text":%q,"reference_answer":%q}`+"\n", text(i), text(i+1))
			continue
		}
		fmt.Fprintf(&b, `{"model":"chat","version":"v1","latency_seconds":%.4f,"features":{`, float64(i%97)/1000)
		for f := range 20 {
			if f > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"num_%02d":%.3f`, f, float64((i*31+f*17)%1000)/7)
		}
		b.WriteString("}}\n")
	}
	return b.Bytes()
}

// BenchmarkIngestOneVersionLongAnswers ingests batches into one model version from
// concurrent goroutines (one per -cpu), one event in ten with a 500-word answer and
// reference: how well the ingest of a single version scales when some events are slow to
// score. Compare runs at -cpu 1 and -cpu 2, or two builds at the same -cpu.
func BenchmarkIngestOneVersionLongAnswers(b *testing.B) {
	const n = 100
	body := longAnswerBatch(n, 500)
	in := New(benchState(), slog.New(slog.DiscardHandler))
	if res, err := in.Ingest(body, true); err != nil || res.Accepted != n {
		b.Fatalf("accepted %d of %d: %v %+v", res.Accepted, n, err, res.Rejected)
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := in.Ingest(body, true); err != nil || res.Accepted != n {
				b.Errorf("accepted %d of %d: %v", res.Accepted, n, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)*n/time.Since(start).Seconds(), "events/s")
}

// BenchmarkIngestShortBesideLongAnswers measures the ingest of one short event (latency and
// 20 features) of a model version while another goroutine keeps ingesting events of the
// same version that carry 500-word answers and references: ns/op is how long a short event
// takes beside the long ones, p99-ns and max-ns its tail, which is where waiting behind a
// long answer shows. Only the version's lock ties the two goroutines together.
func BenchmarkIngestShortBesideLongAnswers(b *testing.B) {
	long := longAnswerBatch(1, 500)
	short := longAnswerBatch(2, 500)
	short = short[bytes.IndexByte(short, '\n')+1:]
	in := New(benchState(), slog.New(slog.DiscardHandler))
	for _, body := range [][]byte{long, short} {
		if res, err := in.Ingest(body, true); err != nil || res.Accepted != 1 {
			b.Fatalf("accepted %d of 1: %v %+v", res.Accepted, err, res.Rejected)
		}
	}
	stop, stopped := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				stopped <- n
				return
			default:
			}
			if res, err := in.Ingest(long, true); err != nil || res.Accepted != 1 {
				b.Errorf("long answer: accepted %d of 1: %v", res.Accepted, err)
			}
			n++
		}
	}()
	took := make([]time.Duration, 0, 1<<16) // the first 65536 are enough for the tail
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		t := time.Now()
		if res, err := in.Ingest(short, true); err != nil || res.Accepted != 1 {
			b.Fatalf("accepted %d of 1: %v %+v", res.Accepted, err, res.Rejected)
		}
		if len(took) < cap(took) {
			took = append(took, time.Since(t))
		}
	}
	elapsed := time.Since(start)
	close(stop)
	b.ReportMetric(float64(<-stopped)/elapsed.Seconds(), "long-events/s")
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(took[len(took)-1].Nanoseconds()), "max-ns")
}
