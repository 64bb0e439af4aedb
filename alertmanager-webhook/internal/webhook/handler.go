package webhook

import (
	"github.com/valyala/fastjson"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Outcome is what ingesting one notification changed.
type Outcome = incident.Outcome

// Ingester stores a notification durably. It must return only after the commit, and
// return an error (any error is treated as transient) when it could not.
type Ingester interface {
	Ingest(ctx context.Context, m *Message) (Outcome, error)
}

// Authorizer decides whether a request may post notifications.
type Authorizer interface {
	AuthorizeWebhook(r *http.Request) bool
}

// HandlerOptions configure the webhook endpoint.
type HandlerOptions struct {
	Ingester     Ingester
	Authorizer   Authorizer // nil: no authentication
	MaxBodyBytes int64
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	// Now is the clock alert times are checked against; nil means time.Now.
	Now func() time.Time
	// Health, when set and failing, makes the handler answer 503 without storing: a
	// damaged store takes no more writes, and Alertmanager retries (another replica, or
	// this one once restored).
	Health func() error
}

type handler struct {
	o         HandlerOptions
	parsers   fastjson.ParserPool // reused across requests: a parser's memory is its speed
	received  prometheus.Counter
	dedup     prometheus.Counter
	rejected  *prometheus.CounterVec
	alerts    prometheus.Counter
	truncated prometheus.Counter
}

// NewHandler returns the POST /api/v1/alertmanager handler. Status codes follow what
// Alertmanager does with them: 200 once committed; 400 for a body that can never be
// stored (Alertmanager drops it until the next group interval); 401 for bad credentials;
// 503 for everything transient, which Alertmanager retries with backoff. Never 429/409,
// which Alertmanager does not retry within a flush.
func NewHandler(o HandlerOptions) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &handler{
		o: o,
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_notifications_received_total", Help: "Webhook notifications received.",
		}),
		dedup: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_notifications_deduplicated_total", Help: "Notifications that changed nothing (retries, repeats, HA duplicates).",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidentd_notifications_rejected_total", Help: "Notifications refused, by reason.",
		}, []string{"reason"}),
		alerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_notification_alerts_total", Help: "Alerts carried by accepted notifications.",
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_notification_truncated_alerts_total", Help: "Alerts Alertmanager left out of notifications (max_alerts).",
		}),
	}
	for _, r := range []string{"unauthorized", "method", "too_large", "invalid", "unavailable"} {
		h.rejected.WithLabelValues(r)
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(h.received, h.dedup, h.rejected, h.alerts, h.truncated)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.received.Inc()
	if r.Method != http.MethodPost {
		h.rejected.WithLabelValues("method").Inc()
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if h.o.Authorizer != nil && !h.o.Authorizer.AuthorizeWebhook(r) {
		h.rejected.WithLabelValues("unauthorized").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="incidentd"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong credentials for the webhook")
		return
	}
	if h.o.Health != nil {
		if err := h.o.Health(); err != nil {
			h.rejected.WithLabelValues("unavailable").Inc()
			h.o.Logger.Error("store unhealthy; refusing the notification so Alertmanager retries", "err", err)
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusServiceUnavailable, "incident store unhealthy; retry later")
			return
		}
	}
	body := http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes)
	msg, err := decode(&h.parsers, body, h.o.Now())
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.rejected.WithLabelValues("too_large").Inc()
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes; lower max_alerts in the webhook config", h.o.MaxBodyBytes))
			return
		}
		h.rejected.WithLabelValues("invalid").Inc()
		h.o.Logger.Warn("rejected notification", "err", err, "remote", r.RemoteAddr)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := h.o.Ingester.Ingest(r.Context(), msg)
	if err != nil {
		h.rejected.WithLabelValues("unavailable").Inc()
		h.o.Logger.Error("cannot store notification; Alertmanager will retry", "err", err, "group_key", msg.GroupKey)
		w.Header().Set("Retry-After", "1")
		// The cause (a database error) is logged above, not sent.
		writeError(w, http.StatusServiceUnavailable, "notification not stored (incident store unavailable); retry later")
		return
	}
	h.alerts.Add(float64(len(msg.Alerts)))
	h.truncated.Add(float64(msg.TruncatedAlerts))
	if out.NewTransitions == 0 && out.Orphans == 0 {
		h.dedup.Inc()
	}
	if out.Incidents == nil {
		out.Incidents = []int64{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
