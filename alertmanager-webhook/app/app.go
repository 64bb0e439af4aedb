// Package app wires incidentd together — configuration, store, webhook, API, metrics and
// the HTTP server — so that main stays a flag parser and tests can run the whole service
// in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"

	"github.com/opscentre/opscentre/alertmanager-webhook/api"
	"github.com/opscentre/opscentre/alertmanager-webhook/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/config"
	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	containhook "github.com/opscentre/opscentre/alertmanager-webhook/containment/hook"
	"github.com/opscentre/opscentre/alertmanager-webhook/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/heartbeat"
	"github.com/opscentre/opscentre/alertmanager-webhook/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/oncall"
	"github.com/opscentre/opscentre/alertmanager-webhook/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/store/postgres"
	"github.com/opscentre/opscentre/alertmanager-webhook/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/webhook"
)

// Options are incidentd's settings; DefaultOptions matches the flag defaults.
type Options struct {
	ConfigFile  string // "" = built-in defaults
	StoragePath string // SQLite file
	// IntegrityCheckTimeout bounds the SQLite integrity check at start (0: 30s; negative
	// skips it).
	IntegrityCheckTimeout time.Duration
	PostgresDSN           string // when set, PostgreSQL instead of SQLite
	// ListenAddresses and WebConfigFile feed exporter-toolkit (TLS, basic auth for the
	// whole server). Listener, when set, is used instead of ListenAddresses (tests).
	ListenAddresses []string
	WebConfigFile   string
	Listener        net.Listener // when set, used instead of ListenAddresses
	ShutdownTimeout time.Duration
	// MaxConnections bounds the connections served at once on each listener; more wait in
	// the kernel's accept queue until one closes. The timeouts bound how long a connection
	// may hold its place: to send its headers, its whole request, to receive the response,
	// and idle between keep-alive requests. Zero means the default (DefaultOptions).
	MaxConnections    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	Logger            *slog.Logger
	// Registry receives incidentd's metrics; nil creates one.
	Registry *prometheus.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Reload receives a value for each SIGHUP.
	Reload <-chan struct{}
	// EscalationInterval is how often the escalation worker looks for due work (default
	// 1s; negative disables the worker, e.g. for an API-only replica).
	EscalationInterval time.Duration
	// EnablePprof serves Go's profiler under /debug/pprof/ (unauthenticated: for load
	// tests and debugging on a trusted network only).
	EnablePprof bool
}

// DefaultOptions are the defaults of cmd/incidentd's flags.
func DefaultOptions() Options {
	return Options{StoragePath: "data/incidentd.db", ListenAddresses: []string{":9478"}, ShutdownTimeout: 30 * time.Second,
		MaxConnections: 512, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
}

// CheckConfig loads and validates a configuration file, including its tokens file.
func CheckConfig(path string) (*config.Config, error) {
	c, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if _, err := c.Authenticator(); err != nil {
		return nil, err
	}
	return c, nil
}

func loadConfig(path string) (*config.Config, *auth.Authenticator, error) {
	c := config.Default()
	cfg := &c
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, nil, err
		}
	}
	a, err := cfg.Authenticator()
	if err != nil {
		return nil, nil, err
	}
	return cfg, a, nil
}

