package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/app"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/notifytest"
	"github.com/opscentre/opscentre/test/testbin"
)

// TestIncidentdResponseReplicasPageOnce runs two incidentd replicas on one PostgreSQL
// database, both receiving every notification (an HA Alertmanager pair) and both running
// the escalation worker: each P1 pages the primary once and, unacknowledged after the
// step's delay, the secondary once.
func TestIncidentdResponseReplicasPageOnce(t *testing.T) {
	dsn := testbin.PostgresDatabase(t)
	srv := notifytest.NewServer(t)
	cfg := fmt.Sprintf(`webhook:
  bearer_token_sha256: [%q]
oncall:
  teams:
  - name: risk
    schedules:
    - {name: primary, timezone: UTC, rotation: daily, start: 2026-01-01, members: [alice]}
    - {name: secondary, timezone: UTC, rotation: daily, start: 2026-01-01, members: [carol]}
channels:
- {name: alice-hook, webhook: {url: %q, secret: "0123456789abcdef"}}
- {name: carol-hook, webhook: {url: %q, secret: "0123456789abcdef"}}
people: {alice: [alice-hook], carol: [carol-hook]}
escalation_policies:
- {name: risk, steps: [{targets: [{schedule: primary}]}, {delay: 2s, targets: [{schedule: secondary}]}]}
routing:
  default: {team: risk, escalation_policy: risk}
`, incidentdtest.SHA("s3cret"), srv.URL+"/alice", srv.URL+"/carol")
	var bases []string
	for range 2 {
		// Both workers tick constantly so that they contend for the same rows (with 20 ms
		// this test no longer notices a missing SKIP LOCKED).
		base := incidentdtest.StartWith(t, cfg, func(o *app.Options) {
			o.PostgresDSN = dsn
			o.EscalationInterval = 2 * time.Millisecond
		})
		bases = append(bases, base)
	}

	const n = 10
	start := time.Now().UTC().Truncate(time.Second)
	var wg sync.WaitGroup
	for i := range n {
		body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"Down%d\"}","status":"firing","receiver":"incidentd","externalURL":"http://am",
			"groupLabels":{"alertname":"Down%d"},"commonLabels":{"alertname":"Down%d","tier":"P1","team":"risk"},
			"alerts":[{"status":"firing","labels":{"alertname":"Down%d","tier":"P1","team":"risk"},"annotations":{"summary":"service %d down"},
			"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","fingerprint":"%016x"}]}`, i, i, i, i, i, start.Format(time.RFC3339), i+1)
		for _, b := range bases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", b+"/api/v1/alertmanager", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer s3cret")
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					require.Equal(t, http.StatusOK, resp.StatusCode)
				}
				require.NoError(t, err)
			}()
		}
	}
	wg.Wait()
	require.Eventually(t, func() bool { return len(srv.Requests()) >= 2*n }, 30*time.Second, 50*time.Millisecond)
	time.Sleep(time.Second) // a duplicate would arrive within this
	count := map[string]int{}
	for _, r := range srv.Requests() {
		var m incidentapi.NotificationMessage
		require.NoError(t, json.Unmarshal(r.Body, &m))
		count[fmt.Sprintf("%s %s step %d incident %d", r.Path, m.Recipient, m.Step, m.IncidentID)]++
	}
	require.Len(t, count, 2*n, "%v", count)
	for k, c := range count {
		require.Equal(t, 1, c, k)
	}
}
