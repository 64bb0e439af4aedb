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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/routing"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
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

// plan routes incidents the worker has not seen yet.
func (e *Engine) plan(ctx context.Context, cfg *Config) error {
	// Only incidents created within the look-back are candidates (an index range, not a
	// scan of the whole history every second); older ones are never paged anyway.
	ids, err := e.o.Store.UnroutedIncidents(ctx, e.o.Now().Add(-lookBack(cfg)), 200)
	if err != nil {
		return fmt.Errorf("find new incidents: %w", err)
	}
	var errs []error
	for _, id := range ids {
		err := e.o.Store.UpdateEscalations(ctx, "escalation_plan", func(ctx context.Context, tx *store.EscalationTx) error {
			return e.planOne(ctx, tx, cfg, id)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("route incident %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// actionOf maps the tier policy's decision to the escalation action recorded for it.
func actionOf(a routing.Action) (store.EscalationAction, error) {
	switch a {
	case routing.Page:
		return store.EscalationPage, nil
	case routing.Hold:
		return store.EscalationHold, nil
	case routing.Queue:
		return store.EscalationQueue, nil
	case routing.Backlog:
		return store.EscalationBacklog, nil
	}
	return "", fmt.Errorf("routing decided %q, which the escalation worker does not know", a)
}

func (e *Engine) planOne(ctx context.Context, tx *store.EscalationTx, cfg *Config, id int64) error {
	inc, err := tx.Incident(ctx, id)
	if err != nil {
		return err
	}
	now := e.o.Now().UTC()
	d := cfg.Routing.Decide(inc.Labels, inc.Tier, now, cfg.Directory)
	action, err := actionOf(d.Action)
	if err != nil {
		return err
	}
	state, due, note := store.EscalationPending, d.Due, d.Reason
	resolvedNotified := false
	switch {
	case len(cfg.Policies) == 0 && len(cfg.Channels) == 0:
		// Nothing to notify configured: record the incident as seen, quietly.
		action, state, note = store.EscalationNone, store.EscalationDone, ""
	case !inc.State.Open():
		action, state, note, resolvedNotified = store.EscalationNone, store.EscalationDone, "", true
	case cfg.MaxAge > 0 && now.Sub(inc.CreatedAt) > cfg.MaxAge:
		action, state, note = store.EscalationStale, store.EscalationDone, fmt.Sprintf("opened more than %s before the escalation worker saw it; not paged", cfg.MaxAge)
	default:
		ws, err := maintenance.Store{DB: e.o.Store}.ActiveTx(ctx, tx, now)
		if err != nil {
			return err
		}
		for _, w := range ws {
			if w.Covers(inc.Labels, now) || w.Covers(inc.Labels, inc.DetectedAt) {
				action, state = store.EscalationSuppressed, store.EscalationDone
				note = fmt.Sprintf("inside maintenance window #%d (%s, until %s): recorded, not paged", w.ID, w.Reason, w.End.Format(time.RFC3339))
				break
			}
		}
	}
	if (action == store.EscalationPage || action == store.EscalationHold) && d.Policy == "" {
		action, state, note = store.EscalationUnrouted, store.EscalationDone, d.Reason+"; but no escalation policy routes this incident, nobody paged"
	}
	if (action == store.EscalationQueue || action == store.EscalationBacklog) && d.Channel == "" {
		note += "; no channel configured for it"
		state = store.EscalationDone
	}
	if action == store.EscalationQueue || action == store.EscalationBacklog {
		state = store.EscalationDone
	}
	inserted, err := tx.Insert(ctx, store.Escalation{IncidentID: id, Team: d.Team, Policy: d.Policy, Tier: inc.Tier, Action: action, State: state,
		DueAt: due, ReopenSeen: inc.ReopenCount, ResolvedNotified: resolvedNotified, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return err
	}
	if !inserted {
		return nil // another replica routed it
	}
	if (action == store.EscalationQueue || action == store.EscalationBacklog) && d.Channel != "" {
		kind := notify.KindQueue
		if action == store.EscalationBacklog {
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
	if action == store.EscalationSuppressed {
		kind = "maintenance"
	}
	return systemNote(ctx, tx, id, now, kind, fmt.Sprintf("team %s, policy %s: %s", orNone(d.Team), orNone(d.Policy), note))
}

// systemNote puts the worker's account of what it did on the incident's timeline.
func systemNote(ctx context.Context, tx *store.EscalationTx, id int64, now time.Time, kind, text string) error {
	return tx.Note(ctx, store.SystemNote{IncidentID: id, At: now, Actor: actor, Kind: kind, Text: text})
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

func (e *Engine) enqueue(ctx context.Context, tx *store.EscalationTx, m notify.Message, channel, dedup string, now time.Time) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, store.OutboxMessage{IncidentID: m.IncidentID, Channel: channel, Kind: m.Kind, Recipient: m.Recipient, Step: m.Step,
		Payload: b, Dedup: dedup, At: now})
	return err
}

type page struct{ step, person string }

// escalate runs due escalation steps.
func (e *Engine) escalate(ctx context.Context, cfg *Config) error {
	var pages []page
	err := e.o.Store.UpdateEscalations(ctx, "escalation_step", func(ctx context.Context, tx *store.EscalationTx) error {
		pages = nil
		now := e.o.Now().UTC()
		ds, err := tx.Due(ctx, now, 50)
		if err != nil {
			return err
		}
		for _, d := range ds {
			p, err := e.step(ctx, tx, cfg, d, now)
			if err != nil {
				return fmt.Errorf("incident %d: %w", d.IncidentID, err)
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

// setState moves the escalation d to state with its next step and due time.
func setState(ctx context.Context, tx *store.EscalationTx, d store.Escalation, state store.EscalationState, step, round int, dueAt, now time.Time) error {
	d.State, d.Step, d.Round, d.DueAt, d.UpdatedAt = state, step, round, dueAt, now
	return tx.Update(ctx, d)
}

// step executes one escalation step of an incident and schedules the next.
func (e *Engine) step(ctx context.Context, tx *store.EscalationTx, cfg *Config, d store.Escalation, now time.Time) ([]page, error) {
	inc, err := tx.Incident(ctx, d.IncidentID)
	if err != nil {
		return nil, err
	}
	if inc.State != incident.Detected {
		// Acknowledged (or further): escalation stops. The lifecycle pass sends the notices.
		return nil, setState(ctx, tx, d, store.EscalationStopped, d.Step, d.Round, now, now)
	}
	pol, ok := cfg.Policies[d.Policy]
	if !ok || d.Step >= len(pol.Steps) {
		if err := setState(ctx, tx, d, store.EscalationStopped, d.Step, d.Round, now, now); err != nil {
			return nil, err
		}
		return nil, systemNote(ctx, tx, d.IncidentID, now, "escalation", fmt.Sprintf("escalation policy %q is no longer configured; escalation stopped", d.Policy))
	}
	stepNo := d.Step + 1
	var done []string
	var pages []page
	for _, t := range pol.Steps[d.Step].Targets {
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
			key := fmt.Sprintf("page:%d:%d:%d:%d:%s:%s", d.IncidentID, inc.ReopenCount, d.Round, d.Step, ds.channel, ds.person)
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
	next, round := d.Step+1, d.Round
	var at time.Time
	state := store.EscalationPending
	switch {
	case next < len(pol.Steps):
		at = now.Add(time.Duration(pol.Steps[next].Delay))
	case round+1 < pol.Repeat:
		next, round = 0, round+1
		at = now.Add(pol.RepeatAfter)
	default:
		state = store.EscalationDone
		at = now
	}
	if err := setState(ctx, tx, d, state, next, round, at, now); err != nil {
		return nil, err
	}
	note := fmt.Sprintf("escalation step %d (round %d) of %s: %s", stepNo, d.Round+1, pol.Name, strings.Join(done, "; "))
	if state == store.EscalationPending {
		note += fmt.Sprintf("; next step at %s unless acknowledged", at.Format(time.RFC3339))
	}
	return pages, systemNote(ctx, tx, d.IncidentID, now, "escalation", note)
}

// lifecycle sends acknowledge and resolve notices and handles reopened incidents.
func (e *Engine) lifecycle(ctx context.Context, cfg *Config) error {
	// Acks, resolves and reopens all bump the incident's updated_at: look at incidents
	// changed within the look-back only.
	ids, err := e.o.Store.EscalationsToNotify(ctx, e.o.Now().Add(-lookBack(cfg)), 200)
	if err != nil {
		return fmt.Errorf("find lifecycle changes: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := e.o.Store.UpdateEscalations(ctx, "escalation_lifecycle", func(ctx context.Context, tx *store.EscalationTx) error {
			return e.lifecycleOne(ctx, tx, cfg, id)
		}); err != nil {
			errs = append(errs, fmt.Errorf("incident %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) lifecycleOne(ctx context.Context, tx *store.EscalationTx, cfg *Config, id int64) error {
	now := e.o.Now().UTC()
	esc, err := tx.Lock(ctx, id)
	if err != nil || esc == nil {
		return err
	}
	inc, err := tx.Incident(ctx, id)
	if err != nil {
		return err
	}
	if inc.ReopenCount > esc.ReopenSeen {
		if rises(esc.Tier, inc.Tier) {
			from := esc.Tier
			esc.Tier, esc.Action, esc.State, esc.Step, esc.Round, esc.DueAt = inc.Tier, store.EscalationPage, store.EscalationPending, 0, 0, now
			esc.ReopenSeen, esc.AckedNotified, esc.ResolvedNotified, esc.UpdatedAt = inc.ReopenCount, false, false, now
			if err := tx.Update(ctx, *esc); err != nil {
				return err
			}
			return systemNote(ctx, tx, id, now, "flap", fmt.Sprintf("reopened at a higher tier (%s → %s): escalating again", from, inc.Tier))
		}
		esc.ReopenSeen, esc.UpdatedAt = inc.ReopenCount, now
		if err := tx.Update(ctx, *esc); err != nil {
			return err
		}
		if err := systemNote(ctx, tx, id, now, "flap", fmt.Sprintf("reopened (%d times so far) at tier %s: noted, not paged again", inc.ReopenCount, inc.Tier)); err != nil {
			return err
		}
	}
	wasPending := esc.State == store.EscalationPending
	isResolved := !inc.State.Open()
	switch {
	case isResolved && !esc.ResolvedNotified:
		esc.ResolvedNotified, esc.AckedNotified, esc.UpdatedAt = true, true, now
		if wasPending {
			esc.State = store.EscalationStopped
		}
		if err := tx.Update(ctx, *esc); err != nil {
			return err
		}
		return e.notifyNotified(ctx, tx, cfg, inc, notify.KindResolve, now)
	case !isResolved && !esc.AckedNotified && !inc.TriagedAt.IsZero() && (esc.Action == store.EscalationPage || esc.Action == store.EscalationHold):
		esc.AckedNotified, esc.UpdatedAt = true, now
		if wasPending {
			esc.State = store.EscalationStopped
		}
		if err := tx.Update(ctx, *esc); err != nil {
			return err
		}
		if wasPending {
			if err := systemNote(ctx, tx, id, now, "escalation", "acknowledged: escalation stopped"); err != nil {
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
func (e *Engine) notifyNotified(ctx context.Context, tx *store.EscalationTx, cfg *Config, inc *store.Incident, kind string, now time.Time) error {
	ds, err := tx.Destinations(ctx, inc.ID, notify.KindTrigger, notify.KindQueue, notify.KindBacklog)
	if err != nil {
		return err
	}
	// One notice per channel: a channel shared by several people gets it once.
	seen := map[string]bool{}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Channel+ds[i].Recipient < ds[j].Channel+ds[j].Recipient })
	for _, d := range ds {
		if seen[d.Channel] {
			continue
		}
		seen[d.Channel] = true
		m := message(cfg, inc, kind, "", 0, now)
		key := fmt.Sprintf("%s:%d:%d:%s", kind, inc.ID, inc.ReopenCount, d.Channel)
		if err := e.enqueue(ctx, tx, m, d.Channel, key, now); err != nil {
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
	cs, err := e.o.Store.ClaimOutbox(ctx, now, now.Add(e.o.Lease), 20)
	if err != nil {
		return fmt.Errorf("claim outbox: %w", err)
	}
	var errs []error
	for _, c := range cs {
		cl := claimed{id: c.ID, channel: c.Channel, attempts: c.Attempts}
		if err := json.Unmarshal(c.Payload, &cl.m); err != nil {
			// Leased and unreadable: it stays pending and is retried after the lease,
			// reported every time, as before it was claimed.
			errs = append(errs, fmt.Errorf("outbox %d payload: %w", c.ID, err))
			continue
		}
		batch = append(batch, cl)
	}
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
	status, next, msg := store.OutboxSent, now, ""
	if err != nil {
		msg = strings.ToValidUTF8(cfg.Redact(err.Error()), "")
		if len(msg) > 1000 {
			msg = strings.ToValidUTF8(msg[:1000], "")
		}
		status, next = store.OutboxPending, now.Add(backoff(c.attempts))
		if !retry || c.attempts+1 >= e.o.MaxAttempts {
			status = store.OutboxFailed
		}
	}
	first, werr := e.o.Store.FinishOutbox(ctx, store.OutboxResult{ID: c.id, IncidentID: c.m.IncidentID, Kind: c.m.Kind, Status: status, NextAt: next, LastError: msg, At: now})
	if werr != nil {
		return fmt.Errorf("record delivery %d: %w", c.id, werr)
	}
	switch status {
	case store.OutboxSent:
		e.sent.WithLabelValues(c.channel, c.m.Kind).Inc()
		if first && c.m.Kind == notify.KindTrigger && !c.m.DetectedAt.IsZero() {
			e.toFirst.WithLabelValues(c.m.Tier).Observe(now.Sub(c.m.DetectedAt).Seconds())
		}
	default:
		e.failed.WithLabelValues(c.channel, strconv.FormatBool(status == store.OutboxFailed)).Inc()
		e.o.Logger.Warn("notification failed", "channel", c.channel, "incident", c.m.IncidentID, "kind", c.m.Kind, "attempt", c.attempts+1, "final", status == store.OutboxFailed, "err", msg)
	}
	return nil
}

// Delivery is one outbox row, for the API.
type Delivery = incidentapi.Delivery

// Deliveries lists the notifications of an incident, oldest first.
func Deliveries(ctx context.Context, s *store.DB, incidentID int64) ([]Delivery, error) {
	es, err := s.Outbox(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, len(es))
	for i, d := range es {
		out[i] = Delivery{ID: d.ID, Channel: d.Channel, Kind: d.Kind, Recipient: d.Recipient, Step: d.Step, Status: d.Status,
			Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt, SentAt: d.SentAt}
	}
	return out, nil
}

// Status is an incident's escalation as the worker left it, for the API.
type Status = incidentapi.EscalationStatus

// StatusOf returns the escalation of an incident, nil if the worker has not routed it yet.
func StatusOf(ctx context.Context, s *store.DB, incidentID int64) (*Status, error) {
	e, err := s.Escalation(ctx, incidentID)
	if err != nil || e == nil {
		return nil, err
	}
	st := Status{Team: e.Team, Policy: e.Policy, Tier: string(e.Tier), Action: e.Action, State: e.State,
		Step:  e.Step + 1, // 1-based, like the messages
		Round: e.Round}
	if e.State == store.EscalationPending {
		st.DueAt = e.DueAt
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
