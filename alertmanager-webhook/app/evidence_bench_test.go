package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// benchIncidentd runs incidentd with the configuration and returns its URL.
func benchIncidentd(b *testing.B, cfg string) string {
	dir := b.TempDir()
	require := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	require(os.WriteFile(filepath.Join(dir, "incidentd.yml"), []byte(cfg), 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require(err)
	o := DefaultOptions()
	o.ConfigFile, o.StoragePath, o.Listener, o.Registry = filepath.Join(dir, "incidentd.yml"), filepath.Join(dir, "i.db"), l, prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	b.Cleanup(func() { cancel(); require(<-done) })
	return "http://" + l.Addr().String()
}

// burst posts n notifications at once, each opening a new incident, and returns the time
// each took to be acknowledged.
func burst(b *testing.B, url string, round, n int) []time.Duration {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := fmt.Sprintf("Bench%d_%d", round, i)
			body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%s\"}","status":"firing","receiver":"incidentd","externalURL":"http://am:9093",
"groupLabels":{"alertname":%q},"commonLabels":{"alertname":%q,"model":"fraud-%d","tier":"P2","team":"ml"},
"alerts":[{"status":"firing","labels":{"alertname":%q,"model":"fraud-%d","tier":"P2","team":"ml"},"annotations":{},"startsAt":%q,"fingerprint":"%016x"}]}`,
				g, g, g, i%10, g, i%10, now, round*1000+i)
			start := time.Now()
			resp, err := http.Post(url+"/api/v1/alertmanager", "application/json", bytes.NewReader([]byte(body)))
			d := time.Since(start)
			if err != nil {
				b.Error(err)
				return
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("webhook answered %d: %s", resp.StatusCode, msg)
			}
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat
}

func p99(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, len(ds)*99/100)]
}

// BenchmarkWebhookAckEvidence: 100 incidents opening at once, acknowledged by an incidentd
// without evidence and by one gathering evidence from a real Prometheus 3, in alternating
// bursts in the same run. The figure is p99-on/off: gathering runs behind a queue, so the
// acknowledgements' p99 should stay within noise of evidence off.
func BenchmarkWebhookAckEvidence(b *testing.B) {
	prom := promtest.Start(b, testbin.Prometheus(b, 3))
	off := benchIncidentd(b, "incidents: {reopen_window: 30m}\n")
	on := benchIncidentd(b, fmt.Sprintf("incidents: {reopen_window: 30m}\nprometheus: {url: %q, window: 1m, baseline: 10m}\n", prom.URL))
	var latOff, latOn []time.Duration
	b.ResetTimer()
	for i := range b.N {
		latOff = append(latOff, burst(b, off, i, 100)...)
		latOn = append(latOn, burst(b, on, i, 100)...)
	}
	b.StopTimer()
	pOff, pOn := p99(latOff), p99(latOn)
	b.ReportMetric(float64(pOff.Microseconds())/1000, "p99-off-ms")
	b.ReportMetric(float64(pOn.Microseconds())/1000, "p99-on-ms")
	b.ReportMetric(float64(pOn)/float64(pOff), "p99-on/off")
	// The comparison means something only if evidence was being gathered meanwhile.
	time.Sleep(time.Second)
	resp, err := http.Get(on + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	gathered, dropped := 0.0, 0.0
	for _, l := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(l, `incidentd_evidence_gatherings_total{result="complete"} `); ok {
			gathered, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(l, `incidentd_evidence_gatherings_total{result="dropped"} `); ok {
			dropped, _ = strconv.ParseFloat(v, 64)
		}
	}
	b.ReportMetric(dropped/float64(b.N), "dropped/op")
	if gathered == 0 {
		b.Fatal("no evidence was gathered during the bursts")
	}
	b.ReportMetric(gathered/float64(b.N), "gathered/op")
}
