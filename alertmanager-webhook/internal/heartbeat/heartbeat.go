// Package heartbeat is incidentd's dead-man's switch. Alertmanager's always-firing
// Watchdog alert (or any heartbeat alert named in the configuration) arrives with every
// repeat interval; heartbeat alerts are recorded, not turned into incidents, and when one
// has not arrived for its configured time incidentd opens a P1 incident itself —
// monitoring that has stopped is an incident. It resolves when the heartbeat returns.
//
// The incident is opened by ingesting a synthetic notification whose alert occurrence is
// (heartbeat fingerprint, the moment it went missing), so every replica that notices
// produces the same occurrence and the ordinary idempotent ingest keeps one incident.
package heartbeat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/webhook"
)

// Config names a heartbeat alert and how long it may stay away.
type Config struct {
	Alertname string         `yaml:"alertname"`
	After     model.Duration `yaml:"after"`
	Team      string         `yaml:"team"`
}

// Validate checks a heartbeat.
func (c Config) Validate() error {
	if c.Alertname == "" {
		return errors.New("alertname: required (e.g. Watchdog)")
	}
	if time.Duration(c.After) < time.Minute {
		return errors.New("after: at least 1m, and longer than Alertmanager's repeat_interval for the heartbeat")
	}
	return nil
}

// Watch records heartbeats and opens incidents for missing ones.
type Watch struct {
	DB     *store.DB
	Ingest webhook.Ingester
	Config func() []Config
	Now    func() time.Time
}

// Ingester wraps next: heartbeat alerts are recorded and taken out of the notification;
// the rest goes on to next.
func (w *Watch) Ingester(next webhook.Ingester) webhook.Ingester { return ingester{w, next} }

type ingester struct {
	w    *Watch
	next webhook.Ingester
}

func (i ingester) Ingest(ctx context.Context, m *webhook.Message) (webhook.Outcome, error) {
	names := map[string]bool{}
	for _, c := range i.w.Config() {
		names[c.Alertname] = true
	}
	if len(names) == 0 {
		return i.next.Ingest(ctx, m)
	}
	rest := m.Alerts[:0:0]
	var seen []string
	for _, a := range m.Alerts {
		if n := a.Labels["alertname"]; names[n] {
			if a.Status == webhook.StatusFiring {
				seen = append(seen, n)
			}
			continue
		}
		rest = append(rest, a)
	}
	if len(seen) > 0 {
		if err := i.w.record(ctx, seen); err != nil {
			return webhook.Outcome{}, err
		}
	}
	if len(rest) == 0 {
		return webhook.Outcome{Incidents: []int64{}}, nil
	}
	cp := *m
	cp.Alerts = rest
	return i.next.Ingest(ctx, &cp)
}

func (w *Watch) record(ctx context.Context, names []string) error {
	return w.DB.RecordHeartbeats(ctx, names, w.Now())
}

// Start counts a heartbeat never seen as seen now, so a fresh start waits the full time.
func (w *Watch) Start(ctx context.Context) error {
	var names []string
	for _, c := range w.Config() {
		names = append(names, c.Alertname)
	}
	return w.DB.StartHeartbeats(ctx, names, w.Now())
}

func fingerprint(name string) string {
	h := sha256.Sum256([]byte("incidentd-heartbeat\x00" + name))
	return hex.EncodeToString(h[:8])
}

// Check opens an incident for each heartbeat missing longer than its After, and resolves
// it once the heartbeat is back.
func (w *Watch) Check(ctx context.Context) error {
	now := w.Now().UTC()
	var errs []error
	for _, c := range w.Config() {
		seen, ok, err := w.DB.HeartbeatSeen(ctx, c.Alertname)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue // Start has not run yet
		}
		missingSince := seen.Add(time.Duration(c.After))
		labels := map[string]string{"alertname": "HeartbeatMissing", "heartbeat": c.Alertname, "tier": "P1", "severity": "critical"}
		if c.Team != "" {
			labels["team"] = c.Team
		}
		a := webhook.Alert{Status: webhook.StatusFiring, Labels: labels, Fingerprint: fingerprint(c.Alertname), StartsAt: missingSince,
			Annotations: map[string]string{"summary": fmt.Sprintf("No %s heartbeat from Alertmanager since %s: alerting itself may be down", c.Alertname, seen.Format(time.RFC3339))}}
		m := &webhook.Message{Version: "4", GroupKey: "incidentd/heartbeat:" + c.Alertname, Receiver: "incidentd", Status: webhook.StatusFiring,
			GroupLabels: map[string]string{"heartbeat": c.Alertname}, CommonLabels: labels, ExternalURL: "incidentd"}
		if !now.Before(missingSince) {
			m.Alerts = []webhook.Alert{a}
		} else {
			// Back: resolve the occurrences opened while it was missing.
			starts, err := w.DB.FiringOccurrences(ctx, a.Fingerprint)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, st := range starts {
				r := a
				r.Status, r.StartsAt, r.EndsAt = webhook.StatusResolved, st, now
				m.Alerts = append(m.Alerts, r)
			}
			if len(m.Alerts) == 0 {
				continue
			}
			m.Status = webhook.StatusResolved
		}
		if _, err := w.Ingest.Ingest(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("open heartbeat incident for %s: %w", c.Alertname, err))
		}
	}
	return errors.Join(errs...)
}
