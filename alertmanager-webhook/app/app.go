// Package app wires incidentd together — configuration, store, webhook, API, workers,
// metrics and the HTTP server — so that main stays a flag parser and tests can run the
// whole service in-process.
//
// The split follows Alertmanager's app: New builds everything (store open, handlers,
// workers ready), Serve runs it until the context ends, routes is the HTTP surface and
// reload swaps the runtime configuration (runtime.go) as one value.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/api"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/config"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/containhook"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/investigate"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/postgres"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/webhook"
)

// DefaultIntegrityCheckTimeout is how long the SQLite integrity check at start may take
// by default (the store's own default).
const DefaultIntegrityCheckTimeout = sqlite.DefaultIntegrityCheckTimeout

// Options are incidentd's settings; DefaultOptions matches the flag defaults.
type Options struct {
	ConfigFile  string // "" = built-in defaults
	StoragePath string // SQLite file
	// IntegrityCheckTimeout bounds the SQLite integrity check at start (0: 30s; negative
	// skips it).
	IntegrityCheckTimeout time.Duration
	PostgresDSN           string // when set, PostgreSQL instead of SQLite
	// Web is exporter-toolkit's listen configuration: addresses, systemd socket activation,
	// and the web configuration file (TLS, basic auth for the whole server).
	Web *web.FlagConfig
	// Listener, when set, is served instead of Web's addresses (tests); the web
	// configuration file still applies.
	Listener        net.Listener
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
	addrs, socket, webConfig := []string{":9478"}, false, ""
	return Options{StoragePath: "data/incidentd.db", ShutdownTimeout: 30 * time.Second,
		Web:            &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &socket, WebConfigFile: &webConfig},
		MaxConnections: 512, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
}

// withDefaults fills what a caller left zero.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := DefaultOptions()
	if o.Web == nil {
		o.Web = d.Web
	}
	for _, f := range []struct{ v, def *time.Duration }{{&o.ShutdownTimeout, &d.ShutdownTimeout}, {&o.ReadHeaderTimeout, &d.ReadHeaderTimeout},
		{&o.ReadTimeout, &d.ReadTimeout}, {&o.WriteTimeout, &d.WriteTimeout}, {&o.IdleTimeout, &d.IdleTimeout}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = d.MaxConnections
	}
	if o.EscalationInterval == 0 {
		o.EscalationInterval = time.Second
	}
	return o
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

// App is incidentd built and ready to serve: the store is open, the handlers and workers
// are made, nothing runs yet.
type App struct {
	opts   Options
	logger *slog.Logger
	db     *store.DB

	// rt is the configuration in force; reload replaces it whole, under reloadMu.
	rt       atomic.Pointer[runtime]
	reloadMu sync.Mutex

	// Built once, shared by every runtime: they count metrics or hold queues.
	webhook  http.Handler
	apiStore api.Store
	evidence api.EvidenceService
	inv      *investigate.Investigator // nil without a Prometheus
	engine   *escalation.Engine
	contain  *containmentWorker
	hooks    *containhook.Dispatcher
	handler  http.Handler
	ready    atomic.Bool

	reloadOK, reloadTime prometheus.Gauge
}

// New loads the configuration, opens the store and builds the handlers and workers.
func New(ctx context.Context, opts Options) (*App, error) {
	o := opts.withDefaults()
	a := &App{opts: o, logger: o.Logger}
	rt, err := loadRuntime(o.ConfigFile)
	if err != nil {
		return nil, err
	}
	a.registerMetrics()
	if err := a.openStore(ctx, rt); err != nil {
		return nil, err
	}
	if err := a.build(ctx, rt); err != nil {
		a.closeStore()
		return nil, err
	}
	a.install(rt)
	warnOpen(a.logger, rt.auth)
	a.handler = a.routes()
	return a, nil
}

func (a *App) registerMetrics() {
	a.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "incidentd_config_last_reload_successful", Help: "Whether the last configuration reload succeeded."})
	a.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "incidentd_config_last_reload_success_timestamp_seconds", Help: "Time of the last successful configuration reload."})
	a.opts.Registry.MustRegister(versioncollector.NewCollector("incidentd"), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		a.reloadOK, a.reloadTime)
	a.reloadOK.Set(1)
	a.reloadTime.SetToCurrentTime()
}

