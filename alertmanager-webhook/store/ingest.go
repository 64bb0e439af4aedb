package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/webhook"
)

// SystemActor is the actor of changes incidentd makes itself.
const SystemActor = "system"

type part struct {
	key    string
	labels map[string]string
	alerts []*webhook.Alert
	// labelsJSON is labels as an incident stores them, encoded before the writer.
	labelsJSON []byte
}

// encodeLabels encodes a group's labels as newIncident stores them: a map, never null.
func encodeLabels(l map[string]string) []byte {
	if l == nil {
		l = map[string]string{}
	}
	return marshalStringMap(l)
}

// encodedAlert is an alert's labels and annotations as stored. They are encoded before
// the write so that the writer's serial section runs only SQL.
type encodedAlert struct{ labels, annotations string }

func encodeAlerts(m *webhook.Message) map[*webhook.Alert]encodedAlert {
	out := make(map[*webhook.Alert]encodedAlert, len(m.Alerts))
	for i := range m.Alerts {
		a := &m.Alerts[i]
		out[a] = encodedAlert{labels: string(marshalStringMap(a.Labels)), annotations: string(marshalStringMap(a.Annotations))}
	}
	return out
}

// ingestAudit is the audit record of an ingested notification. Its fields are in
// alphabetical order, which keeps the stored JSON what encoding a map gave before.
type ingestAudit struct {
	Alerts         int     `json:"alerts"`
	Duplicates     int     `json:"duplicates"`
	ExternalURL    string  `json:"external_url"`
	GroupKey       string  `json:"group_key"`
	Incidents      []int64 `json:"incidents"`
	NewTransitions int     `json:"new_transitions"`
	Orphans        int     `json:"orphans"`
	Receiver       string  `json:"receiver"`
	Status         string  `json:"status"`
}

// partition splits a notification into incident groups: one for Alertmanager's groupKey,
// or one per distinct value set of the configured labels.
func (s *DB) partition(m *webhook.Message, groupBy []string) []part {
	if len(groupBy) == 0 {
		p := part{key: m.GroupKey, labels: m.CommonLabels}
		p.labelsJSON = encodeLabels(p.labels)
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
		p.labelsJSON = encodeLabels(p.labels)
		out = append(out, *p)
	}
	// A fixed lock order across groups keeps concurrent replicas from deadlocking.
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// Ingest stores a notification; it returns after the commit.
func (s *DB) Ingest(ctx context.Context, m *webhook.Message) (webhook.Outcome, error) {
	cfg := s.Config()
	parts := s.partition(m, cfg.GroupBy)
	// Repeats, retries and every HA replica re-send what is already stored; recognising
	// them with a read keeps them out of the writer and its fsyncs. What is read is
	// committed, so answering 200 is still "durable before acknowledged".
	if dup, err := s.allRecorded(ctx, m); err != nil {
		return webhook.Outcome{}, err
	} else if dup {
		return webhook.Outcome{Duplicates: len(m.Alerts)}, nil
	}
	enc := encodeAlerts(m)
	var out webhook.Outcome
	err := s.write(ctx, "ingest", func(ctx context.Context, tx *sql.Tx) error {
		out = webhook.Outcome{}
		now := s.now().UTC()
		for _, p := range parts {
			if err := s.ingestGroup(ctx, tx, cfg, m, p, enc, now, &out); err != nil {
				return fmt.Errorf("group %q: %w", p.key, err)
			}
		}
		if out.NewTransitions == 0 && out.Orphans == 0 {
			return nil // a pure duplicate changes nothing, so there is nothing to audit
		}
		after, _ := json.Marshal(ingestAudit{
			GroupKey: m.GroupKey, Receiver: m.Receiver, Status: m.Status, ExternalURL: m.ExternalURL,
			Alerts: len(m.Alerts), NewTransitions: out.NewTransitions, Duplicates: out.Duplicates,
			Orphans: out.Orphans, Incidents: out.Incidents,
		})
		return s.appendAudit(ctx, tx, now, SystemActor, "notification.ingested", "group/"+m.GroupKey, nil, after)
	})
	if err != nil {
		return webhook.Outcome{}, err
	}
	return out, nil
}

// allRecorded reports whether every transition of m is already stored.
func (s *DB) allRecorded(ctx context.Context, m *webhook.Message) (bool, error) {
	if len(m.Alerts) == 0 || len(m.Alerts) > rowsPerStatement {
		return false, nil
	}
	if s.d.SingleWriter {
		// SQLite index lookups finish sooner than the driver can arm the interruption a
		// cancellable context costs it on every statement (a goroutine and a progress
		// handler), and a WAL reader never waits for a lock. A PostgreSQL query keeps the
		// request's context: it travels over a network that may hang.
		ctx = context.WithoutCancel(ctx)
	}
	// Most notifications that are not repeats carry a new transition in their first
	// alert already; one primary-key probe rules them out at a fraction of the cost of
	// checking the whole set.
	a := m.Alerts[0]
	var one int
	switch err := s.readRow(ctx, `SELECT 1 FROM alert_transitions WHERE fingerprint = ? AND starts_at = ? AND status = ? AND ends_at = ?`,
		a.Fingerprint, nanos(a.StartsAt), a.Status, nanos(a.EndsAt)).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, s.unavailable(err)
	}
	if len(m.Alerts) == 1 {
		return true, nil
	}
	type tkey struct {
		fp, status  string
		start, ends int64
	}
	uniq := map[tkey]bool{}
	args := make([]any, 0, 4*len(m.Alerts))
	for _, a := range m.Alerts {
		k := tkey{a.Fingerprint, a.Status, nanos(a.StartsAt), nanos(a.EndsAt)}
		if !uniq[k] {
			uniq[k] = true
			args = append(args, k.fp, k.start, k.status, k.ends)
		}
	}
	q := `SELECT COUNT(*) FROM alert_transitions WHERE (fingerprint, starts_at, status, ends_at) IN (VALUES ` +
		strings.TrimSuffix(strings.Repeat("(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT)), ", len(uniq)), ", ") + `)`
	var n int
	if err := s.readRow(ctx, q, args...).Scan(&n); err != nil {
		return false, s.unavailable(err)
	}
	return n == len(uniq), nil
}

