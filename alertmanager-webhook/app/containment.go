package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// containmentWorker applies the automatic policies to new incidents and lifts the
// containments that expired or whose incident resolved; it runs on the escalation tick.
type containmentWorker struct {
	db     *store.DB
	cfg    func() *containment.Compiled
	logger *slog.Logger
	runs   *prometheus.CounterVec
	lifts  prometheus.Counter
}

func newContainmentWorker(db *store.DB, cfg func() *containment.Compiled, logger *slog.Logger, reg prometheus.Registerer) *containmentWorker {
	w := &containmentWorker{db: db, cfg: cfg, logger: logger,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentd_containment_policy_runs_total",
			Help: "Automatic containment policies run on incidents by this replica, by outcome (applied, dry_run, rate_limited, skipped)."}, []string{"outcome"}),
		lifts: prometheus.NewCounter(prometheus.CounterOpts{Name: "incidentd_containment_auto_lifts_total",
			Help: "Containments this replica lifted because they expired or their incident resolved."}),
	}
	for _, o := range []string{store.OutcomeApplied, store.OutcomeDryRun, store.OutcomeRateLimited, store.OutcomeSkipped} {
		w.runs.WithLabelValues(o)
	}
	reg.MustRegister(w.runs, w.lifts, &containmentCollector{db: db, logger: logger,
		active: prometheus.NewDesc("incidentd_containments_active", "Containments in force, by model and action.", []string{"model", "action"}, nil)})
	return w
}

func (w *containmentWorker) Tick(ctx context.Context) error {
	runs, err := w.db.AutoContain(ctx, w.cfg())
	for _, r := range runs {
		w.runs.WithLabelValues(r.Outcome).Inc()
		w.logger.Info("automatic containment", "incident", r.Incident, "policy", r.Policy, "outcome", r.Outcome, "note", r.Note)
	}
	if err != nil {
		return err
	}
	lifted, err := w.db.LiftDue(ctx)
	for _, c := range lifted {
		w.lifts.Inc()
		w.logger.Info("containment lifted", "id", c.ID, "model", c.Model, "reason", c.LiftReason)
	}
	return err
}

type containmentCollector struct {
	db     *store.DB
	logger *slog.Logger
	active *prometheus.Desc
}

func (c *containmentCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.active }

func (c *containmentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.db.ActiveContainments(ctx)
	if err != nil {
		c.logger.Warn("cannot read containment metrics", "err", err)
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
