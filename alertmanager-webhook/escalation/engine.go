// Package escalation turns routed incidents into notifications: the tier policy's decision
// (page now, hold until business hours, queue, backlog), escalation policies stepping
// through schedules, people and channels while nobody acknowledges, acknowledge and resolve
// notifications, flap control on reopen, and delivery of the outbox with retries.
//
// Everything is durable: the next step of every escalation is a row with a due time, and
// every notification is an outbox row written in the transaction that decided it, with a
// unique key per decision. A worker (Engine.Tick, run every second) picks up due rows; on
// PostgreSQL several replicas run it at once and claim rows with FOR UPDATE SKIP LOCKED,
// and outbox rows under a lease, so each step is executed and each message sent once.
package escalation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/alertmanager-webhook/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/notify"
	"github.com/opscentre/opscentre/alertmanager-webhook/oncall"
	"github.com/opscentre/opscentre/alertmanager-webhook/routing"
	"github.com/opscentre/opscentre/alertmanager-webhook/store"
)

// Config is the response configuration in force; a reload swaps the whole value.
type Config struct {
	Routing   *routing.Config
	Policies  map[string]Policy
	People    map[string][]string // person → channel names
	Directory *oncall.Directory
	Channels  map[string]notify.Notifier
	// IncidentURL is a link to an incident with %d for its id (e.g. a Grafana page).
	IncidentURL string
	// MaxAge: incidents first seen by the worker longer than this after they opened (an
	// upgrade over an existing database) are not paged.
	MaxAge time.Duration
}

// Redact removes the credentials of every configured channel from s: a delivery error is
// stored, shown to every viewer and logged, and a channel's error may quote another's
// secret (a shared proxy, a URL in a message).
func (c *Config) Redact(s string) string {
	var secrets []string
	for _, n := range c.Channels {
		if h, ok := n.(notify.SecretHolder); ok {
			secrets = append(secrets, h.Secrets()...)
		}
	}
	return notify.RedactText(s, secrets)
}

// RedactDeliveries redacts the errors of deliveries read back, rows stored before a
// secret was known to be one included.
func (c *Config) RedactDeliveries(ds []Delivery) []Delivery {
	for i := range ds {
		ds[i].LastError = c.Redact(ds[i].LastError)
	}
	return ds
}

// Options configure the engine.
type Options struct {
	Store  *store.DB
	Config func() *Config
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives the engine's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Lease is how long a claimed outbox row is reserved for its sender (default 1m).
	Lease time.Duration
	// MaxAttempts bounds deliveries of one message (default 8).
	MaxAttempts int
}

// Engine is the escalation worker.
type Engine struct {
	o       Options
	sent    *prometheus.CounterVec
	failed  *prometheus.CounterVec
	steps   *prometheus.CounterVec
	pages   *prometheus.CounterVec
	toFirst *prometheus.HistogramVec
}

// New builds an engine.
func New(o Options) *Engine {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	e := &Engine{o: o,
		sent:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentd_notifications_sent_total", Help: "Notifications delivered, by channel and kind."}, []string{"channel", "kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentd_notifications_failed_total", Help: "Failed delivery attempts, by channel and whether they will be retried."}, []string{"channel", "final"}),
		steps:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentd_escalations_total", Help: "Escalation steps executed, by step (1-based)."}, []string{"step"}),
		pages:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentd_pages_total", Help: "Pages decided per person."}, []string{"person"}),
		toFirst: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "incidentd_detection_to_notification_seconds", Help: "Time from an incident's detection to its first delivered page, by tier.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 16 * 3600}}, []string{"tier"}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(e.sent, e.failed, e.steps, e.pages, e.toFirst)
	}
	return e
}

const actor = "incidentd"

// lookBack is how far back the worker looks for new or changed incidents: MaxAge, at
// least a day so that a worker that was down for hours still sends acks and resolves.
func lookBack(cfg *Config) time.Duration { return max(cfg.MaxAge, 24*time.Hour) }

