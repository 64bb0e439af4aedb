package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/test/incidentdtest"
)

// TestIncidentdResponseChangesContract: what incidentd's change log serves is what the
// API client (incidentapi, which the Grafana plugin uses) decodes, the description posted
// read back as text.
func TestIncidentdResponseChangesContract(t *testing.T) {
	base := incdrStart(t, "api:\n  tokens: [{subject: ci, role: responder, token_sha256: \""+incidentdtest.SHA("ci-token")+"\"}]\n")
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	req, err := http.NewRequest("POST", base+"/api/v1/changes", strings.NewReader(`{"kind":"model_version","model":"fraud-v3","team":"ml-platform","version":"3.1",
		"description":"retrained","labels":{"env":"prod"},"at":"`+at.Format(time.RFC3339)+`"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer ci-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	c := incidentapi.New(base, incidentapi.Options{Token: "ci-token"})
	got, err := c.Changes(context.Background(), at.Add(-time.Minute), at.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, incidentapi.Change{ID: got[0].ID, At: at, Kind: "model_version", Title: "retrained", Text: "retrained", Model: "fraud-v3",
		Team: "ml-platform", Actor: "ci", Labels: map[string]string{"env": "prod"}, Version: "3.1", RecordedBy: "ci", RecordedAt: got[0].RecordedAt}, got[0])
}
