package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/webhook"
)

// SystemActor is the actor of changes incidentd makes itself.
const SystemActor = "system"

type part struct {
	key    string
	labels map[string]string
	alerts []*webhook.Alert
}

// partition splits a notification into incident groups: one for Alertmanager's groupKey,
// or one per distinct value set of the configured labels.
func (s *DB) partition(m *webhook.Message, groupBy []string) []part {
	if len(groupBy) == 0 {
		p := part{key: m.GroupKey, labels: m.CommonLabels}
		for i := range m.Alerts {
			p.alerts = append(p.alerts, &m.Alerts[i])
		}
		return []part{p}
	}
	byKey := map[string]*part{}
	for i := range m.Alerts {
		a := &m.Alerts[i]
		ls := make(map[string]string, len(groupBy))
		var b strings.Builder
		b.WriteString("labels:{")
		for j, n := range groupBy {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%q", n, a.Labels[n])
			if v := a.Labels[n]; v != "" {
				ls[n] = v
			}
		}
		b.WriteString("}")
		k := b.String()
		p := byKey[k]
		if p == nil {
			p = &part{key: k, labels: ls}
			byKey[k] = p
		}
		p.alerts = append(p.alerts, a)
	}
	out := make([]part, 0, len(byKey))
	for _, p := range byKey {
		out = append(out, *p)
	}
	// A fixed lock order across groups keeps concurrent replicas from deadlocking.
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// Ingest stores a notification; it returns after the commit.
func (s *DB) Ingest(ctx context.Context, m *webhook.Message) (webhook.Outcome, error) {
	cfg := s.cfg
	parts := s.partition(m, cfg.GroupBy)
	var out webhook.Outcome
	err := s.write(ctx, "ingest", func(ctx context.Context, tx *sql.Tx) error {
		out = webhook.Outcome{}
		now := s.now().UTC()
		for _, p := range parts {
			if err := s.ingestGroup(ctx, tx, cfg, m, p, now, &out); err != nil {
				return fmt.Errorf("group %q: %w", p.key, err)
			}
		}
		if out.NewTransitions == 0 && out.Orphans == 0 {
			return nil // a pure duplicate changes nothing, so there is nothing to audit
		}
		after, _ := json.Marshal(map[string]any{
			"group_key": m.GroupKey, "receiver": m.Receiver, "status": m.Status, "external_url": m.ExternalURL,
			"alerts": len(m.Alerts), "new_transitions": out.NewTransitions, "duplicates": out.Duplicates,
			"orphans": out.Orphans, "incidents": out.Incidents,
		})
		return s.appendAudit(ctx, tx, now, SystemActor, "notification.ingested", "group/"+m.GroupKey, nil, after)
	})
	if err != nil {
		return webhook.Outcome{}, err
	}
	return out, nil
}

func (s *DB) ingestGroup(ctx context.Context, tx *sql.Tx, cfg Config, m *webhook.Message, p part, now time.Time, out *webhook.Outcome) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO alert_groups (group_key, incident_id) VALUES (?, 0) ON CONFLICT (group_key) DO NOTHING`, p.key); err != nil {
		return err
	}
	var curID int64
	// The row lock serializes every replica ingesting this group.
	if err := tx.QueryRowContext(ctx, s.d.q(`SELECT incident_id FROM alert_groups WHERE group_key = ?`+s.d.ForUpdate), p.key).Scan(&curID); err != nil {
		return fmt.Errorf("lock group: %w", err)
	}
	var cur *Incident
	if curID != 0 {
		var err error
		if cur, err = s.loadIncident(ctx, tx, curID); err != nil {
			return err
		}
	}
	touched := map[int64]bool{}
	for _, a := range p.alerts {
		res, err := s.exec(ctx, tx, `INSERT INTO alert_transitions (fingerprint, starts_at, status, ends_at, received_at, external_url)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint, starts_at, status, ends_at) DO NOTHING`,
			a.Fingerprint, nanos(a.StartsAt), a.Status, nanos(a.EndsAt), nanos(now), m.ExternalURL)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out.Duplicates++
			continue
		}
		out.NewTransitions++

		var (
			alertID, incID int64
			status         string
			endsAt         int64
		)
		err = tx.QueryRowContext(ctx, s.d.q(`SELECT id, incident_id, status, ends_at FROM alerts WHERE fingerprint = ? AND starts_at = ?`),
			a.Fingerprint, nanos(a.StartsAt)).Scan(&alertID, &incID, &status, &endsAt)
		switch {
		case err == nil:
			// Resolved is final for an occurrence (a re-fire has a new startsAt); a late
			// "firing" for a resolved occurrence is a retry arriving out of order.
			if a.Resolved() && (status != webhook.StatusResolved || nanos(a.EndsAt) > endsAt) {
				if incID != 0 {
					touched[incID] = true
				}
				if _, err := s.exec(ctx, tx, `UPDATE alerts SET status = ?, ends_at = ?, last_change = ? WHERE id = ?`,
					webhook.StatusResolved, max(nanos(a.EndsAt), endsAt), nanos(now), alertID); err != nil {
					return err
				}
			}
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("find alert: %w", err)
		}

		if a.Resolved() {
			// Fired and resolved inside group_wait, or its firing was never delivered: it
			// belongs to the group's open incident if there is one, otherwise it opens nothing.
			target := int64(0)
			if cur != nil && cur.State.Open() {
				target = cur.ID
				touched[target] = true
			} else {
				out.Orphans++
			}
			if err := s.insertAlert(ctx, tx, target, p.key, a, now); err != nil {
				return err
			}
			continue
		}

		switch {
		case cur == nil || (!cur.State.Open() && a.StartsAt.Sub(cur.ResolvedAt) > cfg.ReopenWindow):
			cur = newIncident(p, m, a, now)
			if err := s.insertIncident(ctx, tx, cur); err != nil {
				return err
			}
			if _, err := s.exec(ctx, tx, `UPDATE alert_groups SET incident_id = ? WHERE group_key = ?`, cur.ID, p.key); err != nil {
				return err
			}
			if err := s.addTimeline(ctx, tx, cur.ID, now, SystemActor, "opened", "", incident.Detected, "alert "+a.Labels["alertname"]+" firing"); err != nil {
				return err
			}
		case !cur.State.Open():
			from := cur.State
			cur.State = incident.Detected
			cur.ResolvedAt, cur.ReviewedAt, cur.ResolvedBy = time.Time{}, time.Time{}, ""
			cur.ReopenCount++
			if err := s.addTimeline(ctx, tx, cur.ID, now, SystemActor, "reopened", from, incident.Detected,
				fmt.Sprintf("alert %s fired again within the reopen window", a.Labels["alertname"])); err != nil {
				return err
			}
			touched[cur.ID] = true
		}
		if a.StartsAt.Before(cur.DetectedAt) {
			cur.DetectedAt = a.StartsAt
		}
		if err := s.insertAlert(ctx, tx, cur.ID, p.key, a, now); err != nil {
			return err
		}
		touched[cur.ID] = true
	}

	ids := make([]int64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		inc := cur
		if cur == nil || cur.ID != id {
			var err error
			if inc, err = s.loadIncident(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := s.settle(ctx, tx, cfg, inc, now); err != nil {
			return err
		}
		out.Incidents = appendUnique(out.Incidents, id)
	}
	if cur != nil && len(ids) == 0 {
		out.Incidents = appendUnique(out.Incidents, cur.ID)
	}
	return nil
}

// settle recounts an incident's alerts and resolves it when none fire any more.
func (s *DB) settle(ctx context.Context, tx *sql.Tx, cfg Config, inc *Incident, now time.Time) error {
	var firing, total int
	var lastEnd sql.NullInt64
	err := tx.QueryRowContext(ctx, s.d.q(`SELECT COALESCE(SUM(CASE WHEN status = 'firing' THEN 1 ELSE 0 END), 0), COUNT(*), MAX(ends_at)
		FROM alerts WHERE incident_id = ?`), inc.ID).Scan(&firing, &total, &lastEnd)
	if err != nil {
		return fmt.Errorf("count alerts: %w", err)
	}
	wasFiring := inc.AlertsFiring
	inc.AlertsFiring, inc.AlertsTotal = firing, total
	inc.UpdatedAt = now
	if inc.State.Open() && firing == 0 && total > 0 {
		if cfg.AutoResolve {
			from := inc.State
			// The incident ended when its last alert ended, as Alertmanager reported it;
			// never earlier than a step already recorded.
			at := fromNanos(lastEnd.Int64)
			if l := inc.latestStep(); at.Before(l) {
				at = l
			}
			inc.State = incident.Resolved
			inc.ResolvedAt = at
			inc.ResolvedBy = SystemActor
			if err := s.addTimeline(ctx, tx, inc.ID, now, SystemActor, "resolved", from, incident.Resolved, "all alerts resolved"); err != nil {
				return err
			}
		} else if wasFiring > 0 {
			if err := s.addTimeline(ctx, tx, inc.ID, now, SystemActor, "alerts_resolved", "", "", "all alerts resolved; waiting for a human to resolve"); err != nil {
				return err
			}
		}
	}
	return s.updateIncident(ctx, tx, inc)
}

func appendUnique(s []int64, v int64) []int64 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func newIncident(p part, m *webhook.Message, a *webhook.Alert, now time.Time) *Incident {
	labels := map[string]string{}
	for k, v := range p.labels {
		labels[k] = v
	}
	pick := func(names ...string) string {
		for _, n := range names {
			if v := labels[n]; v != "" {
				return v
			}
			if v := a.Labels[n]; v != "" {
				return v
			}
		}
		return ""
	}
	title := m.CommonAnnotations["summary"]
	if title == "" {
		title = a.Labels["alertname"]
		if mdl := pick("model"); mdl != "" {
			title += " on " + mdl
		}
	}
	summary := a.Annotations["summary"]
	if summary == "" {
		summary = a.Annotations["description"]
	}
	tier := incident.TierFromLabels(labels)
	if tier == "" {
		tier = incident.TierFromLabels(a.Labels)
	}
	return &Incident{
		GroupKey: p.key, Title: truncate(title, 512), Summary: truncate(summary, 4096),
		Tier: tier, AlertTier: tier, Team: pick("team", "owner"), Model: pick("model"),
		Labels: labels, State: incident.Detected, DetectedAt: a.StartsAt, CreatedAt: now, UpdatedAt: now,
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s *DB) insertAlert(ctx context.Context, tx *sql.Tx, incID int64, key string, a *webhook.Alert, now time.Time) error {
	labels, _ := json.Marshal(a.Labels)
	ann, _ := json.Marshal(a.Annotations)
	// DO NOTHING: the same occurrence may already belong to another group (two routes).
	_, err := s.exec(ctx, tx, `INSERT INTO alerts (incident_id, group_key, fingerprint, starts_at, ends_at, status, labels, annotations, generator_url, first_seen, last_change)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint, starts_at) DO NOTHING`,
		incID, key, a.Fingerprint, nanos(a.StartsAt), nanos(a.EndsAt), a.Status, string(labels), string(ann), a.GeneratorURL, nanos(now), nanos(now))
	return err
}

func (s *DB) addTimeline(ctx context.Context, tx *sql.Tx, incID int64, at time.Time, actor, kind string, from, to incident.State, note string) error {
	_, err := s.exec(ctx, tx, `INSERT INTO timeline (incident_id, at, actor, kind, from_state, to_state, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		incID, nanos(at), actor, kind, string(from), string(to), note)
	return err
}
