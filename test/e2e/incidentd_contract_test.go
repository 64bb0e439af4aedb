package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/test/incidentdtest"
	"github.com/opscentre/opscentre/test/notifytest"
)

// contractRecorder keeps the body of every answer the client reads, so a test can hold the JSON
// incidentd sent against the type the client decoded it into.
type contractRecorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *contractRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.bodies = append(r.bodies, req.Method+" "+req.URL.Path+"\n"+string(b))
	r.mu.Unlock()
	return resp, nil
}

// last is the body of the last answer, and which request it answered.
func (r *contractRecorder) last() (req string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	req, b, _ := strings.Cut(r.bodies[len(r.bodies)-1], "\n")
	return req, []byte(b)
}

// strict holds the last answer to the wire type T: decoding it rejects a field incidentd
// sent that T does not declare, and encoding T again gives the same JSON, so T has no
// field (with a value) that incidentd did not send.
func strict[T any](t *testing.T, rec *contractRecorder) T {
	t.Helper()
	req, raw := rec.last()
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "%s answered %s", req, raw)
	back, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, string(raw), string(back), "%s: incidentd's JSON and the wire type's differ", req)
	return v
}

const contractConfig = `
webhook:
  bearer_token_sha256: [%s]
api:
  tokens:
    - {subject: alice, role: responder, token_sha256: %s}
    - {subject: root, role: admin, token_sha256: %s}
    - {subject: fraud-svc, role: application, token_sha256: %s}
oncall:
  teams:
  - name: risk
    schedules:
    - {name: primary, timezone: UTC, rotation: daily, start: 2026-01-01, handoff: "09:00", members: [alice]}
channels:
- {name: team-slack, slack: {url: %q}}
escalation_policies:
- name: risk
  steps:
  - targets: [{channel: team-slack}]
routing:
  default: {team: risk, escalation_policy: risk}
`

// contractIncidentd runs the real incidentd in-process on SQLite, notifying a fake Slack
// (Slack cannot run here).
func contractIncidentd(t *testing.T) string {
	t.Helper()
	slack := notifytest.NewServer(t)
	return incidentdtest.Start(t, fmt.Sprintf(contractConfig, incidentdtest.SHA("s3cret"), incidentdtest.SHA("alice-token"), incidentdtest.SHA("admin-token"), incidentdtest.SHA("app-token"), slack.URL+"/services/T0/B0/x"))
}

