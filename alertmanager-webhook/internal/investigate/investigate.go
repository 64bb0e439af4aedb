// Package investigate runs evidence gathering inside incidentd: when an incident opens (or
// its tier rises, or a responder asks), a bounded queue hands it to a few workers that query
// Prometheus through package evidence and store the report; the API reads it back with the
// past incidents it resembles.
//
// Nothing here blocks ingest: the webhook's ingester only offers incident ids to the queue,
// and when the queue is full the offer is dropped and counted, never waited on.
package investigate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/postmortem"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/webhook"
)

// Store is what investigating needs from the incident store.
type Store interface {
	Get(ctx context.Context, id int64) (*store.Detail, error)
	List(ctx context.Context, f store.Filter) (*store.Page, error)
	Evidence(ctx context.Context, id int64) (*store.Evidence, error)
	SaveEvidence(ctx context.Context, e store.Evidence) error
	EvidenceSupported(ctx context.Context, ids []int64) (map[int64][]string, error)
	Postmortem(ctx context.Context, id int64) (*store.Postmortem, error)
	ActionItems(ctx context.Context, f store.ActionItemFilter) ([]store.ActionItem, error)
}

// Options configure an Investigator.
type Options struct {
	Store    Store
	Querier  evidence.Querier
	Evidence evidence.Options
	// QueueSize bounds the incidents waiting; Workers gather at once.
	QueueSize, Workers int
	Logger             *slog.Logger
	Registerer         prometheus.Registerer
	Now                func() time.Time
}

// Investigator owns the queue and its workers.
type Investigator struct {
	o       Options
	queue   chan int64
	mu      sync.Mutex
	pending map[int64]bool // queued ids → forced
	wg      sync.WaitGroup

	results  *prometheus.CounterVec
	duration prometheus.Histogram
}

// Results of a gathering, the values of incidentd_evidence_gatherings_total's label.
const (
	ResultComplete = "complete" // every query answered
	ResultPartial  = "partial"  // some queries failed: their causes are unknown
	ResultFailed   = "failed"   // every query failed, or the report could not be stored
	ResultDropped  = "dropped"  // the queue was full
)

// ErrQueueFull is returned when a gathering cannot be queued.
var ErrQueueFull = errors.New("the evidence queue is full; try again shortly")

// New builds an Investigator; Start runs its workers.
func New(o Options) *Investigator {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1000
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	v := &Investigator{o: o, queue: make(chan int64, o.QueueSize), pending: map[int64]bool{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentd_evidence_gatherings_total",
			Help: "Evidence gatherings for incidents, by result: complete, partial (some queries failed), failed, dropped (queue full)."}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "incidentd_evidence_gathering_duration_seconds",
			Help: "Time to gather one incident's evidence from Prometheus.", Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 20, 60}}),
	}
	for _, r := range []string{ResultComplete, ResultPartial, ResultFailed, ResultDropped} {
		v.results.WithLabelValues(r)
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(v.results, v.duration, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "incidentd_evidence_queue_length", Help: "Incidents waiting for their evidence to be gathered."},
			func() float64 { return float64(len(v.queue)) }))
	}
	return v
}

// Start runs the workers until ctx ends; Wait waits for them.
func (v *Investigator) Start(ctx context.Context) {
	for range v.o.Workers {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-v.queue:
					v.mu.Lock()
					force := v.pending[id]
					delete(v.pending, id)
					v.mu.Unlock()
					if err := v.Gather(ctx, id, force); err != nil && ctx.Err() == nil {
						v.o.Logger.Warn("evidence gathering failed", "incident", id, "err", err)
					}
				}
			}
		}()
	}
}

// Wait waits for the workers to stop after Start's context ends.
func (v *Investigator) Wait() { v.wg.Wait() }

