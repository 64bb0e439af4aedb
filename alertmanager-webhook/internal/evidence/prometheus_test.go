package evidence

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// history writes two hours of exporter series, in OpenMetrics with timestamps, ending at end:
// a fraud classifier whose `amount` input drifts and whose canary v5 starts serving in the
// last ten minutes, and a chatbot whose tokens per call run away at the same time.
func history(end time.Time) string {
	var b strings.Builder
	const step = 15 * time.Second
	start := end.Add(-2 * time.Hour)
	changed := end.Add(-10 * time.Minute)
	type series struct{ name, labels string }
	out := map[series][]string{}
	add := func(name, labels string, ts time.Time, v float64) {
		k := series{name, labels}
		out[k] = append(out[k], fmt.Sprintf("%s{%s} %g %d", name, labels, v, ts.Unix()))
	}
	var fraudV3, fraudV5, llmEvents, llmTokens, latFast, latAll float64
	for ts := start; !ts.After(end); ts = ts.Add(step) {
		after := ts.After(changed)
		fraudV3 += 20 * step.Seconds()
		if after {
			fraudV5 += 5 * step.Seconds()
		}
		llmEvents += 10 * step.Seconds()
		perCall := 800.0
		if after {
			perCall = 4000
		}
		llmTokens += 10 * step.Seconds() * perCall
		latAll += 20 * step.Seconds()
		latFast += 19 * step.Seconds()
		add("aiops_events_total", `model="fraud",version="v3"`, ts, fraudV3)
		if after {
			add("aiops_events_total", `model="fraud",version="v5"`, ts, fraudV5)
		}
		add("aiops_events_total", `model="support-llm",version="gpt-4o"`, ts, llmEvents)
		add("aiops_tokens_total", `model="support-llm",version="gpt-4o",type="input"`, ts, llmTokens)
		psi, drifted := 0.02, 0.0
		if after {
			psi, drifted = 0.8, 1
		}
		add("aiops_feature_drift_score", `model="fraud",version="v3",feature="amount",method="psi"`, ts, psi)
		add("aiops_feature_drift_score", `model="fraud",version="v3",feature="merchant",method="psi"`, ts, 0.01)
		add("aiops_feature_drifted", `model="fraud",version="v3",feature="amount"`, ts, drifted)
		add("aiops_feature_drifted", `model="fraud",version="v3",feature="merchant"`, ts, 0)
		add("aiops_feature_null_ratio", `model="fraud",version="v3",feature="merchant"`, ts, 0.01)
		// A canary: v1 and v2 serve throughout; v2's accuracy decays in the last ten minutes.
		canaryAcc := 0.92
		if after {
			canaryAcc = 0.6
		}
		add("aiops_model_accuracy", `model="canary",version="v1"`, ts, 0.93)
		add("aiops_model_accuracy", `model="canary",version="v2"`, ts, canaryAcc)
		add("aiops_events_total", `model="canary",version="v1"`, ts, fraudV3)
		add("aiops_events_total", `model="canary",version="v2"`, ts, fraudV3/4)
		for _, m := range []string{"fraud", "support-llm"} {
			add("aiops_inference_duration_seconds_bucket", `model="`+m+`",le="0.1"`, ts, latFast)
			add("aiops_inference_duration_seconds_bucket", `model="`+m+`",le="1"`, ts, latAll)
			add("aiops_inference_duration_seconds_bucket", `model="`+m+`",le="+Inf"`, ts, latAll)
		}
	}
	types := map[string]string{
		"aiops_events_total": "aiops_events counter", "aiops_tokens_total": "aiops_tokens counter",
		"aiops_feature_drift_score": "aiops_feature_drift_score gauge", "aiops_feature_drifted": "aiops_feature_drifted gauge",
		"aiops_feature_null_ratio":                "aiops_feature_null_ratio gauge",
		"aiops_model_accuracy":                    "aiops_model_accuracy gauge",
		"aiops_inference_duration_seconds_bucket": "aiops_inference_duration_seconds histogram",
	}
	for name, typ := range types {
		fmt.Fprintf(&b, "# TYPE %s\n", typ)
		for k, lines := range out {
			if k.name == name {
				b.WriteString(strings.Join(lines, "\n") + "\n")
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// The queries are real PromQL, run by Prometheus 3 over history backfilled with promtool:
// each scripted change is named as its cause, the steady ones as not supported.
func TestGatherAgainstPrometheus(t *testing.T) {
	promtool, prom := testbin.Promtool(t, 3), testbin.Prometheus(t, 3)
	dir := t.TempDir()
	end := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	om := filepath.Join(dir, "history.om")
	require.NoError(t, os.WriteFile(om, []byte(history(end)), 0o644))
	data := filepath.Join(dir, "data")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", om, data).CombinedOutput()
	require.NoError(t, err, "%s", out)
	srv := promtest.StartWith(t, promtest.Config{Binary: prom, DataDir: data})
	client, err := promapi.NewClient(promapi.Config{Address: srv.URL})
	require.NoError(t, err)
	api := promv1.NewAPI(client)
	o := Options{Window: 5 * time.Minute, Baseline: time.Hour}

	r := Gather(context.Background(), api, Subject{Model: "fraud", DetectedAt: end}, o)
	require.Empty(t, r.Errors)
	in, _ := r.Cause(InputsChanged)
	require.Equal(t, Supported, in.Verdict, in.Reason)
	require.Equal(t, "drifted feature amount", in.Findings[0].Name)
	require.InDelta(t, 0.8, *in.Findings[0].Now, 1e-9)
	require.Equal(t, "/d/opscentre-data-quality-drift?var-model=fraud&viewPanel=2", in.Findings[0].Panel)
	ver, _ := r.Cause(VersionMismatch)
	require.Equal(t, Supported, ver.Verdict, ver.Reason)
	require.Contains(t, ver.Reason, "version v5 first served traffic")
	for _, name := range []string{ExternalAPI, Adversarial, Capacity} {
		c, _ := r.Cause(name)
		require.Equal(t, NotSupported, c.Verdict, "%s: %s", name, c.Reason)
	}

	r = Gather(context.Background(), api, Subject{Model: "support-llm", DetectedAt: end}, o)
	require.Empty(t, r.Errors)
	adv, _ := r.Cause(Adversarial)
	require.Equal(t, Supported, adv.Verdict, adv.Reason)
	require.InDelta(t, 4000, *adv.Findings[0].Now, 1)
	require.InDelta(t, 800, *adv.Findings[0].Before, 1)
	for _, name := range []string{VersionMismatch, ExternalAPI, Capacity} {
		c, _ := r.Cause(name)
		require.Equal(t, NotSupported, c.Verdict, "%s: %s", name, c.Reason)
	}
	// The decaying canary is a version mismatch, found by accuracy per version, not by a
	// new version (both served all along).
	r = Gather(context.Background(), api, Subject{Model: "canary", DetectedAt: end}, o)
	require.Empty(t, r.Errors)
	ver, _ = r.Cause(VersionMismatch)
	require.Equal(t, Supported, ver.Verdict, ver.Reason)
	require.Equal(t, "accuracy of version v2", ver.Findings[0].Name)
	require.InDelta(t, 0.6, *ver.Findings[0].Now, 1e-9)
	require.InDelta(t, 0.92, *ver.Findings[0].Before, 1e-9)
	require.NotContains(t, ver.Reason, "first served")

	r = Gather(context.Background(), api, Subject{Model: "support-llm", DetectedAt: end}, o)
	in, _ = r.Cause(InputsChanged)
	// Steady traffic alone cannot rule out changed inputs: without drift or data-quality
	// series the honest verdict is unknown.
	require.Equal(t, Unknown, in.Verdict, in.Reason)
	require.Contains(t, in.Reason, "traffic steady")
}