// TestIncidentdWireTypes drives a real incidentd through the client, every endpoint a
// client uses, and holds each answer to its wire type: a field added to incidentd's answer
// and not to package incidentapi (or the other way round) fails here. The incident list
// is written by the store's own encoder (AppendJSON), the rest by encoding/json.
func TestIncidentdWireTypes(t *testing.T) {
	base := contractIncidentd(t)
	ctx := context.Background()
	rec := &contractRecorder{}
	hc := &http.Client{Transport: rec, Timeout: 10 * time.Second}
	alice := incidentapi.New(base, incidentapi.Options{Token: "alice-token", HTTP: hc})
	root := incidentapi.New(base, incidentapi.Options{Token: "admin-token", HTTP: hc})
	appc := incidentapi.New(base, incidentapi.Options{Token: "app-token", HTTP: hc})

	now := time.Now().UTC()
	ch, err := alice.AddChange(ctx, incidentapi.ChangeInput{Kind: "model_version", Model: "fraud", Team: "risk", Version: "v2",
		Title: "fraud v2", Text: "retrained", Link: "https://ci/2", Labels: map[string]string{"env": "prod"}, At: now.Add(-5 * time.Minute).Format(time.RFC3339)})
	require.NoError(t, err)
	strict[incidentapi.Change](t, rec)

	// A P1 alert through the real Alertmanager.
	am := incdStartAM(t, base, "")
	am.post(t, []incdAlert{{Labels: map[string]string{"alertname": "FraudAUCDrop", "tier": "P1", "model": "fraud", "version": "v2", "team": "risk"},
		Annotations: map[string]string{"summary": "AUC dropped", "runbook_url": "https://runbooks.example/auc"}, StartsAt: now.Add(-time.Minute)}})
	require.Eventually(t, func() bool {
		p, err := alice.ListPage(ctx, incidentapi.Filter{}, 0, "")
		require.NoError(t, err)
		return len(p.Incidents) == 1
	}, 20*time.Second, 100*time.Millisecond, "the incident opened")

	incs, truncated, err := alice.List(ctx, incidentapi.Filter{Open: true, Model: "fraud"}, 100)
	require.NoError(t, err)
	require.False(t, truncated)
	require.Len(t, incs, 1)
	strict[incidentapi.Page](t, rec)
	id := incs[0].ID
	require.Equal(t, incidentapi.Tier("P1"), incs[0].Tier)
	require.Equal(t, "https://runbooks.example/auc", incs[0].RunbookURL)

	d, err := alice.Get(ctx, id)
	require.NoError(t, err)
	strict[incidentapi.Detail](t, rec)
	require.Len(t, d.Alerts, 1)
	require.Len(t, d.RelatedChanges, 1, "the model's change before detection")
	require.Equal(t, ch.ID, d.RelatedChanges[0].ID)

	for _, step := range []func() (*incidentapi.Incident, error){
		func() (*incidentapi.Incident, error) { return alice.Ack(ctx, id, "", "looking") },
		func() (*incidentapi.Incident, error) { return alice.Assign(ctx, id, "", "bob") },
		func() (*incidentapi.Incident, error) { return alice.SetTier(ctx, id, "", "P2", "less urgent") },
		func() (*incidentapi.Incident, error) { return alice.Transition(ctx, id, "", "investigating", "") },
		func() (*incidentapi.Incident, error) { return alice.Resolve(ctx, id, "", "rolled back") },
		func() (*incidentapi.Incident, error) { return alice.Reopen(ctx, id, "", "back again") },
	} {
		inc, err := step()
		require.NoError(t, err)
		strict[incidentapi.Incident](t, rec)
		require.Equal(t, id, inc.ID)
	}
	n, err := alice.AddNote(ctx, id, "", incidentapi.NoteInput{Kind: "link", Text: "dashboard", URL: "https://grafana/d/x"})
	require.NoError(t, err)
	strict[incidentapi.Note](t, rec)
	require.Equal(t, "alice", n.Actor)

	tl, err := alice.Timeline(ctx, id)
	require.NoError(t, err)
	strict[incidentapi.Detail](t, rec)
	var kinds []string
	for _, e := range tl {
		kinds = append(kinds, e.Kind)
	}
	require.Contains(t, kinds, "reopened")

	st, err := alice.Stats(ctx, now.Add(-time.Hour), now.Add(time.Hour))
	require.NoError(t, err)
	strict[incidentapi.Stats](t, rec)
	require.Equal(t, 1, st.Total.Count)

	_, err = alice.Changes(ctx, now.Add(-time.Hour), now.Add(time.Hour))
	require.NoError(t, err)
	strict[incidentapi.ChangePage](t, rec)

	exp := now.Add(time.Hour).Truncate(time.Second)
	manual, err := alice.Contain(ctx, id, "", incidentapi.ContainmentRequest{Model: "fraud", Action: "block_inputs",
		Match: &incidentapi.ContainmentMatch{InputClass: "pdf_upload"}, Reason: "parser crash", ExpiresAt: &exp})
	require.NoError(t, err)
	strict[incidentapi.Containment](t, rec)
	require.Equal(t, incidentapi.ContainmentUntil("expires"), manual.Until)
	cs, err := appc.ListContainments(ctx, incidentapi.ContainmentFilter{Model: "fraud", Active: true})
	require.NoError(t, err)
	strict[incidentapi.ContainmentList](t, rec)
	require.Len(t, cs, 1, "the application reads the containment in force")
	_, err = appc.GetContainment(ctx, manual.ID)
	require.NoError(t, err)
	strict[incidentapi.ContainmentDetail](t, rec)
	lifted, err := alice.LiftContainment(ctx, manual.ID, "", "parser fixed")
	require.NoError(t, err)
	strict[incidentapi.Containment](t, rec)
	require.False(t, lifted.Active)
	_, err = alice.Containments(ctx, id)
	require.NoError(t, err)
	strict[incidentapi.ContainmentList](t, rec)

	require.Eventually(t, func() bool {
		ns, err := alice.Notifications(ctx, id)
		require.NoError(t, err)
		return len(ns.Notifications) > 0
	}, 10*time.Second, 50*time.Millisecond, "the team's Slack notified")
	strict[incidentapi.Notifications](t, rec)

	_, err = alice.SavePostmortem(ctx, id, "", "# AUC drop\n\n## Root cause\n\nv2.\n")
	require.NoError(t, err)
	strict[incidentapi.PostmortemSaved](t, rec)
	item, err := alice.AddActionItem(ctx, id, "", incidentapi.ActionItemInput{Text: "canary v3", Owner: "risk", Due: "2026-12-31"})
	require.NoError(t, err)
	strict[incidentapi.ActionItem](t, rec)
	_, err = alice.SetActionItemStatus(ctx, item.ID, "", "done")
	require.NoError(t, err)
	strict[incidentapi.ActionItem](t, rec)
	items, err := alice.ActionItems(ctx, id)
	require.NoError(t, err)
	strict[incidentapi.ActionItemList](t, rec)
	require.Len(t, items, 1)
	pm, err := alice.Postmortem(ctx, id)
	require.NoError(t, err)
	require.Contains(t, pm, "## Root cause")

	es, err := root.Audit(ctx, incidentapi.AuditFilter{Limit: 500})
	require.NoError(t, err)
	strict[incidentapi.AuditList](t, rec)
	require.NotEmpty(t, es)
	v, err := root.VerifyAudit(ctx)
	require.NoError(t, err)
	strict[incidentapi.AuditVerification](t, rec)
	require.True(t, v.OK, v.Problem)
}

// TestIncidentdClientErrors: an answer other than 2xx is an *Error with incidentd's status and the
// message naming what to fix, whatever the endpoint.
func TestIncidentdClientErrors(t *testing.T) {
	base := contractIncidentd(t)
	ctx := context.Background()
	alice := incidentapi.New(base, incidentapi.Options{Token: "alice-token"})

	_, err := alice.Transition(ctx, 1, "", "sideways", "")
	require.Equal(t, http.StatusBadRequest, incidentapi.StatusOf(err))
	var e *incidentapi.Error
	require.ErrorAs(t, err, &e)
	require.Contains(t, e.Message, "to: ")
	require.Contains(t, err.Error(), "sideways")

	_, err = alice.Get(ctx, 4242)
	require.Equal(t, http.StatusNotFound, incidentapi.StatusOf(err))
	require.ErrorContains(t, err, "incident 4242")

	_, err = incidentapi.New(base, incidentapi.Options{Token: "wrong"}).Get(ctx, 1)
	require.Equal(t, http.StatusUnauthorized, incidentapi.StatusOf(err))

	_, err = alice.Evidence(ctx, 1)
	require.Equal(t, http.StatusNotFound, incidentapi.StatusOf(err))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, l.Close())
	_, err = incidentapi.New("http://"+l.Addr().String(), incidentapi.Options{}).Get(ctx, 1)
	require.ErrorAs(t, err, &e)
	require.Zero(t, e.Status, "not reached")
}
