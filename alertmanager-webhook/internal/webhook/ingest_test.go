package webhook

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

type storeFunc func(ctx context.Context, n *incident.Notification) (incident.Outcome, error)

func (f storeFunc) Ingest(ctx context.Context, n *incident.Notification) (incident.Outcome, error) {
	return f(ctx, n)
}

// What the store keeps of a real Alertmanager notification arrives through Storing: every
// field the lifecycle and the store read, each alert in order.
func TestStoringConvertsTheWireFormat(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "partly-resolved-group.json"))
	require.NoError(t, err)
	defer f.Close()
	m, err := Decode(f)
	require.NoError(t, err)
	require.Greater(t, len(m.Alerts), 1)

	var got *incident.Notification
	out, err := Storing(storeFunc(func(_ context.Context, n *incident.Notification) (incident.Outcome, error) {
		got = n
		return incident.Outcome{NewTransitions: 3, Incidents: []int64{4}}, nil
	})).Ingest(context.Background(), m)
	require.NoError(t, err)
	require.Equal(t, Outcome{NewTransitions: 3, Incidents: []int64{4}}, out, "the store's outcome is the answer")

	want := &incident.Notification{GroupKey: m.GroupKey, Receiver: m.Receiver, Status: incident.AlertStatus(m.Status), ExternalURL: m.ExternalURL,
		CommonLabels: m.CommonLabels, CommonAnnotations: m.CommonAnnotations}
	for _, a := range m.Alerts {
		want.Alerts = append(want.Alerts, incident.Alert{Fingerprint: a.Fingerprint, Status: incident.AlertStatus(a.Status), StartsAt: a.StartsAt, EndsAt: a.EndsAt,
			Labels: a.Labels, Annotations: a.Annotations, GeneratorURL: a.GeneratorURL})
	}
	require.Equal(t, want, got)
	var resolved int
	for i := range got.Alerts {
		if got.Alerts[i].Resolved() {
			resolved++
			require.False(t, got.Alerts[i].EndsAt.IsZero())
		}
	}
	require.Positive(t, resolved, "the capture has a resolved alert")
}
