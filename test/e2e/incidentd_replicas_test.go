package e2e

import (
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the test database
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/app"
	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// incdStartReplica runs one incidentd replica in-process on the PostgreSQL database dsn.
func incdStartReplica(t *testing.T, dsn string) string {
	cfg := "webhook:\n  bearer_token_sha256: [\"" + incidentdtest.SHA("s3cret") + "\"]\n"
	return incidentdtest.StartWith(t, cfg, func(o *app.Options) { o.PostgresDSN = dsn })
}

// TestIncidentdReplicasOnPostgres runs two incidentd replicas on one PostgreSQL database,
// each notified by its own Alertmanager, with clustering off so that both Alertmanagers
// notify every group at the same moment — the worst case of an HA pair. Every group must
// still have exactly one incident.
func TestIncidentdReplicasOnPostgres(t *testing.T) {
	dsn := testbin.PostgresDatabase(t)
	r1 := incdStartReplica(t, dsn)
	r2 := incdStartReplica(t, dsn)
	am1 := incdStartAM(t, r1, "")
	am2 := incdStartAM(t, r2, "")

	const groups = 30
	var alerts []incdAlert
	// Prometheus sends both Alertmanagers the same startsAt (when the rule became active);
	// without it each Alertmanager would stamp its own and the alerts would be distinct
	// occurrences.
	startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	for g := range groups {
		for f := range 4 {
			a := driftAlert(fmt.Sprintf("replica-%02d", g), fmt.Sprintf("f%d", f))
			a.StartsAt = startsAt
			alerts = append(alerts, a)
		}
	}
	am1.post(t, alerts)
	am2.post(t, alerts)
	require.Eventually(t, func() bool {
		incs := incdList(t, r2)
		if len(incs) != groups {
			return false
		}
		for _, i := range incs {
			if i.AlertsTotal != 4 {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond)
	// Both replicas received every group; wait until both have answered all of them.
	require.Eventually(t, func() bool {
		return incdMetric(t, r1, "incidentd_notifications_received_total") >= groups &&
			incdMetric(t, r2, "incidentd_notifications_received_total") >= groups
	}, 30*time.Second, 100*time.Millisecond)
	incs := incdList(t, r1)
	require.Len(t, incs, groups, "one incident per group across two replicas")
	for m, is := range incdByModel(incs) {
		require.Len(t, is, 1, m)
		require.Equal(t, 4, is[0].AlertsTotal, m)
	}
	t.Logf("replica 1: received %.0f, deduplicated %.0f; replica 2: received %.0f, deduplicated %.0f",
		incdMetric(t, r1, "incidentd_notifications_received_total"), incdMetric(t, r1, "incidentd_notifications_deduplicated_total"),
		incdMetric(t, r2, "incidentd_notifications_received_total"), incdMetric(t, r2, "incidentd_notifications_deduplicated_total"))
}
