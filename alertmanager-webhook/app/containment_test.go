package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/webhook"
)

const containmentPolicies = `
containment:
  enabled: true
  max_actions_per_hour: 5
  policies:
    - name: p1-fallback
      match: ['tier="P1"', 'containment="fallback"']
      action: fallback
      lift: {after_resolve: manual}
`

// withContainment writes a configuration with automatic policies and an application token.
func withContainment(o *Options) {
	dir := filepath.Dir(o.ConfigFile)
	if err := os.WriteFile(o.ConfigFile, []byte(testConfig(containmentPolicies)), 0o600); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens.txt"), []byte("victor viewer view-token\nfraud-svc application app-token\n"), 0o600); err != nil {
		panic(err)
	}
}

// p1Fallback is a firing P1 alert on fraud v2 asking for its fallback v1.
func p1Fallback(at time.Time, status string) []byte {
	labels := map[string]string{"alertname": "FraudAUCDrop", "tier": "P1", "model": "fraud", "version": "v2", "fallback_version": "v1",
		"containment": "fallback", "team": "risk"}
	a := webhook.Alert{Status: status, Labels: labels, Annotations: map[string]string{"summary": "AUC dropped"}, StartsAt: at, Fingerprint: "f1"}
	if status == webhook.StatusResolved {
		a.EndsAt = at.Add(time.Minute)
	}
	m := webhook.Message{Version: "4", GroupKey: `{}:{alertname="FraudAUCDrop"}`, Receiver: "incidentd", Status: status, ExternalURL: "http://am:9093",
		GroupLabels: map[string]string{"alertname": "FraudAUCDrop"}, CommonLabels: labels, Alerts: []webhook.Alert{a}}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

type containmentList struct {
	Containments []containment.Containment `json:"containments"`
}

// TestContainmentEndToEnd runs incidentd in-process: a P1 alert asking for a fallback is
// contained by its policy within 2 s of the notification, an application token reads it
// (and nothing else), a responder lifts it, and the timeline, audit log, post-mortem and
// metric show each step.
func TestContainmentEndToEnd(t *testing.T) {
	h := start(t, withContainment)
	posted := time.Now()
	code, body := h.do("POST", "/api/v1/alertmanager", "s3cret", p1Fallback(h.clock.Now().Add(-time.Minute), webhook.StatusFiring))
	require.Equal(t, http.StatusOK, code, string(body))

	var list containmentList
	var etag string
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest("GET", h.url+"/api/v1/containments?model=fraud&active=true", nil)
		req.Header.Set("Authorization", "Bearer app-token")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		require.NoError(t, json.Unmarshal(b, &list))
		etag = resp.Header.Get("ETag")
		return len(list.Containments) == 1
	}, 2*time.Second, 50*time.Millisecond, "automatic containment applied within 2 s of the alert")
	t.Logf("contained %s after the notification", time.Since(posted).Round(time.Millisecond))
	c := list.Containments[0]
	require.Equal(t, "fraud", c.Model)
	require.Equal(t, "v2", c.Version)
	require.Equal(t, containment.Fallback, c.Action)
	require.Equal(t, "v1", c.FallbackVersion)
	require.Equal(t, "p1-fallback", c.Policy)
	require.Equal(t, int64(1), c.IncidentID)
	require.True(t, c.Active)
	require.Equal(t, containment.Fallen, containment.Decide(list.Containments, "fraud", "v2", nil).Action)

	// Nothing changed: 304 without a body.
	code, body = h.do("GET", "/api/v1/containments?model=fraud&active=true", "app-token", nil, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, code)
	require.Empty(t, body)

	// The application token reads containments and nothing else; viewers read, only
	// responders apply and lift.
	for _, tc := range []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/api/v1/containments/1", "app-token", nil, http.StatusOK},
		{"GET", "/api/v1/incidents", "app-token", nil, http.StatusForbidden},
		{"GET", "/api/v1/incidents/1/containments", "app-token", nil, http.StatusForbidden},
		{"POST", "/api/v1/containments", "app-token", map[string]any{"model": "fraud", "action": "disable", "reason": "r"}, http.StatusForbidden},
		{"POST", "/api/v1/containments/1/lift", "app-token", nil, http.StatusForbidden},
		{"GET", "/api/v1/incidents/1/containments", "view-token", nil, http.StatusOK},
		{"POST", "/api/v1/containments", "view-token", map[string]any{"model": "fraud", "action": "disable", "reason": "r"}, http.StatusForbidden},
		{"DELETE", "/api/v1/containments/1", "view-token", nil, http.StatusForbidden},
		{"GET", "/api/v1/containments", "", nil, http.StatusUnauthorized},
	} {
		code, body := h.do(tc.method, tc.path, tc.token, tc.body)
		require.Equal(t, tc.want, code, "%s %s as %s: %s", tc.method, tc.path, tc.token, body)
	}

	// Bad input: 400 naming the field, and nothing stored.
	past := h.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		body  string
		field string
	}{
		{`{"model":"fraud","action":"reroute","reason":"r"}`, "action"},
		{`{"action":"disable","reason":"r"}`, "model"},
		{`{"model":"fraud","action":"disable","reason":"r","expires_at":"` + past + `"}`, "expires_at"},
		{`{"model":"fraud","action":"block_inputs","reason":"r","match":{"feature":"country","value":"*"}}`, "match.value"},
		{`{"model":"fraud","action":"block_inputs","reason":"r"}`, "match"},
		{`{"model":"fraud","action":"fallback","reason":"r"}`, "fallback_version"},
		{`{"model":"froud","action":"disable","reason":"typo"}`, "model"},
		{`{"model":"fraud","action":"disable","reason":"r","incident":99}`, "incident"},
		{`{"model":"fraud","action":"disable","reason":"r","colour":"red"}`, "colour"},
	} {
		code, body := h.do("POST", "/api/v1/containments", "alice-token", tc.body)
		require.Equal(t, http.StatusBadRequest, code, tc.body)
		var e map[string]string
		require.NoError(t, json.Unmarshal(body, &e))
		require.Contains(t, e["error"], tc.field, tc.body)
	}
	code, body = h.do("GET", "/api/v1/containments", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Containments, 1, "refused requests stored nothing")

	metric := func() string {
		_, b := h.do("GET", "/metrics", "", nil)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "incidentd_containments_active{") {
				return l
			}
		}
		return ""
	}
	require.Equal(t, `incidentd_containments_active{action="fallback",model="fraud"} 1`, metric())

	// A responder adds a block from the incident, then lifts the fallback.
	code, body = h.do("POST", "/api/v1/incidents/1/containments", "alice-token",
		`{"model":"fraud","action":"block_inputs","match":{"input_class":"pdf_upload"},"reason":"parser crashes on PDFs","until_resolved":true,"lift_after":"10m"}`)
	require.Equal(t, http.StatusCreated, code, string(body))
	code, body = h.do("DELETE", "/api/v1/containments/1", "alice-token", `{"reason":"v2 retrained"}`)
	require.Equal(t, http.StatusOK, code, string(body))
	code, body = h.do("POST", "/api/v1/containments/1/lift", "alice-token", nil)
	require.Equal(t, http.StatusConflict, code, string(body))
	code, _ = h.do("GET", "/api/v1/containments?model=fraud&active=true", "app-token", nil, "If-None-Match", etag)
	require.Equal(t, http.StatusOK, code, "the ETag changes when the active set does")

	code, body = h.do("GET", "/api/v1/incidents/1", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"kind":"containment_applied"`)
	require.Contains(t, string(body), `"kind":"containment_lifted"`)
	code, body = h.do("GET", "/api/v1/incidents/1/postmortem", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), "containment applied (system): #1 fallback fraud v2 → v1")
	require.Contains(t, string(body), "containment lifted (alice): #1 fallback fraud lifted: v2 retrained")

	code, body = h.do("GET", "/api/v1/audit?object=containment/1", "admin-token", nil)
	require.Equal(t, http.StatusOK, code)
	var au struct {
		Entries []struct{ Action, Actor string } `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(body, &au))
	require.Equal(t, fmt.Sprint([]struct{ Action, Actor string }{{"containment.applied", "system"}, {"containment.lifted", "alice"}}), fmt.Sprint(au.Entries))
	require.Equal(t, `incidentd_containments_active{action="block_inputs",model="fraud"} 1`, metric())
}
