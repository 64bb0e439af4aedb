package app

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// routes is the HTTP surface: the API (and webhook) under /api/v1/, metrics, health,
// readiness, reload, the landing page and, when enabled, the profiler.
func (a *App) routes() http.Handler {
	reg := a.opts.Registry
	mux := http.NewServeMux()
	// Each request is answered by the API of the runtime in force when it arrived.
	mux.Handle("/api/v1/", instrument(reg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, r := a.pin(r)
		rt.api.ServeHTTP(w, r)
	})))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK\n")) })
	mux.HandleFunc("GET /-/ready", a.serveReady)
	mux.HandleFunc("POST /-/reload", a.serveReload)
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name: "incidentd", Description: "OpsCentre incident service: Alertmanager webhook, incident lifecycle and API", Version: version.Info(),
		Links: []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}, {Address: "/api/v1/incidents", Text: "Incidents"}, {Address: "/api/v1/openapi.yaml", Text: "OpenAPI"}},
	})
	if err != nil {
		// The landing page is static; failing to render it is a programming error.
		panic(fmt.Errorf("landing page: %w", err))
	}
	mux.Handle("/", landing)
	if a.opts.EnablePprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func (a *App) serveReady(w http.ResponseWriter, r *http.Request) {
	if !a.ready.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if err := a.db.Ping(r.Context()); err != nil {
		a.logger.Warn("not ready: store unhealthy", "err", err)
		msg := "store unreachable"
		if errors.Is(err, store.ErrDamaged) {
			msg = "store damaged (see the log): restore a backup and restart"
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("OK\n"))
}

func (a *App) serveReload(w http.ResponseWriter, r *http.Request) {
	p, err := a.rt.Load().auth.Authenticate(r)
	if err != nil || p.Role < auth.Admin {
		http.Error(w, "reload needs an admin token", http.StatusForbidden)
		return
	}
	if err := a.reload(p.Actor()); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = w.Write([]byte("OK\n"))
}

func instrument(reg prometheus.Registerer, h http.Handler) http.Handler {
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "incidentd_http_request_duration_seconds", Help: "HTTP request latency of the API.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"code", "method"})
	reg.MustRegister(dur)
	return promhttp.InstrumentHandlerDuration(dur, h)
}