func (a *App) openStore(ctx context.Context, rt *runtime) error {
	storeDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "incidentd_store_operation_duration_seconds", Help: "Latency of store operations, including waiting for a group commit.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"op"})
	a.opts.Registry.MustRegister(storeDur)
	observe := func(op string, d time.Duration) { storeDur.WithLabelValues(op).Observe(d.Seconds()) }
	var err error
	if o := a.opts; o.PostgresDSN != "" {
		a.db, err = postgres.Open(ctx, postgres.Options{DSN: o.PostgresDSN, Config: rt.store, Now: o.Now, Observe: observe})
		a.logger.Info("storage", "kind", "postgres")
	} else {
		a.db, err = sqlite.Open(ctx, sqlite.Options{Path: o.StoragePath, Config: rt.store, Now: o.Now, Observe: observe,
			IntegrityCheckTimeout: o.IntegrityCheckTimeout, Logger: a.logger})
		a.logger.Info("storage", "kind", "sqlite", "path", o.StoragePath)
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	a.opts.Registry.MustRegister(newIncidentCollector(a.db, a.logger))
	return nil
}

// build makes what lives as long as the process: the ingest chain, the evidence gatherer
// and the workers. Settings read here (webhook.max_body_bytes, prometheus) take effect at
// start only; everything else follows reloads through the runtime.
func (a *App) build(ctx context.Context, rt *runtime) error {
	o, reg := a.opts, a.opts.Registry
	if err := rt.watch(a).Start(ctx); err != nil {
		return fmt.Errorf("start heartbeat watch: %w", err)
	}
	inv, err := newInvestigator(rt.cfg.Prometheus, a.db, reg, a.logger.With("component", "evidence"), o.Now)
	if err != nil {
		return err
	}
	var ingester webhook.Ingester = heartbeatIngester{a}
	a.apiStore = a.db
	if inv != nil {
		a.inv, a.evidence = inv, inv
		ingester, a.apiStore = inv.Ingester(ingester), tierWatch{a.db, inv}
	}
	a.webhook = webhook.NewHandler(webhook.HandlerOptions{
		Ingester: ingester, Authorizer: webhookAuthorizer{a}, MaxBodyBytes: rt.cfg.Webhook.MaxBodyBytes,
		Logger: a.logger.With("component", "webhook"), Registerer: reg, Now: o.Now, Health: a.db.Health,
	})
	a.engine = escalation.New(escalation.Options{Store: a.db, Config: func() *escalation.Config { return a.rt.Load().response },
		Now: o.Now, Logger: a.logger.With("component", "escalation"), Registerer: reg})
	a.contain = newContainmentWorker(a.db, func() *containment.Compiled { return a.rt.Load().containments }, a.logger.With("component", "containment"), reg)
	a.hooks = &containhook.Dispatcher{Store: a.db, Hooks: func() []containhook.Config { return a.rt.Load().hooks }, Now: o.Now,
		Logger: a.logger.With("component", "containment_hooks")}
	a.hooks.Register(reg)
	return nil
}

// Serve runs the workers and serves HTTP until ctx ends (or the listener fails), then
// finishes in-flight requests, stops the workers and closes the store.
func (a *App) Serve(ctx context.Context) error {
	// Workers and the evidence gatherer outlive the requests that feed them: they stop
	// after the server has drained, and before the store closes.
	bg, stop := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	defer func() {
		stop()
		workers.Wait()
		if a.inv != nil {
			a.inv.Wait()
		}
		a.closeStore()
	}()
	if a.inv != nil {
		a.inv.Start(bg)
	}
	a.startWorkers(bg, &workers)

	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: a.opts.ReadHeaderTimeout, ReadTimeout: a.opts.ReadTimeout,
		WriteTimeout: a.opts.WriteTimeout, IdleTimeout: a.opts.IdleTimeout}
	errc := make(chan error, 1)
	a.ready.Store(true)
	go func() { errc <- a.listenAndServe(srv) }()
	for {
		select {
		case <-a.opts.Reload:
			_ = a.reload("signal")
		case err := <-errc:
			a.ready.Store(false)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			a.ready.Store(false)
			a.logger.Info("shutting down; finishing in-flight requests")
			sctx, cancel := context.WithTimeout(context.Background(), a.opts.ShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			return nil
		}
	}
}

func (a *App) closeStore() {
	if err := a.db.Close(); err != nil {
		a.logger.Error("closing store", "err", err)
	}
}

// Run is New followed by Serve.
func Run(ctx context.Context, o Options) error {
	a, err := New(ctx, o)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}
