package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// incidentCollector reads incident gauges and response-time histograms from the store at
// scrape time, so they are right after a restart and identical on every replica.
type incidentCollector struct {
	db     *store.DB
	logger *slog.Logger
	open   *prometheus.Desc
	breach *prometheus.Desc
	mtta   *prometheus.Desc
	mttr   *prometheus.Desc
	up     *prometheus.Desc
}

// Bucket bounds for time to acknowledge and to resolve, seconds: 1 min … 1 week.
var (
	ackBounds     = []float64{60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600}
	resolveBounds = []float64{300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}
)

func newIncidentCollector(db *store.DB, logger *slog.Logger) *incidentCollector {
	return &incidentCollector{
		db: db, logger: logger,
		open:   prometheus.NewDesc("incidentd_incidents_open", "Unresolved incidents by tier and state.", []string{"tier", "state"}, nil),
		breach: prometheus.NewDesc("incidentd_incidents_sla_breached", "Unresolved incidents past their tier's acknowledge target.", []string{"tier"}, nil),
		mtta:   prometheus.NewDesc("incidentd_incident_ack_duration_seconds", "Time from detection to acknowledgement of incidents (MTTA = sum/count).", []string{"tier"}, nil),
		mttr:   prometheus.NewDesc("incidentd_incident_resolve_duration_seconds", "Time from detection to resolution of incidents (MTTR = sum/count).", []string{"tier"}, nil),
		up:     prometheus.NewDesc("incidentd_store_up", "Whether the incident metrics could be read from the store and it reported no damage.", nil, nil),
	}
}

func (c *incidentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.breach
	ch <- c.mtta
	ch <- c.mttr
	ch <- c.up
}

func (c *incidentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok := 1.0
	fail := func(what string, err error) {
		c.logger.Warn("cannot read incident metrics", "what", what, "err", err)
		ok = 0
	}
	if counts, err := c.db.OpenCounts(ctx); err != nil {
		fail("open", err)
	} else {
		for _, oc := range counts {
			ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(oc.Count), oc.Tier, oc.State)
		}
	}
	if br, err := c.db.OpenBreaches(ctx); err != nil {
		fail("breaches", err)
	} else {
		for tier, n := range br {
			ch <- prometheus.MustNewConstMetric(c.breach, prometheus.GaugeValue, float64(n), tier)
		}
	}
	for _, h := range []struct {
		which  string
		desc   *prometheus.Desc
		bounds []float64
	}{{"ack", c.mtta, ackBounds}, {"resolve", c.mttr, resolveBounds}} {
		counts, sums, err := c.db.DurationBuckets(ctx, h.which, h.bounds)
		if err != nil {
			fail(h.which, err)
			continue
		}
		for tier, cs := range counts {
			buckets := map[float64]uint64{}
			var cum uint64
			for i, b := range h.bounds {
				cum += cs[i]
				buckets[b] = cum
			}
			total := cum + cs[len(h.bounds)]
			ch <- prometheus.MustNewConstHistogram(h.desc, total, sums[tier], buckets, tier)
		}
	}
	if err := c.db.Health(); err != nil {
		fail("health", err)
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, ok)
}
