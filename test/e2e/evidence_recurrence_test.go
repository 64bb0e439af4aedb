package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// recurrenceHistory writes three hours of exporter series of the fraud model, in OpenMetrics
// with timestamps, ending at end: the same fault — features amount and merchant drift,
// merchant further — happens twice, from ten minutes before each detection time in
// detections to ten minutes after it; traffic and latency stay steady throughout.
func recurrenceHistory(end time.Time, detections ...time.Time) string {
	const step = 15 * time.Second
	type key struct{ name, labels string }
	var order []key
	lines := map[key][]string{}
	add := func(name, labels string, ts time.Time, v float64) {
		k := key{name, labels}
		if _, ok := lines[k]; !ok {
			order = append(order, k)
		}
		lines[k] = append(lines[k], fmt.Sprintf("%s{%s} %g %d", name, labels, v, ts.Unix()))
	}
	var events, fast, all float64
	for ts := end.Add(-3 * time.Hour); !ts.After(end); ts = ts.Add(step) {
		drifting := false
		for _, d := range detections {
			if !ts.Before(d.Add(-10*time.Minute)) && !ts.After(d.Add(10*time.Minute)) {
				drifting = true
			}
		}
		events += 20 * step.Seconds()
		all += 20 * step.Seconds()
		fast += 19 * step.Seconds()
		add("aiops_events_total", `model="fraud",version="v3"`, ts, events)
		psiAmount, psiMerchant, flag := 0.02, 0.01, 0.0
		if drifting {
			psiAmount, psiMerchant, flag = 0.4, 0.9, 1
		}
		add("aiops_feature_drift_score", `model="fraud",version="v3",feature="amount",method="psi"`, ts, psiAmount)
		add("aiops_feature_drift_score", `model="fraud",version="v3",feature="merchant",method="psi"`, ts, psiMerchant)
		add("aiops_feature_drifted", `model="fraud",version="v3",feature="amount"`, ts, flag)
		add("aiops_feature_drifted", `model="fraud",version="v3",feature="merchant"`, ts, flag)
		add("aiops_feature_null_ratio", `model="fraud",version="v3",feature="merchant"`, ts, 0.01)
		add("aiops_inference_duration_seconds_bucket", `model="fraud",le="0.1"`, ts, fast)
		add("aiops_inference_duration_seconds_bucket", `model="fraud",le="+Inf"`, ts, all)
	}
	types := map[string]string{"aiops_events_total": "counter", "aiops_feature_drift_score": "gauge", "aiops_feature_drifted": "gauge",
		"aiops_feature_null_ratio": "gauge", "aiops_inference_duration_seconds_bucket": "histogram"}
	var b strings.Builder
	written := map[string]bool{}
	for _, k := range order { // each family's series together, as OpenMetrics requires
		if written[k.name] {
			continue
		}
		written[k.name] = true
		family := strings.TrimSuffix(strings.TrimSuffix(k.name, "_bucket"), "_total")
		if k.name == "aiops_events_total" {
			family = "aiops_events"
		}
		fmt.Fprintf(&b, "# TYPE %s %s\n", family, types[k.name])
		for _, o := range order {
			if o.name == k.name {
				b.WriteString(strings.Join(lines[o], "\n") + "\n")
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// recurrenceIncidentd runs incidentd in-process on SQLite with its evidence pointed at prom:
// no auto-resolve (a person resolves) and no reopen window (the second occurrence is a new
// incident, as it is when it comes back after the window).
func recurrenceIncidentd(t *testing.T, prom string) string {
	t.Helper()
	cfg := fmt.Sprintf(`incidents: {auto_resolve: false, reopen_window: 0s}
webhook:
  bearer_token_sha256: ["%s"]
api:
  tokens:
  - {subject: alice, role: responder, token_sha256: %s}
prometheus: {url: %q, window: 5m, baseline: 30m, timeout: 5s, total_timeout: 10s}
`, incidentdtest.SHA("s3cret"), incidentdtest.SHA("alice-token"), prom)
	return incidentdtest.Start(t, cfg)
}

// recurrenceClient calls incidentd's API as alice.
func recurrenceClient(base string) *incidentapi.Client {
	return incidentapi.New(base, incidentapi.Options{Token: "alice-token"})
}

// recurrenceEvidence waits for an incident's evidence to be gathered.
func recurrenceEvidence(t *testing.T, base string, id int64) *incidentapi.Evidence {
	t.Helper()
	var r *incidentapi.Evidence
	require.Eventually(t, func() bool {
		var err error
		r, err = recurrenceClient(base).Evidence(context.Background(), id)
		if incidentapi.StatusOf(err) == http.StatusNotFound {
			return false
		}
		require.NoError(t, err)
		return true
	}, 20*time.Second, 200*time.Millisecond, "evidence of incident %d", id)
	return r
}

// recurrenceIncident waits for the incident of the alert that started at startsAt.
func recurrenceIncident(t *testing.T, base, alertname string, startsAt time.Time) int64 {
	t.Helper()
	var id int64
	require.Eventually(t, func() bool {
		p, err := recurrenceClient(base).ListPage(context.Background(), incidentapi.Filter{}, 500, "")
		require.NoError(t, err)
		for _, i := range p.Incidents {
			if i.Labels["alertname"] == alertname && i.DetectedAt.Equal(startsAt) {
				id = i.ID
				return true
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond, "incident of %s at %s", alertname, startsAt)
	return id
}

// The same fault firing twice: the second incident's evidence lists the first as the most
// similar past incident, with who resolved it, how long it took, the root cause written in its
// post-mortem and its action items — and, like the first, names the drift with the alert's
// hinted feature first. Real Alertmanager, real incidentd, real Prometheus 3 serving
// history backfilled with promtool.
func TestEvidenceSecondOccurrence(t *testing.T) {
	promtool, promBin := testbin.Promtool(t, 3), testbin.Prometheus(t, 3)
	dir := t.TempDir()
	// The history runs until two minutes from now: the second occurrence is detected now,
	// after the first was resolved (an occurrence starting before the resolve would reopen
	// the first incident), and Prometheus serves the minutes around it from the backfill.
	now := time.Now().Truncate(time.Second)
	end := now.Add(2 * time.Minute)
	first, second := now.Add(-100*time.Minute), now.Add(5*time.Second)
	decoy := first.Add(30 * time.Minute) // another alert of the same model, between them
	om := filepath.Join(dir, "history.om")
	require.NoError(t, os.WriteFile(om, []byte(recurrenceHistory(end, first, second)), 0o644))
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", om, filepath.Join(dir, "data")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	prom := promtest.StartWith(t, promtest.Config{Binary: promBin, DataDir: filepath.Join(dir, "data")})
	base := recurrenceIncidentd(t, prom.URL)
	am := incdStartAM(t, base, "")

	// The alert as rulegen's feature_drift preset writes it, as Prometheus renders it for the
	// feature that crossed the threshold: amount (merchant drifts further, but the rule fired
	// on amount).
	drift := func(startsAt, endsAt time.Time) incdAlert {
		return incdAlert{
			Labels: map[string]string{"alertname": "FeatureDrift", "model": "fraud", "feature": "amount", "tier": "P3", "team": "ml"},
			Annotations: map[string]string{"summary": "Feature amount of fraud drifted",
				incidentapi.AnnotationEvidenceFeatures: "amount", incidentapi.AnnotationEvidenceCauses: incidentapi.CauseInputsChanged},
			StartsAt: startsAt, EndsAt: endsAt,
		}
	}

	// The first occurrence: gathered, resolved by a person, its post-mortem written.
	am.post(t, []incdAlert{drift(first, time.Time{})})
	id1 := recurrenceIncident(t, base, "FeatureDrift", first)
	r1 := recurrenceEvidence(t, base, id1)
	in1, _ := r1.Cause(incidentapi.CauseInputsChanged)
	require.Equal(t, incidentapi.Supported, in1.Verdict, in1.Reason)
	// Alertmanager notifies the same alert firing again only after it notified it resolved.
	am.post(t, []incdAlert{drift(first, first.Add(15*time.Minute))})
	require.Eventually(t, func() bool {
		i, err := recurrenceClient(base).Get(context.Background(), id1)
		require.NoError(t, err)
		return i.AlertsFiring == 0
	}, 20*time.Second, 200*time.Millisecond, "the first occurrence's alert resolved")
	_, err = recurrenceClient(base).Resolve(context.Background(), id1, "", "rolled the ETL job back")
	require.NoError(t, err)
	_, err = recurrenceClient(base).SavePostmortem(context.Background(), id1, "",
		"# FeatureDrift on fraud\n\n## Root cause\n\nThe upstream ETL switched amounts to cents.\n\n## Action items\n")
	require.NoError(t, err)
	_, err = recurrenceClient(base).AddActionItem(context.Background(), id1, "", incidentapi.ActionItemInput{Text: "validate units in the ETL contract", Owner: "data-eng"})
	require.NoError(t, err)

	// Another alert of the same model: similar, but less.
	volume := incdAlert{Labels: map[string]string{"alertname": "VolumeDrop", "model": "fraud", "tier": "P3", "team": "ml"},
		Annotations: map[string]string{"summary": "Request volume of fraud fell"}, StartsAt: decoy}
	am.post(t, []incdAlert{volume})
	idDecoy := recurrenceIncident(t, base, "VolumeDrop", decoy)
	recurrenceEvidence(t, base, idDecoy)
	volume.EndsAt = decoy.Add(5 * time.Minute)
	am.post(t, []incdAlert{volume})

	// The second occurrence, detected after the first was resolved.
	if d := time.Until(second); d > 0 {
		time.Sleep(d)
	}
	am.post(t, []incdAlert{drift(second, time.Time{})})
	id2 := recurrenceIncident(t, base, "FeatureDrift", second)
	require.NotEqual(t, id1, id2, "a new incident, not the first reopened")
	r2 := recurrenceEvidence(t, base, id2)
	require.Empty(t, r2.Errors)

	in2, _ := r2.Cause(incidentapi.CauseInputsChanged)
	require.Equal(t, incidentapi.CauseInputsChanged, r2.Causes[0].Name, "the hinted cause is listed first")
	require.True(t, r2.Causes[0].Hinted)
	require.Equal(t, incidentapi.Supported, in2.Verdict, in2.Reason)
	require.Equal(t, "drifted feature amount", in2.Findings[0].Name, "the hinted feature first, though merchant's PSI is higher")
	require.Equal(t, "drifted feature merchant", in2.Findings[1].Name)
	for _, c := range r2.Causes[1:] {
		require.NotEqual(t, incidentapi.Supported, c.Verdict, "%s: %s", c.Name, c.Reason)
	}

	require.GreaterOrEqual(t, len(r2.Similar), 2, "%+v", r2.Similar)
	top := r2.Similar[0]
	require.Equal(t, id1, top.ID, "the first occurrence is the most similar: %+v", r2.Similar)
	require.True(t, top.SameAlert)
	require.True(t, top.SameModel)
	require.Equal(t, []string{incidentapi.CauseInputsChanged}, top.SameCauses)
	require.InDelta(t, 1.0, top.Score, 1e-9)
	require.Equal(t, "The upstream ETL switched amounts to cents.", top.RootCause)
	require.Equal(t, []string{"validate units in the ETL contract"}, top.ActionItems)
	require.Equal(t, "human", top.ResolvedBy, "resolved by a person, not by the alert's end")
	require.False(t, top.ResolvedAt.IsZero())
	require.Positive(t, top.TimeToResolveSeconds)
	require.Equal(t, idDecoy, r2.Similar[1].ID)
	require.Less(t, r2.Similar[1].Score, top.Score)
	t.Logf("similar to #%d: %+v", id2, r2.Similar)
}