// Run serves until ctx is cancelled, then finishes in-flight requests and closes the store.
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	defaults := DefaultOptions()
	for _, d := range []struct{ v, def *time.Duration }{{&o.ShutdownTimeout, &defaults.ShutdownTimeout}, {&o.ReadHeaderTimeout, &defaults.ReadHeaderTimeout},
		{&o.ReadTimeout, &defaults.ReadTimeout}, {&o.WriteTimeout, &defaults.WriteTimeout}, {&o.IdleTimeout, &defaults.IdleTimeout}} {
		if *d.v <= 0 {
			*d.v = *d.def
		}
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = defaults.MaxConnections
	}
	logger := o.Logger
	cfg, authn, err := loadConfig(o.ConfigFile)
	if err != nil {
		return err
	}
	reg := o.Registry
	reg.MustRegister(versioncollector.NewCollector("incidentd"), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	storeDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "incidentd_store_operation_duration_seconds", Help: "Latency of store operations, including waiting for a group commit.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"op"})
	reloadOK := prometheus.NewGauge(prometheus.GaugeOpts{Name: "incidentd_config_last_reload_successful", Help: "Whether the last configuration reload succeeded."})
	reloadTime := prometheus.NewGauge(prometheus.GaugeOpts{Name: "incidentd_config_last_reload_success_timestamp_seconds", Help: "Time of the last successful configuration reload."})
	reg.MustRegister(storeDur, reloadOK, reloadTime)
	reloadOK.Set(1)
	reloadTime.SetToCurrentTime()
	observe := func(op string, d time.Duration) { storeDur.WithLabelValues(op).Observe(d.Seconds()) }

	var db *store.DB
	if o.PostgresDSN != "" {
		db, err = postgres.Open(ctx, postgres.Options{DSN: o.PostgresDSN, Config: cfg.Store(), Now: o.Now, Observe: observe})
		logger.Info("storage", "kind", "postgres")
	} else {
		db, err = sqlite.Open(ctx, sqlite.Options{Path: o.StoragePath, Config: cfg.Store(), Now: o.Now, Observe: observe,
			IntegrityCheckTimeout: o.IntegrityCheckTimeout, Logger: logger})
		logger.Info("storage", "kind", "sqlite", "path", o.StoragePath)
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			logger.Error("closing store", "err", err)
		}
	}()
	reg.MustRegister(newIncidentCollector(db, logger))

	var current atomic.Pointer[auth.Authenticator]
	current.Store(authn)
	var directory atomic.Pointer[oncall.Directory]
	directory.Store(cfg.Directory())
	var response atomic.Pointer[escalation.Config]
	response.Store(cfg.Response())
	var heartbeats atomic.Pointer[[]heartbeat.Config]
	hbs := cfg.Heartbeats
	heartbeats.Store(&hbs)
	var contain atomic.Pointer[containment.Compiled]
	contain.Store(cfg.Containments())
	var hooks atomic.Pointer[[]containhook.Config]
	hooks.Store(&cfg.ContainmentHooks)
	warnOpen(logger, authn)

	var reloadMu sync.Mutex
	reload := func(actor string) error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		c, a, err := loadConfig(o.ConfigFile)
		if err != nil {
			reloadOK.Set(0)
			logger.Error("configuration reload failed; keeping the previous one", "err", err)
			return err
		}
		db.SetConfig(c.Store())
		current.Store(a)
		directory.Store(c.Directory())
		response.Store(c.Response())
		hbs := c.Heartbeats
		heartbeats.Store(&hbs)
		contain.Store(c.Containments())
		hooks.Store(&c.ContainmentHooks)
		reloadOK.Set(1)
		reloadTime.SetToCurrentTime()
		warnOpen(logger, a)
		logger.Info("configuration reloaded", "file", o.ConfigFile)
		return db.RecordAudit(context.Background(), actor, "config.reload", "config", nil, map[string]any{"file": o.ConfigFile})
	}

	stored := webhook.Storing(db) // the store keeps notifications in its own terms
	watch := &heartbeat.Watch{DB: db, Ingest: stored, Now: o.Now, Config: func() []heartbeat.Config { return *heartbeats.Load() }}
	if err := watch.Start(ctx); err != nil {
		return fmt.Errorf("start heartbeat watch: %w", err)
	}
	inv, err := newInvestigator(cfg.Prometheus, db, reg, logger.With("component", "evidence"), o.Now)
	if err != nil {
		return err
	}
	ingester, apiStore, evidenceService := watch.Ingester(stored), api.Store(db), api.EvidenceService(nil)
	if inv != nil {
		invCtx, stopInv := context.WithCancel(context.Background())
		inv.Start(invCtx)
		defer func() { stopInv(); inv.Wait() }() // before the store closes
		ingester, apiStore, evidenceService = inv.Ingester(ingester), tierWatch{db, inv}, inv
	}
	hook := webhook.NewHandler(webhook.HandlerOptions{
		Ingester: ingester, Authorizer: authorizer{&current}, MaxBodyBytes: cfg.Webhook.MaxBodyBytes,
		Logger: logger.With("component", "webhook"), Registerer: reg, Now: o.Now, Health: db.Health,
	})
	apiH := api.New(api.Options{Store: apiStore, Evidence: evidenceService, Auth: current.Load, Webhook: hook, Logger: logger.With("component", "api"), Now: o.Now, OnCall: directory.Load,
		Maintenance: maintenance.Store{DB: db}, Deliveries: func(ctx context.Context, id int64) ([]escalation.Delivery, error) {
			ds, err := escalation.Deliveries(ctx, db, id)
			return response.Load().RedactDeliveries(ds), err
		}, Containments: db})
	containWorker := newContainmentWorker(db, contain.Load, logger.With("component", "containment"), reg)
	dispatcher := &containhook.Dispatcher{Store: db, Hooks: func() []containhook.Config { return *hooks.Load() }, Now: o.Now, Logger: logger.With("component", "containment_hooks")}
	dispatcher.Register(reg)

	engine := escalation.New(escalation.Options{Store: db, Config: response.Load, Now: o.Now, Logger: logger.With("component", "escalation"), Registerer: reg})
	engineDone := make(chan struct{})
	engineCtx, stopEngine := context.WithCancel(context.Background())
	hooksDone := make(chan struct{})
	defer func() { stopEngine(); <-engineDone; <-hooksDone }() // before the store closes
	go func() {
		// Hooks call other systems (up to their timeout each): apart from the escalation
		// tick, so a slow hook never delays a page or a containment.
		defer close(hooksDone)
		if o.EscalationInterval < 0 {
			return
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if err := dispatcher.Tick(engineCtx); err != nil && engineCtx.Err() == nil {
				logger.Error("containment hooks tick failed", "err", err)
			}
			select {
			case <-engineCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer close(engineDone)
		if o.EscalationInterval < 0 {
			return
		}
		every := o.EscalationInterval
		if every == 0 {
			every = time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := watch.Check(engineCtx); err != nil && engineCtx.Err() == nil {
				logger.Error("heartbeat check failed", "err", err)
			}
			if err := engine.Tick(engineCtx); err != nil && engineCtx.Err() == nil {
				logger.Error("escalation tick failed", "err", err)
			}
			if err := containWorker.Tick(engineCtx); err != nil && engineCtx.Err() == nil {
				logger.Error("containment tick failed", "err", err)
			}
			select {
			case <-engineCtx.Done():
				return
			case <-t.C:
			}
		}
	}()

	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", instrument(reg, apiH))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK\n")) })
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		if err := db.Ping(r.Context()); err != nil {
			logger.Warn("not ready: store unhealthy", "err", err)
			msg := "store unreachable"
			if errors.Is(err, store.ErrDamaged) {
				msg = "store damaged (see the log): restore a backup and restart"
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("OK\n"))
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) {
		p, err := current.Load().Authenticate(r)
		if err != nil || p.Role < auth.Admin {
			http.Error(w, "reload needs an admin token", http.StatusForbidden)
			return
		}
		if err := reload(p.Actor()); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("OK\n"))
	})
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name: "incidentd", Description: "OpsCentre incident service: Alertmanager webhook, incident lifecycle and API", Version: version.Info(),
		Links: []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}, {Address: "/api/v1/incidents", Text: "Incidents"}, {Address: "/api/v1/openapi.yaml", Text: "OpenAPI"}},
	})
	if err != nil {
		return fmt.Errorf("landing page: %w", err)
	}
	mux.Handle("/", landing)
	if o.EnablePprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}

	listeners := []net.Listener{o.Listener}
	if o.Listener == nil {
		listeners = listeners[:0]
		for _, a := range o.ListenAddresses {
			l, err := net.Listen("tcp", a)
			if err != nil {
				for _, l := range listeners {
					l.Close()
				}
				return fmt.Errorf("listen on %s: %w", a, err)
			}
			listeners = append(listeners, l)
		}
	}
	for i, l := range listeners {
		logger.Info("listening", "address", l.Addr().String(), "max_connections", o.MaxConnections)
		// Each connection costs a file descriptor and a goroutine with its buffers: past
		// the limit, connections wait in the kernel's accept queue instead, and the
		// timeouts below make every held place free up in bounded time.
		listeners[i] = netutil.LimitListener(l, o.MaxConnections)
	}

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: o.ReadHeaderTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, IdleTimeout: o.IdleTimeout}
	errc := make(chan error, 1)
	ready.Store(true)
	go func() {
		flags := &web.FlagConfig{WebListenAddresses: &o.ListenAddresses, WebSystemdSocket: new(bool), WebConfigFile: &o.WebConfigFile}
		errc <- web.ServeMultiple(listeners, srv, flags, logger)
	}()

	for {
		select {
		case <-o.Reload:
			_ = reload("signal")
		case err := <-errc:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			ready.Store(false)
			logger.Info("shutting down; finishing in-flight requests")
			sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
			err := srv.Shutdown(sctx)
			cancel()
			if err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			return nil
		}
	}
}

type authorizer struct {
	p *atomic.Pointer[auth.Authenticator]
}

func (a authorizer) AuthorizeWebhook(r *http.Request) bool { return a.p.Load().AuthorizeWebhook(r) }

func warnOpen(logger *slog.Logger, a *auth.Authenticator) {
	if a.WebhookOpen() {
		logger.Warn("webhook accepts notifications without credentials; set webhook.bearer_token_sha256 or webhook.basic_auth_users")
	}
	if a.Open() {
		logger.Warn("no API tokens configured: the API is read-only for everyone")
	}
}

func instrument(reg prometheus.Registerer, h http.Handler) http.Handler {
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "incidentd_http_request_duration_seconds", Help: "HTTP request latency of the API.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"code", "method"})
	reg.MustRegister(dur)
	return promhttp.InstrumentHandlerDuration(dur, h)
}