// errGuessFailed reports that an assumption of the optimistic ingest path did not hold;
// the group is rolled back to its savepoint and ingested the careful way.
var errGuessFailed = errors.New("optimistic ingest: guess failed")

// ingestGroup stores one incident group of a notification.
//
// With a single writer (SQLite) nothing can change between a read and a write of the same
// transaction, and a notification that is not a repeat usually brings only new
// transitions of alerts never seen. The first attempt bets on that: plain inserts whose
// row counts confirm the bet instead of INSERT … RETURNING (which costs SQLite twice a
// plain insert) and no lookup of existing alerts when every new transition is a firing
// one. When a count disagrees, the group's savepoint undoes the attempt and the careful
// path, the one PostgreSQL always takes, runs instead.
func (s *DB) ingestGroup(ctx context.Context, tx *sql.Tx, cfg Config, m *webhook.Message, p part, enc map[*webhook.Alert]encodedAlert, now time.Time, out *webhook.Outcome) error {
	if !s.d.SingleWriter {
		return s.ingestGroupOnce(ctx, tx, cfg, m, p, enc, now, out, false)
	}
	if _, err := s.exec(ctx, tx, `SAVEPOINT ingest_group`); err != nil {
		return err
	}
	saved := *out
	saved.Incidents = slices.Clone(out.Incidents)
	err := s.ingestGroupOnce(ctx, tx, cfg, m, p, enc, now, out, true)
	if errors.Is(err, errGuessFailed) {
		*out = saved
		if _, err := s.exec(ctx, tx, `ROLLBACK TO ingest_group`); err != nil {
			return err
		}
		err = s.ingestGroupOnce(ctx, tx, cfg, m, p, enc, now, out, false)
	}
	if err != nil {
		// The writer rolls back the whole write, this savepoint included.
		return err
	}
	_, err = s.exec(ctx, tx, `RELEASE ingest_group`)
	return err
}

// pendingIncidentID stands for the incident a notification opens until it is inserted,
// once its alerts are counted, so that it is written once rather than inserted and updated.
const pendingIncidentID = -1