// Enqueue offers an incident to the workers without waiting: false (and a dropped count)
// when the queue is full. Forced, the evidence is gathered again even if it exists.
func (v *Investigator) Enqueue(id int64, force bool) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if f, ok := v.pending[id]; ok {
		v.pending[id] = f || force
		return true
	}
	select {
	case v.queue <- id:
		v.pending[id] = force
		return true
	default:
		v.results.WithLabelValues(ResultDropped).Inc()
		return false
	}
}

// Ingester wraps next: after a notification is stored, its incidents are offered to the
// queue (an incident without evidence, or whose tier rose, is then gathered).
func (v *Investigator) Ingester(next webhook.Ingester) webhook.Ingester { return ingester{v, next} }

type ingester struct {
	v    *Investigator
	next webhook.Ingester
}

func (i ingester) Ingest(ctx context.Context, m *webhook.Message) (webhook.Outcome, error) {
	out, err := i.next.Ingest(ctx, m)
	if err == nil && m.Status == webhook.StatusFiring {
		for _, id := range out.Incidents {
			i.v.Enqueue(id, false)
		}
	}
	return out, err
}

// tierRose reports whether now is a more urgent tier than was (P1 is the most urgent; the
// unknown tier the least).
func tierRose(was, now incident.Tier) bool {
	rank := func(t incident.Tier) int {
		if len(t) != 2 || t[1] < '1' || t[1] > '4' {
			return 9 // unknown
		}
		return int(t[1] - '0')
	}
	return rank(now) < rank(was)
}

// deploymentKinds are the change-log kinds that put another version of a model in service.
var deploymentKinds = map[string]bool{"deploy": true, "model_version": true, "rollback": true}

// Subject is the evidence subject of an incident: its model and version labels at its
// detection time, the change log's deployments of that model within the baseline, and the
// evidence hints of the alert that opened it (the first by start time: the store lists an
// incident's alerts by starts_at), read from its annotations.
func Subject(d *store.Detail, baseline time.Duration) evidence.Subject {
	s := evidence.Subject{Model: d.Model, Version: d.Labels["version"], DetectedAt: d.DetectedAt}
	if len(d.Alerts) > 0 {
		s.Hints = evidence.HintsFromAnnotations(d.Alerts[0].Annotations)
	}
	for _, c := range d.RelatedChanges {
		if c.Model != d.Model || !deploymentKinds[c.Kind] || c.At.Before(d.DetectedAt.Add(-baseline)) {
			continue
		}
		summary := c.Kind
		if c.Version != "" {
			summary += " " + c.Version
		}
		if c.Title != "" {
			summary += " (" + c.Title + ")"
		}
		s.Deployments = append(s.Deployments, evidence.Deployment{At: c.At, Summary: summary})
	}
	return s
}

