package plugin

import (
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the plugin's own metrics. Grafana scrapes them through the plugin's
// CollectMetrics call, exposed at /metrics/plugins/opscentre-incidents-datasource.
type Metrics struct {
	queries        *prometheus.CounterVec
	queryDuration  *prometheus.HistogramVec
	upstream       *prometheus.CounterVec
	upstreamTiming *prometheus.HistogramVec
	actions        *prometheus.CounterVec
	incidentsRead  prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opscentre_plugin_queries_total",
			Help: "Queries answered, by query type, whether Grafana alerting sent them, and outcome (ok, downstream_error, plugin_error).",
		}, []string{"query_type", "from_alert", "outcome"}),
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opscentre_plugin_query_duration_seconds",
			Help:    "Time to answer one query, including the calls to incidentd.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"query_type"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opscentre_plugin_incidentd_requests_total",
			Help: "Requests sent to incidentd, by endpoint and HTTP status (0: not reached).",
		}, []string{"endpoint", "code"}),
		upstreamTiming: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opscentre_plugin_incidentd_request_duration_seconds",
			Help:    "Duration of requests to incidentd, by endpoint.",
			Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opscentre_plugin_actions_total",
			Help: "Incident actions taken from Grafana, by action and outcome (ok, denied, bad_request, conflict, downstream_error, plugin_error).",
		}, []string{"action", "outcome"}),
		incidentsRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "opscentre_plugin_incidents_read_total",
			Help: "Incidents read from incidentd across all pages.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.queries, m.queryDuration, m.upstream, m.upstreamTiming, m.actions, m.incidentsRead)
	}
	return m
}

func (m *Metrics) observeQuery(kind string, fromAlert bool, r backend.DataResponse, d time.Duration) {
	outcome := "ok"
	if r.Error != nil {
		outcome = "plugin_error"
		if r.ErrorSource == backend.ErrorSourceDownstream {
			outcome = "downstream_error"
		}
	}
	m.queries.WithLabelValues(kind, strconv.FormatBool(fromAlert), outcome).Inc()
	m.queryDuration.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *Metrics) observeUpstream(endpoint string, status int, d time.Duration) {
	m.upstream.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.upstreamTiming.WithLabelValues(endpoint).Observe(d.Seconds())
}

func (m *Metrics) observeAction(action, outcome string) {
	m.actions.WithLabelValues(action, outcome).Inc()
}
