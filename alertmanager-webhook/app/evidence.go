package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	promcfg "github.com/prometheus/common/config"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/config"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/evidence"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/investigate"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// newInvestigator builds the evidence gatherer for the configured Prometheus, nil when none
// is configured.
func newInvestigator(p *config.Prometheus, db *store.DB, reg prometheus.Registerer, logger *slog.Logger, now func() time.Time) (*investigate.Investigator, error) {
	if p == nil {
		return nil, nil
	}
	rt, err := promcfg.NewRoundTripperFromConfig(p.HTTPClient(), "incidentd-evidence")
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	client, err := promapi.NewClient(promapi.Config{Address: p.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus.url: %w", err)
	}
	opts := evidence.DefaultOptions()
	opts.Window, opts.Baseline = time.Duration(p.Window), time.Duration(p.Baseline)
	opts.QueryTimeout, opts.Total = time.Duration(p.Timeout), time.Duration(p.TotalTimeout)
	logger.Info("evidence gathering on", "prometheus", p.URL, "window", p.Window, "baseline", p.Baseline)
	return investigate.New(investigate.Options{Store: db, Querier: promv1.NewAPI(client), Evidence: opts,
		QueueSize: p.QueueSize, Workers: p.Workers, Logger: logger, Registerer: reg, Now: now}), nil
}

// tierWatch is the API's store, which offers an incident whose tier a responder raised to
// the evidence queue.
type tierWatch struct {
	*store.DB
	inv *investigate.Investigator
}

func (t tierWatch) SetTier(ctx context.Context, id int64, tier incident.Tier, a store.Action) (*store.Incident, error) {
	inc, err := t.DB.SetTier(ctx, id, tier, a)
	if err == nil {
		t.inv.Enqueue(id, false)
	}
	return inc, err
}
