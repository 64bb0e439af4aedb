package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

// BenchmarkBinaryQuery10k: the built plugin binary, called over go-plugin/gRPC like
// Grafana calls it, lists 10,000 incidents held by the real incidentd (SQLite) and returns
// the table frame. Reported beside it, in the same run: incidentd's API read directly, as
// the plugin read it before the table view (the full view, 20 pages of 500) and as it
// reads it now (the table view, one page), so the ratios show what the table view saves
// and what the plugin adds.
func BenchmarkBinaryQuery10k(b *testing.B) {
	bin := pluginBinary(b)
	inc := startIncidentd(b)
	g := startPlugin(b, bin)
	// Two more, only for the GC comparison, so their peak memory comes from the same queries.
	g100, g400 := startPlugin(b, bin, "GOGC=100"), startPlugin(b, bin, "GOGC=400")

	const n = 10000
	start := time.Now().UTC().Add(-180 * 24 * time.Hour).Truncate(time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := postNotification(inc.url, i, start.Add(time.Duration(i)*25*time.Minute)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// incidentd routes each new incident to on-call in the background, 200 a second: wait
	// until it has routed these 10,000, so the figures are the queries' and not that
	// one-off backlog's.
	waitRouted(b, inc.url, n)

	pc := backend.PluginContext{PluginID: pluginID, DataSourceInstanceSettings: settings(inc.url, "plugin-token", time.Now())}
	from, to := start.Add(-time.Hour), time.Now().UTC().Add(time.Hour)
	b.Run("incidentd-api-only", func(b *testing.B) {
		for b.Loop() {
			cursor, total := "", 0
			for {
				var page struct {
					Incidents  []json.RawMessage `json:"incidents"`
					NextCursor string            `json:"next_cursor"`
				}
				getPage(b, fmt.Sprintf("%s/api/v1/incidents?limit=500&from=%s&to=%s&cursor=%s", inc.url, from.Format(time.RFC3339), to.Format(time.RFC3339), cursor), &page)
				total += len(page.Incidents)
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			require.Equal(b, n, total)
		}
	})
	// What the plugin reads now: the table view, in one page.
	b.Run("incidentd-api-table-view", func(b *testing.B) {
		for b.Loop() {
			var page struct {
				Columns    []string          `json:"columns"`
				Rows       []json.RawMessage `json:"rows"`
				NextCursor string            `json:"next_cursor"`
			}
			getPage(b, fmt.Sprintf("%s/api/v1/incidents?view=table&limit=10000&from=%s&to=%s", inc.url, from.Format(time.RFC3339), to.Format(time.RFC3339)), &page)
			require.Len(b, page.Rows, n)
			require.Empty(b, page.NextCursor)
		}
	})
	tableQuery := func(b *testing.B, g grafana, queryJSON string) *data.Frame {
		resp := g.query(b, pc, nil, dq("A", "incidents", from, to, queryJSON))
		r := resp.Responses["A"]
		require.NoError(b, r.Error)
		require.Equal(b, n, r.Frames[0].Rows())
		return r.Frames[0]
	}
	query := func(b *testing.B, g grafana) { tableQuery(b, g, `{}`) }
	b.Run("plugin-incidents-table", func(b *testing.B) {
		for b.Loop() {
			query(b, g)
		}
	})
	// With two label columns: incidentd then sends those two labels of each incident.
	b.Run("plugin-incidents-table-label-columns", func(b *testing.B) {
		for b.Loop() {
			f, _ := tableQuery(b, g, `{"labelColumns":["alertname","team"]}`).FieldByName("label_alertname")
			require.NotNil(b, f.At(0))
		}
	})
	// What an operator can trade: the same binary with a GC target of 400 (GOGC=400 in the
	// plugin's environment) beside Go's default of 100, queried in turn, and each one's
	// peak resident memory.
	b.Run("plugin-gogc-400-vs-100", func(b *testing.B) {
		var t400, t100 time.Duration
		for b.Loop() {
			t0 := time.Now()
			query(b, g400)
			t1 := time.Now()
			query(b, g100)
			t400, t100 = t400+t1.Sub(t0), t100+time.Since(t1)
		}
		b.ReportMetric(float64(t400.Microseconds())/1e3/float64(b.N), "ms/query-gogc400")
		b.ReportMetric(float64(t100.Microseconds())/1e3/float64(b.N), "ms/query-gogc100")
		b.ReportMetric(float64(t400)/float64(t100), "ratio")
		b.ReportMetric(peakRSSMiB(b, g400), "MiB-peak-gogc400")
		b.ReportMetric(peakRSSMiB(b, g100), "MiB-peak-gogc100")
	})
}

// getPage reads one page of incidentd's list as the plugin's token, decoded with
// encoding/json into page.
func getPage(b *testing.B, url string, page any) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(b, err)
	req.Header.Set("Authorization", "Bearer plugin-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	defer resp.Body.Close()
	require.NoError(b, json.NewDecoder(resp.Body).Decode(page))
}

// peakRSSMiB is the plugin process's peak resident memory (VmHWM), in MiB.
func peakRSSMiB(b *testing.B, g grafana) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.client.ReattachConfig().Pid))
	require.NoError(b, err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			require.NoError(b, err)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

func postNotification(url string, i int, startsAt time.Time) error {
	// Labels and annotations the size of a real rule's alert on Kubernetes.
	labels := map[string]string{"alertname": fmt.Sprintf("Bench%d", i), "model": fmt.Sprintf("m%d", i%11),
		"tier": fmt.Sprintf("P%d", 1+i%4), "team": fmt.Sprintf("t%d", i%7), "severity": "warning", "job": "aiops-exporter",
		"instance": fmt.Sprintf("10.0.%d.%d:9808", i%8, i%250), "namespace": "ml-serving", "pod": fmt.Sprintf("aiops-exporter-7c9f6d%04d", i%97),
		"prometheus": "monitoring/k8s", "version": fmt.Sprintf("v%d", i%5)}
	annotations := map[string]string{"summary": fmt.Sprintf("Accuracy of m%d below its floor for 15m", i%11),
		"description": "Rolling accuracy over labelled predictions fell below the tier's threshold.",
		"runbook_url": fmt.Sprintf("https://runbooks.example.com/opscentre/accuracy#m%d", i%11)}
	msg := map[string]any{
		"version": "4", "status": "firing", "receiver": "incidentd", "groupKey": fmt.Sprintf(`{}:{alertname="Bench%d"}`, i),
		"groupLabels": map[string]string{"alertname": labels["alertname"]}, "commonLabels": labels, "commonAnnotations": annotations,
		"alerts": []map[string]any{{"status": "firing", "labels": labels, "annotations": annotations,
			"startsAt": startsAt.Format(time.RFC3339), "endsAt": "0001-01-01T00:00:00Z", "fingerprint": fmt.Sprintf("%016x", i)}},
	}
	b, _ := json.Marshal(msg)
	resp, err := http.Post(url+"/api/v1/alertmanager", "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("notification %d: status %d", i, resp.StatusCode)
	}
	return nil
}

// waitRouted waits until incidentd's escalation worker has routed n incidents, as its own
// metrics count them.
func waitRouted(b *testing.B, url string, n int) {
	b.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(url + "/metrics")
		require.NoError(b, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(b, err)
		routed := 0.0
		for _, line := range strings.Split(string(body), "\n") {
			if rest, ok := strings.CutPrefix(line, `incidentd_store_operation_duration_seconds_count{op="escalation_plan"} `); ok {
				routed, err = strconv.ParseFloat(rest, 64)
				require.NoError(b, err)
			}
		}
		if routed >= float64(n) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("incidentd routed %v of %d incidents in 3 minutes", routed, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