// Gather gathers and stores the evidence of one incident now, unless (not forced) it
// already has evidence gathered at its current tier or a higher one.
func (v *Investigator) Gather(ctx context.Context, id int64, force bool) error {
	d, err := v.o.Store.Get(ctx, id)
	if err != nil {
		return err
	}
	if !force {
		e, err := v.o.Store.Evidence(ctx, id)
		switch {
		case err == nil && !tierRose(e.Tier, d.Tier):
			return nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	start := time.Now()
	var r evidence.Report
	if d.Model == "" {
		r = noModel(d)
	} else {
		opts := v.o.Evidence
		r = evidence.Gather(ctx, v.o.Querier, Subject(d, baselineOf(opts)), opts)
	}
	v.duration.Observe(time.Since(start).Seconds())
	b, err := json.Marshal(r)
	if err == nil {
		err = v.o.Store.SaveEvidence(ctx, store.Evidence{IncidentID: id, Tier: d.Tier, GatheredAt: v.o.Now(), Supported: r.Supported(), Report: b})
	}
	result := ResultComplete
	switch {
	case err != nil || (r.Queries > 0 && len(r.Errors) >= r.Queries):
		result = ResultFailed
	case len(r.Errors) > 0:
		result = ResultPartial
	}
	v.results.WithLabelValues(result).Inc()
	if err != nil {
		return fmt.Errorf("store evidence of incident %d: %w", id, err)
	}
	v.o.Logger.Debug("evidence gathered", "incident", id, "supported", r.Supported(), "errors", len(r.Errors), "duration_ms", r.DurationMS)
	return nil
}

func baselineOf(o evidence.Options) time.Duration {
	if o.Baseline > 0 {
		return o.Baseline
	}
	return evidence.DefaultOptions().Baseline
}

// noModel is the report of an incident whose alerts name no model: nothing to query.
func noModel(d *store.Detail) evidence.Report {
	r := evidence.Report{At: d.DetectedAt, Errors: []string{"the incident's alerts carry no model label: no evidence to gather"}}
	for _, c := range evidence.Causes {
		r.Causes = append(r.Causes, evidence.Cause{Name: c, Verdict: evidence.Unknown, Reason: "no model label"})
	}
	return r
}

// Response is an incident's evidence as the API returns it: the report, when and at which
// tier it was gathered, and the past incidents it resembles.
type Response = incidentapi.Evidence

// Report reads an incident's evidence (store.ErrNotFound before it was gathered) and ranks
// the similar past incidents.
func (v *Investigator) Report(ctx context.Context, id int64) (*Response, error) {
	e, err := v.o.Store.Evidence(ctx, id)
	if err != nil {
		return nil, err
	}
	resp := &Response{IncidentID: id, GatheredAt: e.GatheredAt, Tier: e.Tier}
	if err := json.Unmarshal(e.Report, &resp.EvidenceReport); err != nil {
		return nil, fmt.Errorf("evidence of incident %d: %w", id, err)
	}
	d, err := v.o.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if resp.Similar, err = v.Similar(ctx, d, e.Supported, true); err != nil {
		return nil, err
	}
	return resp, nil
}

// MaxCandidates bounds the past incidents compared, per criterion (model, alert).
const MaxCandidates = 200

// Similar ranks the past incidents that share d's model or alert (at most MaxCandidates of
// each, the most recent), then reads the post-mortems of the few returned.
func (v *Investigator) Similar(ctx context.Context, d *store.Detail, supported []string, hasReport bool) ([]evidence.Similar, error) {
	cur := evidence.Incident{ID: d.ID, Alertname: d.Labels["alertname"], Model: d.Model, Labels: d.Labels, DetectedAt: d.DetectedAt,
		Supported: supported, HasReport: hasReport}
	seen := map[int64]bool{}
	var past []evidence.Incident
	var ids []int64
	for _, f := range []store.Filter{{Model: d.Model}, {Text: cur.Alertname}} {
		if f.Model == "" && f.Text == "" {
			continue
		}
		f.To, f.Limit = d.DetectedAt, MaxCandidates
		p, err := v.o.Store.List(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, i := range p.Incidents {
			if seen[i.ID] || i.ID == d.ID {
				continue
			}
			seen[i.ID] = true
			ids = append(ids, i.ID)
			past = append(past, evidence.Incident{ID: i.ID, Title: i.Title, Alertname: i.Labels["alertname"], Model: i.Model, Labels: i.Labels,
				DetectedAt: i.DetectedAt, ResolvedAt: i.ResolvedAt, ResolvedBy: i.ResolvedBy})
		}
	}
	sup, err := v.o.Store.EvidenceSupported(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range past {
		past[i].Supported, past[i].HasReport = sup[past[i].ID], false
		if _, ok := sup[past[i].ID]; ok {
			past[i].HasReport = true
		}
	}
	out := evidence.SimilarIncidents(cur, past, evidence.MaxSimilar)
	for i := range out {
		if pm, err := v.o.Store.Postmortem(ctx, out[i].ID); err == nil {
			out[i].RootCause = postmortem.RootCause(pm.Text)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		items, err := v.o.Store.ActionItems(ctx, store.ActionItemFilter{IncidentID: out[i].ID, Limit: 10})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out[i].ActionItems = append(out[i].ActionItems, it.Text)
		}
	}
	if out == nil {
		out = []evidence.Similar{}
	}
	return out, nil
}