// Run ticks every interval until ctx ends.
func (e *Engine) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.o.Logger.Error("escalation tick failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick does one round of work: route new incidents, run due escalation steps, send
// acknowledge/resolve notifications and handle reopens, deliver the outbox.
func (e *Engine) Tick(ctx context.Context) error {
	cfg := e.o.Config()
	return errors.Join(e.plan(ctx, cfg), e.escalate(ctx, cfg), e.lifecycle(ctx, cfg), e.deliver(ctx, cfg))
}

func (e *Engine) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	db := e.o.Store.SQL()
	rows, err := db.QueryContext(ctx, e.o.Store.Dialect().Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// plan routes incidents the worker has not seen yet.
func (e *Engine) plan(ctx context.Context, cfg *Config) error {
	// Only incidents created within the look-back are candidates (an index range, not a
	// scan of the whole history every second); older ones are never paged anyway.
	ids, err := e.ids(ctx, `SELECT i.id FROM incidents i LEFT JOIN escalations e ON e.incident_id = i.id
		WHERE i.created_at >= ? AND e.incident_id IS NULL ORDER BY i.created_at, i.id LIMIT 200`, store.Nanos(e.o.Now().Add(-lookBack(cfg))))
	if err != nil {
		return fmt.Errorf("find new incidents: %w", err)
	}
	var errs []error
	for _, id := range ids {
		err := e.o.Store.Tx(ctx, "escalation_plan", func(ctx context.Context, tx *sql.Tx) error {
			return e.planOne(ctx, tx, cfg, id)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("route incident %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) planOne(ctx context.Context, tx *sql.Tx, cfg *Config, id int64) error {
	s := e.o.Store
	inc, err := s.IncidentTx(ctx, tx, id)
	if err != nil {
		return err
	}
	now := e.o.Now().UTC()
	d := cfg.Routing.Decide(inc.Labels, inc.Tier, now, cfg.Directory)
	action, state, due, note := string(d.Action), "pending", d.Due, d.Reason
	resolvedNotified := 0
	switch {
	case len(cfg.Policies) == 0 && len(cfg.Channels) == 0:
		// Nothing to notify configured: record the incident as seen, quietly.
		action, state, note = "none", "done", ""
	case !inc.State.Open():
		action, state, note, resolvedNotified = "none", "done", "", 1
	case cfg.MaxAge > 0 && now.Sub(inc.CreatedAt) > cfg.MaxAge:
		action, state, note = "stale", "done", fmt.Sprintf("opened more than %s before the escalation worker saw it; not paged", cfg.MaxAge)
	default:
		ws, err := maintenance.Store{DB: s}.ActiveTx(ctx, tx, now)
		if err != nil {
			return err
		}
		for _, w := range ws {
			if w.Covers(inc.Labels, now) || w.Covers(inc.Labels, inc.DetectedAt) {
				action, state = "suppressed", "done"
				note = fmt.Sprintf("inside maintenance window #%d (%s, until %s): recorded, not paged", w.ID, w.Reason, w.End.Format(time.RFC3339))
				break
			}
		}
	}
	if (action == string(routing.Page) || action == string(routing.Hold)) && d.Policy == "" {
		action, state, note = "unrouted", "done", d.Reason+"; but no escalation policy routes this incident, nobody paged"
	}
	if (action == string(routing.Queue) || action == string(routing.Backlog)) && d.Channel == "" {
		note += "; no channel configured for it"
		state = "done"
	}
	if action == string(routing.Queue) || action == string(routing.Backlog) {
		state = "done"
	}
	res, err := s.Exec(ctx, tx, `INSERT INTO escalations (incident_id, team, policy, tier, action, state, step, round, due_at, reopen_seen, acked_notified, resolved_notified, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, 0, ?, ?, ?) ON CONFLICT (incident_id) DO NOTHING`,
		id, d.Team, d.Policy, string(inc.Tier), action, state, store.Nanos(due), inc.ReopenCount, resolvedNotified, store.Nanos(now), store.Nanos(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // another replica routed it
	}
	if (action == string(routing.Queue) || action == string(routing.Backlog)) && d.Channel != "" {
		kind := notify.KindQueue
		if action == string(routing.Backlog) {
			kind = notify.KindBacklog
		}
		m := message(cfg, inc, kind, "", 0, now)
		if err := e.enqueue(ctx, tx, m, d.Channel, kind+":"+strconv.FormatInt(id, 10)+":"+d.Channel, now); err != nil {
			return err
		}
		note += "; sent to " + d.Channel
	}
	if note == "" {
		return nil
	}
	kind := "routing"
	if action == "suppressed" {
		kind = "maintenance"
	}
	return s.SystemNote(ctx, tx, id, now, actor, kind, fmt.Sprintf("team %s, policy %s: %s", orNone(d.Team), orNone(d.Policy), note))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// message builds the notification payload from the incident.
func message(cfg *Config, inc *store.Incident, kind, recipient string, step int, now time.Time) notify.Message {
	m := notify.Message{Kind: kind, IncidentID: inc.ID, IncidentKey: inc.GroupKey, Title: inc.Title, Summary: inc.Summary, Tier: string(inc.Tier),
		Team: inc.Team, Model: inc.Model, State: string(inc.State), Recipient: recipient, Step: step, At: now, DetectedAt: inc.DetectedAt,
		Labels: inc.Labels, RunbookURL: inc.RunbookURL}
	if cfg.IncidentURL != "" {
		m.IncidentURL = fmt.Sprintf(cfg.IncidentURL, inc.ID)
	}
	return m
}

func (e *Engine) enqueue(ctx context.Context, tx *sql.Tx, m notify.Message, channel, dedup string, now time.Time) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = e.o.Store.Exec(ctx, tx, `INSERT INTO outbox (incident_id, channel, kind, recipient, step, payload, status, attempts, next_at, lease_until, last_error, dedup, created_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, 0, '', ?, ?, 0) ON CONFLICT (dedup) DO NOTHING`,
		m.IncidentID, channel, m.Kind, m.Recipient, m.Step, string(b), store.Nanos(now), dedup, store.Nanos(now))
	return err
}

type due struct {
	id          int64
	policy      string
	step, round int
}

type page struct{ step, person string }

// escalate runs due escalation steps.
func (e *Engine) escalate(ctx context.Context, cfg *Config) error {
	var pages []page
	err := e.o.Store.Tx(ctx, "escalation_step", func(ctx context.Context, tx *sql.Tx) error {
		pages = nil
		s := e.o.Store
		now := e.o.Now().UTC()
		rows, err := s.Query(ctx, tx, `SELECT incident_id, policy, step, round FROM escalations WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, incident_id LIMIT 50`+s.SkipLocked(), store.Nanos(now))
		if err != nil {
			return err
		}
		var ds []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.policy, &d.step, &d.round); err != nil {
				rows.Close()
				return err
			}
			ds = append(ds, d)
		}
		rows.Close()
		for _, d := range ds {
			p, err := e.step(ctx, tx, cfg, d, now)
			if err != nil {
				return fmt.Errorf("incident %d: %w", d.id, err)
			}
			pages = append(pages, p...)
		}
		return nil
	})
	if err == nil {
		for _, p := range pages {
			e.steps.WithLabelValues(p.step).Inc()
			if p.person != "" {
				e.pages.WithLabelValues(p.person).Inc()
			}
		}
	}
	return err
}

func (e *Engine) setState(ctx context.Context, tx *sql.Tx, id int64, state string, step, round int, dueAt, now time.Time) error {
	_, err := e.o.Store.Exec(ctx, tx, `UPDATE escalations SET state = ?, step = ?, round = ?, due_at = ?, updated_at = ? WHERE incident_id = ?`,
		state, step, round, store.Nanos(dueAt), store.Nanos(now), id)
	return err
}

// step executes one escalation step of an incident and schedules the next.
func (e *Engine) step(ctx context.Context, tx *sql.Tx, cfg *Config, d due, now time.Time) ([]page, error) {
	s := e.o.Store
	inc, err := s.IncidentTx(ctx, tx, d.id)
	if err != nil {
		return nil, err
	}
	if inc.State != incident.Detected {
		// Acknowledged (or further): escalation stops. The lifecycle pass sends the notices.
		return nil, e.setState(ctx, tx, d.id, "stopped", d.step, d.round, now, now)
	}
	pol, ok := cfg.Policies[d.policy]
	if !ok || d.step >= len(pol.Steps) {
		if err := e.setState(ctx, tx, d.id, "stopped", d.step, d.round, now, now); err != nil {
			return nil, err
		}
		return nil, s.SystemNote(ctx, tx, d.id, now, actor, "escalation", fmt.Sprintf("escalation policy %q is no longer configured; escalation stopped", d.policy))
	}
	stepNo := d.step + 1
	var done []string
	var pages []page
	for _, t := range pol.Steps[d.step].Targets {
		type dest struct{ channel, person, via string }
		var dests []dest
		switch {
		case t.Channel != "":
			dests = append(dests, dest{channel: t.Channel})
		default:
			person, via := t.Person, ""
			if t.Schedule != "" {
				sch, ok := cfg.Directory.Schedule(t.Schedule)
				if !ok {
					done = append(done, fmt.Sprintf("schedule %s is not configured", t.Schedule))
					continue
				}
				person, via = sch.At(now).Member, " (on call for "+t.Schedule+")"
			}
			chans := cfg.People[person]
			if len(chans) == 0 {
				done = append(done, fmt.Sprintf("%s%s has no channels to reach them", person, via))
				continue
			}
			for _, c := range chans {
				dests = append(dests, dest{channel: c, person: person, via: via})
			}
			pages = append(pages, page{step: strconv.Itoa(stepNo), person: person})
		}
		for _, ds := range dests {
			m := message(cfg, inc, notify.KindTrigger, ds.person, stepNo, now)
			// Unique per decision: incident, reopen generation, round, step, destination.
			key := fmt.Sprintf("page:%d:%d:%d:%d:%s:%s", d.id, inc.ReopenCount, d.round, d.step, ds.channel, ds.person)
			if err := e.enqueue(ctx, tx, m, ds.channel, key, now); err != nil {
				return nil, err
			}
			if ds.person != "" {
				done = append(done, fmt.Sprintf("paged %s%s via %s", ds.person, ds.via, ds.channel))
			} else {
				done = append(done, "notified channel "+ds.channel)
			}
		}
	}
	if len(pages) == 0 {
		pages = append(pages, page{step: strconv.Itoa(stepNo)})
	}
	next, round := d.step+1, d.round
	var at time.Time
	state := "pending"
	switch {
	case next < len(pol.Steps):
		at = now.Add(time.Duration(pol.Steps[next].Delay))
	case round+1 < pol.Repeat:
		next, round = 0, round+1
		at = now.Add(pol.RepeatAfter)
	default:
		state = "done"
		at = now
	}
	if err := e.setState(ctx, tx, d.id, state, next, round, at, now); err != nil {
		return nil, err
	}
	note := fmt.Sprintf("escalation step %d (round %d) of %s: %s", stepNo, d.round+1, pol.Name, strings.Join(done, "; "))
	if state == "pending" {
		note += fmt.Sprintf("; next step at %s unless acknowledged", at.Format(time.RFC3339))
	}
	return pages, s.SystemNote(ctx, tx, d.id, now, actor, "escalation", note)
}

// lifecycle sends acknowledge and resolve notices and handles reopened incidents.
func (e *Engine) lifecycle(ctx context.Context, cfg *Config) error {
	// Acks, resolves and reopens all bump the incident's updated_at: look at incidents
	// changed within the look-back only.
	ids, err := e.ids(ctx, `SELECT e.incident_id FROM incidents i JOIN escalations e ON e.incident_id = i.id
		WHERE i.updated_at >= ? AND (
		      (e.acked_notified = 0 AND i.triaged_at <> 0 AND e.action IN ('page', 'hold'))
		   OR (e.resolved_notified = 0 AND i.resolved_at <> 0)
		   OR i.reopen_count > e.reopen_seen)
		ORDER BY e.incident_id LIMIT 200`, store.Nanos(e.o.Now().Add(-lookBack(cfg))))
	if err != nil {
		return fmt.Errorf("find lifecycle changes: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := e.o.Store.Tx(ctx, "escalation_lifecycle", func(ctx context.Context, tx *sql.Tx) error {
			return e.lifecycleOne(ctx, tx, cfg, id)
		}); err != nil {
			errs = append(errs, fmt.Errorf("incident %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) lifecycleOne(ctx context.Context, tx *sql.Tx, cfg *Config, id int64) error {
	s := e.o.Store
	now := e.o.Now().UTC()
	rows, err := s.Query(ctx, tx, `SELECT tier, action, state, reopen_seen, acked_notified, resolved_notified FROM escalations WHERE incident_id = ?`+s.Dialect().ForUpdate, id)
	if err != nil {
		return err
	}
	var tier, action, state string
	var reopenSeen, acked, resolved int
	found := rows.Next()
	if found {
		err = rows.Scan(&tier, &action, &state, &reopenSeen, &acked, &resolved)
	}
	rows.Close()
	if err != nil || !found {
		return err
	}
	inc, err := s.IncidentTx(ctx, tx, id)
	if err != nil {
		return err
	}
	if inc.ReopenCount > reopenSeen {
		if rises(incident.Tier(tier), inc.Tier) {
			if _, err := s.Exec(ctx, tx, `UPDATE escalations SET tier = ?, action = 'page', state = 'pending', step = 0, round = 0, due_at = ?, reopen_seen = ?,
				acked_notified = 0, resolved_notified = 0, updated_at = ? WHERE incident_id = ?`, string(inc.Tier), store.Nanos(now), inc.ReopenCount, store.Nanos(now), id); err != nil {
				return err
			}
			return s.SystemNote(ctx, tx, id, now, actor, "flap", fmt.Sprintf("reopened at a higher tier (%s → %s): escalating again", tier, inc.Tier))
		}
		if _, err := s.Exec(ctx, tx, `UPDATE escalations SET reopen_seen = ?, updated_at = ? WHERE incident_id = ?`, inc.ReopenCount, store.Nanos(now), id); err != nil {
			return err
		}
		if err := s.SystemNote(ctx, tx, id, now, actor, "flap", fmt.Sprintf("reopened (%d times so far) at tier %s: noted, not paged again", inc.ReopenCount, inc.Tier)); err != nil {
			return err
		}
	}
	isResolved := !inc.State.Open()
	switch {
	case isResolved && resolved == 0:
		if _, err := s.Exec(ctx, tx, `UPDATE escalations SET resolved_notified = 1, acked_notified = 1, state = CASE WHEN state = 'pending' THEN 'stopped' ELSE state END, updated_at = ? WHERE incident_id = ?`,
			store.Nanos(now), id); err != nil {
			return err
		}
		return e.notifyNotified(ctx, tx, cfg, inc, notify.KindResolve, now)
	case !isResolved && acked == 0 && !inc.TriagedAt.IsZero() && (action == "page" || action == "hold"):
		if _, err := s.Exec(ctx, tx, `UPDATE escalations SET acked_notified = 1, state = CASE WHEN state = 'pending' THEN 'stopped' ELSE state END, updated_at = ? WHERE incident_id = ?`,
			store.Nanos(now), id); err != nil {
			return err
		}
		if state == "pending" {
			if err := s.SystemNote(ctx, tx, id, now, actor, "escalation", "acknowledged: escalation stopped"); err != nil {
				return err
			}
		}
		return e.notifyNotified(ctx, tx, cfg, inc, notify.KindAck, now)
	}
	return nil
}

// rises reports whether tier to is more urgent than from (P1 is the most urgent).
func rises(from, to incident.Tier) bool {
	return to != "" && (from == "" || string(to) < string(from))
}

// notifyNotified sends kind to every channel (and person) already told about the incident.
func (e *Engine) notifyNotified(ctx context.Context, tx *sql.Tx, cfg *Config, inc *store.Incident, kind string, now time.Time) error {
	rows, err := e.o.Store.Query(ctx, tx, `SELECT DISTINCT channel, recipient FROM outbox WHERE incident_id = ? AND kind IN ('trigger', 'queue', 'backlog')`, inc.ID)
	if err != nil {
		return err
	}
	type dest struct{ channel, recipient string }
	var ds []dest
	for rows.Next() {
		var d dest
		if err := rows.Scan(&d.channel, &d.recipient); err != nil {
			rows.Close()
			return err
		}
		ds = append(ds, d)
	}
	rows.Close()
	// One notice per channel: a channel shared by several people gets it once.
	seen := map[string]bool{}
	sort.Slice(ds, func(i, j int) bool { return ds[i].channel+ds[i].recipient < ds[j].channel+ds[j].recipient })
	for _, d := range ds {
		if seen[d.channel] {
			continue
		}
		seen[d.channel] = true
		m := message(cfg, inc, kind, "", 0, now)
		key := fmt.Sprintf("%s:%d:%d:%s", kind, inc.ID, inc.ReopenCount, d.channel)
		if err := e.enqueue(ctx, tx, m, d.channel, key, now); err != nil {
			return err
		}
	}
	return nil
}

type claimed struct {
	id       int64
	channel  string
	attempts int
	m        notify.Message
}

// deliver sends due outbox rows.
func (e *Engine) deliver(ctx context.Context, cfg *Config) error {
	var batch []claimed
	now := e.o.Now().UTC()
	err := e.o.Store.Tx(ctx, "outbox_claim", func(ctx context.Context, tx *sql.Tx) error {
		batch = nil
		s := e.o.Store
		rows, err := s.Query(ctx, tx, `SELECT id, channel, attempts, payload FROM outbox WHERE status = 'pending' AND next_at <= ? AND lease_until <= ? ORDER BY id LIMIT 20`+s.SkipLocked(),
			store.Nanos(now), store.Nanos(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			var c claimed
			var p string
			if err := rows.Scan(&c.id, &c.channel, &c.attempts, &p); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(p), &c.m); err != nil {
				rows.Close()
				return fmt.Errorf("outbox %d payload: %w", c.id, err)
			}
			batch = append(batch, c)
		}
		rows.Close()
		for _, c := range batch {
			if _, err := s.Exec(ctx, tx, `UPDATE outbox SET lease_until = ? WHERE id = ?`, store.Nanos(now.Add(e.o.Lease)), c.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("claim outbox: %w", err)
	}
	var errs []error
	for _, c := range batch {
		if err := e.send(ctx, cfg, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func backoff(attempts int) time.Duration {
	d := 10 * time.Second << min(attempts, 6)
	return min(d, 10*time.Minute)
}

func (e *Engine) send(ctx context.Context, cfg *Config, c claimed) error {
	if c.m.Kind == notify.KindTrigger && c.m.Step <= 1 && (c.m.Tier == string(incident.P1) || c.m.Tier == string(incident.P2)) && c.m.LikelyCauses == "" {
		c.m.LikelyCauses = e.likelyCauses(ctx, c.m.IncidentID)
	}
	n, ok := cfg.Channels[c.channel]
	retry, err := false, fmt.Errorf("channel %q is not configured", c.channel)
	if ok {
		sctx, cancel := context.WithTimeout(ctx, e.o.Lease/2)
		retry, err = n.Notify(sctx, c.m)
		cancel()
	}
	now := e.o.Now().UTC()
	status, next, msg := "sent", now, ""
	if err != nil {
		msg = strings.ToValidUTF8(cfg.Redact(err.Error()), "")
		if len(msg) > 1000 {
			msg = strings.ToValidUTF8(msg[:1000], "")
		}
		status, next = "pending", now.Add(backoff(c.attempts))
		if !retry || c.attempts+1 >= e.o.MaxAttempts {
			status = "failed"
		}
	}
	first := false
	werr := e.o.Store.Tx(ctx, "outbox_done", func(ctx context.Context, tx *sql.Tx) error {
		s := e.o.Store
		first = false
		if status == "sent" && c.m.Kind == notify.KindTrigger {
			rows, err := s.Query(ctx, tx, `SELECT COUNT(*) FROM outbox WHERE incident_id = ? AND kind = 'trigger' AND status = 'sent'`, c.m.IncidentID)
			if err != nil {
				return err
			}
			var k int
			if rows.Next() {
				err = rows.Scan(&k)
			}
			rows.Close()
			if err != nil {
				return err
			}
			first = k == 0
		}
		sentAt := int64(0)
		if status == "sent" {
			sentAt = store.Nanos(now)
		}
		_, err := s.Exec(ctx, tx, `UPDATE outbox SET status = ?, attempts = attempts + 1, next_at = ?, lease_until = 0, last_error = ?, sent_at = ? WHERE id = ?`,
			status, store.Nanos(next), msg, sentAt, c.id)
		return err
	})
	if werr != nil {
		return fmt.Errorf("record delivery %d: %w", c.id, werr)
	}
	switch status {
	case "sent":
		e.sent.WithLabelValues(c.channel, c.m.Kind).Inc()
		if first && !c.m.DetectedAt.IsZero() {
			e.toFirst.WithLabelValues(c.m.Tier).Observe(now.Sub(c.m.DetectedAt).Seconds())
		}
	default:
		e.failed.WithLabelValues(c.channel, strconv.FormatBool(status == "failed")).Inc()
		e.o.Logger.Warn("notification failed", "channel", c.channel, "incident", c.m.IncidentID, "kind", c.m.Kind, "attempt", c.attempts+1, "final", status == "failed", "err", msg)
	}
	return nil
}

// Delivery is one outbox row, for the API.
type Delivery = incidentapi.Delivery

// Deliveries lists the notifications of an incident, oldest first.
func Deliveries(ctx context.Context, s *store.DB, incidentID int64) ([]Delivery, error) {
	rows, err := s.SQL().QueryContext(ctx, s.Dialect().Rebind(`SELECT id, channel, kind, recipient, step, status, attempts, last_error, created_at, sent_at FROM outbox WHERE incident_id = ? ORDER BY id`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var cr, se int64
		if err := rows.Scan(&d.ID, &d.Channel, &d.Kind, &d.Recipient, &d.Step, &d.Status, &d.Attempts, &d.LastError, &cr, &se); err != nil {
			return nil, err
		}
		d.CreatedAt, d.SentAt = store.FromNanos(cr), store.FromNanos(se)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Status is an incident's escalation as the worker left it, for the API.
type Status = incidentapi.EscalationStatus

// StatusOf returns the escalation of an incident, nil if the worker has not routed it yet.
func StatusOf(ctx context.Context, s *store.DB, incidentID int64) (*Status, error) {
	var st Status
	var due int64
	err := s.SQL().QueryRowContext(ctx, s.Dialect().Rebind(`SELECT team, policy, tier, action, state, step, round, due_at FROM escalations WHERE incident_id = ?`), incidentID).
		Scan(&st.Team, &st.Policy, &st.Tier, &st.Action, &st.State, &st.Step, &st.Round, &due)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	st.Step++ // 1-based, like the messages
	if st.State == "pending" {
		st.DueAt = store.FromNanos(due)
	}
	return &st, nil
}

// likelyCauses reads the incident's evidence as it is at send time: a first page never
// waits for a gathering still running, it goes without the line.
func (e *Engine) likelyCauses(ctx context.Context, id int64) string {
	ev, err := e.o.Store.Evidence(ctx, id)
	if err != nil {
		return ""
	}
	var r evidence.Report
	if err := json.Unmarshal(ev.Report, &r); err != nil {
		return ""
	}
	return evidence.LikelyCauses(r)
}