func (s *DB) ingestGroupOnce(ctx context.Context, tx *sql.Tx, cfg Config, m *webhook.Message, p part, enc map[*webhook.Alert]encodedAlert, now time.Time, out *webhook.Outcome, optimistic bool) error {
	curID, haveGroup, err := s.groupIncident(ctx, tx, p.key)
	if err != nil {
		return err
	}
	var cur, curOrig *Incident
	if curID != 0 {
		var err error
		if cur, err = s.loadIncident(ctx, tx, curID); err != nil {
			return err
		}
		o := *cur
		curOrig = &o
	}
	fresh, err := s.recordTransitions(ctx, tx, m, p.alerts, now, optimistic)
	if err != nil {
		return err
	}
	out.NewTransitions += len(fresh)
	out.Duplicates += len(p.alerts) - len(fresh)
	// A firing transition never recorded is, but for out-of-order retries, an alert never
	// seen: the optimistic path skips the lookup and lets the insert's count confirm it.
	assumeNew := optimistic && !slices.ContainsFunc(fresh, (*webhook.Alert).Resolved)
	existing := map[occurrence]*existingAlert{}
	if !assumeNew {
		if existing, err = s.findAlerts(ctx, tx, fresh); err != nil {
			return err
		}
	}
	touched := map[int64]*countDelta{}
	touch := func(id int64) *countDelta {
		d := touched[id]
		if d == nil {
			d = &countDelta{}
			touched[id] = d
		}
		return d
	}
	var pending []*pendingAlert
	pendingByOcc := map[occurrence]*pendingAlert{}
	openedBy := "" // the alert that opened a new incident
	for _, a := range fresh {
		occ := occurrence{a.Fingerprint, nanos(a.StartsAt)}
		if pa := pendingByOcc[occ]; pa != nil {
			// The same occurrence twice in one notification: resolved wins.
			if a.Resolved() {
				if pa.status == webhook.StatusFiring && pa.incidentID != 0 {
					touch(pa.incidentID).firing--
				}
				pa.status, pa.endsAt = webhook.StatusResolved, max(pa.endsAt, nanos(a.EndsAt))
			}
			continue
		}
		if ex, ok := existing[occ]; ok {
			// Resolved is final for an occurrence (a re-fire has a new startsAt); a late
			// "firing" for a resolved occurrence is a retry arriving out of order.
			if a.Resolved() && (ex.status != webhook.StatusResolved || nanos(a.EndsAt) > ex.endsAt) {
				ex.endsAt = max(nanos(a.EndsAt), ex.endsAt)
				// Conditional on the stored status, so that two writers racing on the same
				// alert (two routes) cannot both count it as newly resolved.
				res, err := s.exec(ctx, tx, `UPDATE alerts SET status = 'resolved', ends_at = ?, last_change = ? WHERE id = ? AND status = 'firing'`,
					ex.endsAt, nanos(now), ex.id)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 1 {
					if ex.incidentID != 0 {
						touch(ex.incidentID).firing--
					}
				} else if _, err := s.exec(ctx, tx, `UPDATE alerts SET ends_at = ?, last_change = ? WHERE id = ? AND ends_at < ?`,
					ex.endsAt, nanos(now), ex.id, ex.endsAt); err != nil {
					return err
				}
				ex.status = webhook.StatusResolved
				if ex.incidentID != 0 {
					touch(ex.incidentID)
				}
			}
			continue
		}

		if a.Resolved() {
			// Fired and resolved inside group_wait, or its firing was never delivered: it
			// belongs to the group's open incident if there is one, otherwise it opens nothing.
			target := int64(0)
			if cur != nil && cur.State.Open() {
				target = cur.ID
				touch(target).total++
			} else {
				out.Orphans++
			}
			pa := &pendingAlert{a: a, incidentID: target, status: a.Status, endsAt: nanos(a.EndsAt)}
			pending = append(pending, pa)
			pendingByOcc[occ] = pa
			continue
		}

		switch {
		case cur == nil || (!cur.State.Open() && a.StartsAt.Sub(cur.ResolvedAt) > cfg.ReopenWindow):
			// Inserted after the loop, with its counts; until then it is pendingIncidentID.
			cur, curOrig = newIncident(p, m, a, now), nil
			cur.ID = pendingIncidentID
			openedBy = a.Labels["alertname"]
		case !cur.State.Open():
			from := cur.State
			cur.State = incident.Detected
			cur.ResolvedAt, cur.ReviewedAt, cur.ResolvedBy = time.Time{}, time.Time{}, ""
			cur.ReopenCount++
			if err := s.addTimeline(ctx, tx, cur.ID, now, SystemActor, "reopened", from, incident.Detected,
				fmt.Sprintf("alert %s fired again within the reopen window", a.Labels["alertname"])); err != nil {
				return err
			}
		}
		if a.StartsAt.Before(cur.DetectedAt) {
			cur.DetectedAt = a.StartsAt
		}
		// A more urgent alert joining (or reopening) the incident raises its tier — the
		// maximum over its alerts, so the order notifications arrive in does not matter. A
		// human override stays.
		if t := incident.TierFromLabels(a.Labels); t != "" && (cur.AlertTier == "" || t < cur.AlertTier) {
			if cur.Tier == cur.AlertTier {
				cur.Tier = t
			}
			cur.AlertTier = t
		}
		pa := &pendingAlert{a: a, incidentID: cur.ID, status: a.Status, endsAt: nanos(a.EndsAt)}
		pending = append(pending, pa)
		pendingByOcc[occ] = pa
		d := touch(cur.ID)
		d.total++
		d.firing++
	}
	if cur != nil && cur.ID == pendingIncidentID {
		d := touched[pendingIncidentID]
		delete(touched, pendingIncidentID)
		cur.AlertsFiring, cur.AlertsTotal = max(d.firing, 0), d.total
		if err := s.insertIncident(ctx, tx, cur); err != nil {
			return err
		}
		for _, pa := range pending {
			if pa.incidentID == pendingIncidentID {
				pa.incidentID = cur.ID
			}
		}
		o := *cur
		curOrig = &o
		touched[cur.ID] = &countDelta{} // settle still resolves it if its alerts did
		if err := s.addTimeline(ctx, tx, cur.ID, now, SystemActor, "opened", "", incident.Detected, "alert "+openedBy+" firing"); err != nil {
			return err
		}
	}
	if cur != nil && (!haveGroup || cur.ID != curID) {
		if err := s.setGroupIncident(ctx, tx, p.key, cur.ID, haveGroup); err != nil {
			return err
		}
	} else if !haveGroup {
		// A group whose first notification opens nothing (an orphan resolve) is still known.
		if err := s.setGroupIncident(ctx, tx, p.key, 0, false); err != nil {
			return err
		}
	}
	inserted, err := s.insertAlerts(ctx, tx, p.key, pending, enc, now)
	if err != nil {
		return err
	}
	if assumeNew && inserted != len(pending) {
		return errGuessFailed
	}

	ids := make([]int64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		inc, orig := cur, curOrig
		if cur == nil || cur.ID != id {
			var err error
			if inc, err = s.loadIncident(ctx, tx, id); err != nil {
				return err
			}
			o := *inc
			orig = &o
		}
		if err := s.settle(ctx, tx, cfg, inc, orig, *touched[id], now); err != nil {
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
// countDelta is how a notification changed an incident's alert counts.
type countDelta struct{ firing, total int }

// settle applies the count changes and resolves the incident when no alert fires any more.
func (s *DB) settle(ctx context.Context, tx *sql.Tx, cfg Config, inc, orig *Incident, d countDelta, now time.Time) error {
	wasFiring := inc.AlertsFiring
	firing, total := max(inc.AlertsFiring+d.firing, 0), inc.AlertsTotal+d.total
	inc.AlertsFiring, inc.AlertsTotal = firing, total
	inc.UpdatedAt = now
	if inc.State.Open() && firing == 0 && total > 0 {
		var lastEnd sql.NullInt64
		if err := s.queryRow(ctx, tx, `SELECT MAX(ends_at) FROM alerts WHERE incident_id = ?`, inc.ID).Scan(&lastEnd); err != nil {
			return fmt.Errorf("last alert end: %w", err)
		}
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
	return s.saveIncident(ctx, tx, inc, orig)
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
	runbook := cmp.Or(a.Annotations["runbook_url"], m.CommonAnnotations["runbook_url"], pick("runbook_url"))
	inc := &Incident{Incident: incidentapi.Incident{
		GroupKey: p.key, Title: truncate(title, 512), Summary: truncate(summary, 4096), RunbookURL: truncate(runbook, 2048),
		Tier: tier, AlertTier: tier, Team: pick("team", "owner"), Model: pick("model"),
		Labels: labels, State: incident.Detected, DetectedAt: a.StartsAt, CreatedAt: now, UpdatedAt: now,
	}}
	inc.labelsJSON = p.labelsJSON // labels is a copy of p.labels
	return inc
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

type occurrence struct {
	fp    string
	start int64
}

type existingAlert struct {
	id, incidentID int64
	status         string
	endsAt         int64
}

type pendingAlert struct {
	a          *webhook.Alert
	incidentID int64
	status     string
	endsAt     int64
}

// rowsPerStatement bounds multi-row statements; a handful of distinct arities keeps the
// prepared-statement cache small while one statement still covers a typical group.
const rowsPerStatement = 32

func chunks[T any](xs []T, n int) [][]T {
	var out [][]T
	for len(xs) > n {
		out = append(out, xs[:n])
		xs = xs[n:]
	}
	if len(xs) > 0 {
		out = append(out, xs)
	}
	return out
}

func placeholders(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// recordTransitions inserts every (occurrence, status, endsAt) of the notification and
// returns the alerts whose transition was not recorded before — all in a few statements,
// since per-statement cost dominates ingest on SQLite. Optimistic, it bets that every
// transition is new and fails with errGuessFailed if the inserted row count says otherwise.
func (s *DB) recordTransitions(ctx context.Context, tx *sql.Tx, m *webhook.Message, alerts []*webhook.Alert, now time.Time, optimistic bool) ([]*webhook.Alert, error) {
	type tkey struct {
		fp, status  string
		start, ends int64
	}
	byKey := map[tkey]*webhook.Alert{}
	var uniq []*webhook.Alert
	for _, a := range alerts {
		k := tkey{a.Fingerprint, a.Status, nanos(a.StartsAt), nanos(a.EndsAt)}
		if _, dup := byKey[k]; !dup {
			byKey[k] = a
			uniq = append(uniq, a)
		}
	}
	if optimistic {
		inserted := 0
		for _, c := range chunks(uniq, rowsPerStatement) {
			args := make([]any, 0, 6*len(c))
			for _, a := range c {
				args = append(args, a.Fingerprint, nanos(a.StartsAt), a.Status, nanos(a.EndsAt), nanos(now), m.ExternalURL)
			}
			res, err := s.exec(ctx, tx, `INSERT INTO alert_transitions (fingerprint, starts_at, status, ends_at, received_at, external_url) VALUES `+
				placeholders(len(c), 6)+` ON CONFLICT (fingerprint, starts_at, status, ends_at) DO NOTHING`, args...)
			if err != nil {
				return nil, fmt.Errorf("record transitions: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return nil, fmt.Errorf("record transitions: %w", err)
			}
			inserted += int(n)
		}
		if inserted != len(uniq) {
			return nil, errGuessFailed
		}
		return uniq, nil // every alert whose transition is new, each once, in order
	}
	fresh := map[tkey]bool{}
	for _, c := range chunks(uniq, rowsPerStatement) {
		args := make([]any, 0, 6*len(c))
		for _, a := range c {
			args = append(args, a.Fingerprint, nanos(a.StartsAt), a.Status, nanos(a.EndsAt), nanos(now), m.ExternalURL)
		}
		rows, err := s.query(ctx, tx, `INSERT INTO alert_transitions (fingerprint, starts_at, status, ends_at, received_at, external_url) VALUES `+
			placeholders(len(c), 6)+` ON CONFLICT (fingerprint, starts_at, status, ends_at) DO NOTHING RETURNING fingerprint, starts_at, status, ends_at`, args...)
		if err != nil {
			return nil, fmt.Errorf("record transitions: %w", err)
		}
		for rows.Next() {
			var k tkey
			if err := rows.Scan(&k.fp, &k.start, &k.status, &k.ends); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record transitions: %w", err)
			}
			fresh[k] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("record transitions: %w", err)
		}
	}
	var out []*webhook.Alert
	for _, a := range alerts {
		k := tkey{a.Fingerprint, a.Status, nanos(a.StartsAt), nanos(a.EndsAt)}
		if fresh[k] {
			out = append(out, a)
			delete(fresh, k) // a repeated alert counts once
		}
	}
	return out, nil
}

// findAlerts loads the stored occurrences among alerts.
func (s *DB) findAlerts(ctx context.Context, tx *sql.Tx, alerts []*webhook.Alert) (map[occurrence]*existingAlert, error) {
	out := map[occurrence]*existingAlert{}
	for _, c := range chunks(alerts, rowsPerStatement) {
		args := make([]any, 0, 2*len(c))
		for _, a := range c {
			args = append(args, a.Fingerprint, nanos(a.StartsAt))
		}
		rows, err := s.query(ctx, tx, `SELECT id, incident_id, status, ends_at, fingerprint, starts_at FROM alerts WHERE (fingerprint, starts_at) IN (VALUES `+
			// PostgreSQL cannot infer the types of a bare VALUES list.
			strings.TrimSuffix(strings.Repeat("(CAST(? AS TEXT), CAST(? AS BIGINT)), ", len(c)), ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find alerts: %w", err)
		}
		for rows.Next() {
			var e existingAlert
			var o occurrence
			if err := rows.Scan(&e.id, &e.incidentID, &e.status, &e.endsAt, &o.fp, &o.start); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find alerts: %w", err)
			}
			out[o] = &e
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("find alerts: %w", err)
		}
	}
	return out, nil
}

// insertAlerts inserts the alerts new to the store and returns how many rows it added.
func (s *DB) insertAlerts(ctx context.Context, tx *sql.Tx, key string, pending []*pendingAlert, enc map[*webhook.Alert]encodedAlert, now time.Time) (int, error) {
	inserted := 0
	for _, c := range chunks(pending, rowsPerStatement) {
		args := make([]any, 0, 11*len(c))
		for _, p := range c {
			e := enc[p.a]
			args = append(args, p.incidentID, key, p.a.Fingerprint, nanos(p.a.StartsAt), p.endsAt, p.status, e.labels, e.annotations, p.a.GeneratorURL, nanos(now), nanos(now))
		}
		// DO NOTHING: the same occurrence may already belong to another group (two routes).
		res, err := s.exec(ctx, tx, `INSERT INTO alerts (incident_id, group_key, fingerprint, starts_at, ends_at, status, labels, annotations, generator_url, first_seen, last_change)
			VALUES `+placeholders(len(c), 11)+` ON CONFLICT (fingerprint, starts_at) DO NOTHING`, args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("insert alerts: %w", err)
		}
		inserted += int(n)
	}
	return inserted, nil
}

// groupIncident returns the incident an alert group points to and whether the group is
// known. On PostgreSQL it upserts the group row, which takes its row lock (ON CONFLICT DO
// UPDATE locks the row) and so serializes every replica ingesting this group until
// commit; the single SQLite writer needs no lock, and a read costs less than a write.
func (s *DB) groupIncident(ctx context.Context, tx *sql.Tx, key string) (id int64, known bool, err error) {
	if s.d.SingleWriter {
		err = s.queryRow(ctx, tx, `SELECT incident_id FROM alert_groups WHERE group_key = ?`, key).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
	} else {
		err = s.queryRow(ctx, tx, `INSERT INTO alert_groups (group_key, incident_id) VALUES (?, 0)
		ON CONFLICT (group_key) DO UPDATE SET incident_id = alert_groups.incident_id RETURNING incident_id`, key).Scan(&id)
	}
	if err != nil {
		return 0, false, fmt.Errorf("lock group: %w", err)
	}
	return id, true, nil
}

// setGroupIncident points a group at its incident, creating the row of a new group.
func (s *DB) setGroupIncident(ctx context.Context, tx *sql.Tx, key string, id int64, known bool) error {
	if known {
		_, err := s.exec(ctx, tx, `UPDATE alert_groups SET incident_id = ? WHERE group_key = ?`, id, key)
		return err
	}
	_, err := s.exec(ctx, tx, `INSERT INTO alert_groups (group_key, incident_id) VALUES (?, ?)
		ON CONFLICT (group_key) DO UPDATE SET incident_id = excluded.incident_id`, key, id)
	return err
}

func (s *DB) addTimeline(ctx context.Context, tx *sql.Tx, incID int64, at time.Time, actor, kind string, from, to incident.State, note string) error {
	_, err := s.exec(ctx, tx, `INSERT INTO timeline (incident_id, at, actor, kind, from_state, to_state, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		incID, nanos(at), actor, kind, string(from), string(to), note)
	return err
}
