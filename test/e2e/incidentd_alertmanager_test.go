package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

func driftAlert(model, feature string) incdAlert {
	return incdAlert{
		Labels:      map[string]string{"alertname": "FeatureDriftHigh", "model": model, "feature": feature, "tier": "P3", "team": "ml-platform"},
		Annotations: map[string]string{"summary": "Feature drift on " + feature},
	}
}

// TestIncidentdWithAlertmanager drives the real Alertmanager: alerts posted to its API
// become one incident per group, join it, and resolve it.
func TestIncidentdWithAlertmanager(t *testing.T) {
	base := incdStartInProcess(t)
	am := incdStartAM(t, base, "")

	am.post(t, []incdAlert{driftAlert("fraud-v3", "amount"), driftAlert("fraud-v3", "merchant"), driftAlert("churn-v1", "tenure")})
	require.Eventually(t, func() bool {
		by := incdByModel(incdList(t, base))
		return len(by["fraud-v3"]) == 1 && len(by["churn-v1"]) == 1 && by["fraud-v3"][0].AlertsTotal == 2
	}, 20*time.Second, 100*time.Millisecond, "one incident per group, both alerts in it")

	// A third alert joins the firing group's incident.
	am.post(t, []incdAlert{driftAlert("fraud-v3", "country")})
	require.Eventually(t, func() bool {
		by := incdByModel(incdList(t, base))
		return len(by["fraud-v3"]) == 1 && by["fraud-v3"][0].AlertsFiring == 3
	}, 20*time.Second, 100*time.Millisecond)

	// Resolve the whole fraud-v3 group: the incident is resolved by the system.
	now := time.Now().Add(-time.Second)
	var res []incdAlert
	for _, f := range []string{"amount", "merchant", "country"} {
		a := driftAlert("fraud-v3", f)
		a.EndsAt = now
		res = append(res, a)
	}
	am.post(t, res)
	require.Eventually(t, func() bool {
		by := incdByModel(incdList(t, base))
		return by["fraud-v3"][0].State == incidentapi.Resolved
	}, 20*time.Second, 100*time.Millisecond)
	by := incdByModel(incdList(t, base))
	require.Equal(t, "system", by["fraud-v3"][0].ResolvedBy)
	require.Equal(t, incidentapi.Detected, by["churn-v1"][0].State, "the other group is untouched")
	require.Equal(t, incidentapi.P3, by["fraud-v3"][0].Tier)
	require.Equal(t, "ml-platform", by["fraud-v3"][0].Team)
	require.Len(t, incdList(t, base), 2)
}

// TestIncidentdWithAlertmanagerCluster runs two clustered Alertmanagers that both notify
// incidentd, with every alert posted to both (as Prometheus does): one incident per group.
func TestIncidentdWithAlertmanagerCluster(t *testing.T) {
	base := incdStartInProcess(t)
	a := incdStartAM(t, base, fmt.Sprintf("127.0.0.1:%d", incdFreePort(t)))
	b := incdStartAM(t, base, fmt.Sprintf("127.0.0.1:%d", incdFreePort(t)), a.Cluster)

	var alerts []incdAlert
	startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second) // as Prometheus sends it to both
	for g := range 5 {
		for f := range 3 {
			a := driftAlert(fmt.Sprintf("model-%d", g), fmt.Sprintf("f%d", f))
			a.StartsAt = startsAt
			alerts = append(alerts, a)
		}
	}
	a.post(t, alerts)
	b.post(t, alerts)
	require.Eventually(t, func() bool {
		incs := incdList(t, base)
		if len(incs) != 5 {
			return false
		}
		for _, i := range incs {
			if i.AlertsTotal != 3 {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond)
	// Give the second replica time to send its (possibly duplicate) notifications.
	time.Sleep(4 * time.Second)
	incs := incdList(t, base)
	require.Len(t, incs, 5, "one incident per group across both Alertmanagers")
	for m, is := range incdByModel(incs) {
		require.Len(t, is, 1, m)
		require.Equal(t, 3, is[0].AlertsTotal)
	}
	t.Logf("notifications received %.0f, deduplicated %.0f",
		incdMetric(t, base, "incidentd_notifications_received_total"), incdMetric(t, base, "incidentd_notifications_deduplicated_total"))
}
