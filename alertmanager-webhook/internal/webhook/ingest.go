package webhook

import (
	"context"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Store keeps notifications in incidentd's own terms; *store.DB is one.
type Store interface {
	Ingest(ctx context.Context, n *incident.Notification) (incident.Outcome, error)
}

// Storing returns the Ingester that hands each notification to s, converted from the
// wire format: the store never sees Alertmanager's.
func Storing(s Store) Ingester { return storing{s} }

type storing struct{ s Store }

func (i storing) Ingest(ctx context.Context, m *Message) (Outcome, error) {
	return i.s.Ingest(ctx, m.Notification())
}

// Notification converts m into incidentd's terms. Labels and annotations are shared, not
// copied; what only Alertmanager or Grafana needs (the receiver's group labels, Grafana's
// URLs, truncation counts) stays behind.
func (m *Message) Notification() *incident.Notification {
	n := &incident.Notification{GroupKey: m.GroupKey, Receiver: m.Receiver, Status: incident.AlertStatus(m.Status), ExternalURL: m.ExternalURL,
		CommonLabels: m.CommonLabels, CommonAnnotations: m.CommonAnnotations, Alerts: make([]incident.Alert, len(m.Alerts))}
	for i := range m.Alerts {
		a := &m.Alerts[i]
		n.Alerts[i] = incident.Alert{Fingerprint: a.Fingerprint, Status: incident.AlertStatus(a.Status), StartsAt: a.StartsAt, EndsAt: a.EndsAt,
			Labels: a.Labels, Annotations: a.Annotations, GeneratorURL: a.GeneratorURL}
	}
	return n
}
