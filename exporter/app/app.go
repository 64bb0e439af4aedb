// Package app wires the aiops_exporter together: configuration, state, persistence, the
// ingest API and the metrics endpoint. cmd/aiops_exporter only parses flags into Options
// and calls Run, so tests can run the whole exporter in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"google.golang.org/grpc"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/collector"
	"github.com/opscentre/opscentre/exporter/internal/inflight"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/labelapi"
	"github.com/opscentre/opscentre/exporter/internal/otlp"
	"github.com/opscentre/opscentre/exporter/internal/refapi"
	"github.com/opscentre/opscentre/exporter/internal/state"
	"github.com/opscentre/opscentre/exporter/internal/store"
	"github.com/opscentre/opscentre/exporter/listen"
)

// Options configure the exporter; DefaultOptions matches the flag defaults.
type Options struct {
	Logger *slog.Logger
	// Registry receives every metric; nil creates a private one.
	Registry *prometheus.Registry
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	Web              *web.FlagConfig
	ConfigFile       string
	StoragePath      string
	SnapshotInterval time.Duration
	// OTLPGRPCAddress is where OTLP/gRPC is served (--otlp.grpc-listen-address); empty: off.
	OTLPGRPCAddress string
	// Reload receives a value for each SIGHUP.
	Reload <-chan struct{}
	// EnableLifecycle serves POST /-/reload (--web.enable-lifecycle); off, it answers 403
	// and only SIGHUP reloads, as in Prometheus.
	EnableLifecycle bool
	Server          ServerLimits
}

// ServerLimits bound what clients can hold of the server: time per request phase,
// connections, and bytes of request bodies in flight. Zero durations mean no timeout and
// zero counts no limit; DefaultOptions sets the flag defaults.
type ServerLimits struct {
	// ReadHeaderTimeout bounds reading a request's header, and how long a new connection
	// may stay silent.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included: a client trickling a body
	// is cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request header to the end of the
	// answer.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next request.
	IdleTimeout time.Duration
	// MaxConnections bounds the connections open at once on each listen address; more wait
	// in the kernel's accept queue.
	MaxConnections int
	// MaxInflightBodyBytes bounds the bytes of request bodies (read and decoded) held at
	// once by the write endpoints; past it they answer 503 with Retry-After.
	MaxInflightBodyBytes int64
}

// DefaultServerLimits are the flag defaults.
func DefaultServerLimits() ServerLimits {
	return ServerLimits{
		ReadHeaderTimeout:    10 * time.Second,
		ReadTimeout:          time.Minute,
		WriteTimeout:         time.Minute,
		IdleTimeout:          time.Minute,
		MaxConnections:       512,
		MaxInflightBodyBytes: 128 << 20,
	}
}

// DefaultOptions returns the options the flags default to (listening on :9477).
func DefaultOptions() Options {
	addrs := []string{":9477"}
	socket := false
	cfg := ""
	return Options{
		Logger:           slog.New(slog.DiscardHandler),
		Web:              &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &socket, WebConfigFile: &cfg},
		StoragePath:      "data",
		SnapshotInterval: 30 * time.Second,
		Server:           DefaultServerLimits(),
	}
}

// App is a configured exporter, state loaded, not yet serving.
type App struct {
	opts    Options
	logger  *slog.Logger
	cfg     *config.Holder
	state   *state.State
	store   *store.Store
	handler http.Handler
	otlp    *otlp.Receiver
	ready   atomic.Bool
	budget  *inflight.Budget

	snapshotTime     prometheus.Gauge
	snapshotDuration prometheus.Gauge
	snapshotFailures prometheus.Counter
}

// New loads the configuration and the stored state.
func New(opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SnapshotInterval <= 0 {
		return nil, fmt.Errorf("--storage.snapshot-interval must be positive, got %s", opts.SnapshotInterval)
	}
	a := &App{opts: opts, logger: opts.Logger}
	var err error
	if a.cfg, err = config.NewHolder(opts.ConfigFile, opts.Registry, opts.Now); err != nil {
		return nil, err
	}
	a.state = state.New(a.cfg.Get(), state.Options{Now: opts.Now, Logger: a.logger.With("component", "state")})
	if a.store, err = store.Open(opts.StoragePath); err != nil {
		return nil, err
	}
	snap, err := a.store.Load()
	if err == nil {
		err = a.state.Restore(snap)
	}
	if err != nil {
		a.store.Close()
		return nil, fmt.Errorf("restoring state from %s: %w", opts.StoragePath, err)
	}
	a.logger.Info("state loaded", "path", opts.StoragePath, "model_versions", len(snap.Versions))

	a.otlp = otlp.New(a.state, a.logger.With("component", "otlp"))
	a.snapshotTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "aiops_exporter_last_snapshot_success_timestamp_seconds",
		Help: "Unix time of the last state snapshot saved to --storage.path.",
	})
	a.snapshotDuration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "aiops_exporter_last_snapshot_duration_seconds",
		Help: "Time the last successful state snapshot took.",
	})
	a.snapshotFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "aiops_exporter_snapshot_failures_total",
		Help: "State snapshots that could not be saved; a restart would lose state since the last success.",
	})
	opts.Registry.MustRegister(
		a.snapshotTime, a.snapshotDuration, a.snapshotFailures,
		collector.New(a.state),
		a.otlp.Collector(),
		versioncollector.NewCollector("aiops_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if opts.Server.MaxInflightBodyBytes > 0 {
		a.budget = inflight.New(opts.Server.MaxInflightBodyBytes, 1)
		if limit := int64(a.cfg.Get().Limits.MaxBodyBytes); opts.Server.MaxInflightBodyBytes < limit {
			a.logger.Warn("--web.max-inflight-body-bytes is below limits.max_body_bytes: a body that large is always refused",
				"max_inflight_body_bytes", opts.Server.MaxInflightBodyBytes, "max_body_bytes", limit)
		}
		opts.Registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "aiops_exporter_inflight_body_bytes",
				Help: "Bytes of request bodies (read and decoded) held now by the write endpoints; bounded by --web.max-inflight-body-bytes.",
			}, func() float64 { return float64(a.budget.Used()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "aiops_exporter_inflight_refused_total",
				Help: "Write requests answered 503 because --web.max-inflight-body-bytes of bodies were already in flight.",
			}, func() float64 { return float64(a.budget.Refused()) }),
		)
	}
	a.handler = a.routes()
	a.ready.Store(true)
	return a, nil
}

// Handler serves every endpoint.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.opts.Registry, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
	// The write endpoints read their bodies through the in-flight budget; /metrics and the
	// health endpoints do not, so they answer while ingest is saturated.
	writes := http.NewServeMux()
	writes.Handle("/api/v1/events", ingest.New(a.state, a.logger.With("component", "ingest")))
	writes.Handle("/api/v1/labels", labelapi.New(a.state, a.logger.With("component", "labels")))
	refapi.New(a.state, a.logger.With("component", "references"), a.saveReference).Register(writes)
	a.otlp.Register(writes) // OTLP/HTTP: /v1/traces, /v1/metrics, /v1/logs
	limited := a.budget.Handler(writes)
	mux.Handle("/api/v1/", limited)
	mux.Handle("/v1/", limited)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Healthy.\n")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "Not ready.", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "Ready.\n")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if !a.opts.EnableLifecycle {
			http.Error(w, "Lifecycle API is not enabled (--web.enable-lifecycle); send SIGHUP to reload.", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
			return
		}
		if err := a.reload(); err != nil {
			http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "Configuration reloaded.\n")
	})
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "AIOps Exporter",
		Description: "Inference events in, AI operations metrics out (OpsCentre).",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
		Profiling: "false",
		ExtraHTML: "<p>POST inference events (JSON array or NDJSON) to <code>/api/v1/events</code> and ground-truth labels to <code>/api/v1/labels</code>; references: <a href=\"/api/v1/references\">/api/v1/references</a>.</p>",
	})
	if err != nil {
		// The landing page is static; failing to render it is a programming error.
		panic(err)
	}
	mux.Handle("/", landing)
	// A page in a browser must not post events, labels or references, or reload, on behalf
	// of whoever visits it: a cross-origin request with an unsafe method is refused (403)
	// by its Sec-Fetch-Site or Origin header. Clients outside browsers send neither.
	return http.NewCrossOriginProtection().Handler(mux)
}

// reload re-reads the configuration file and applies it.
func (a *App) reload() error {
	if err := a.cfg.Reload(); err != nil {
		a.logger.Error("reloading configuration", "err", err)
		return err
	}
	a.state.SetConfig(a.cfg.Get())
	a.logger.Info("configuration reloaded", "file", a.cfg.Path())
	return nil
}

// saveReference stores a version's uploaded reference at once, without a full snapshot.
func (a *App) saveReference(v *state.Version) error {
	ref, features := v.PersistedReference()
	return a.store.SaveReference(v.Model(), v.Name, ref, features)
}

// Snapshot saves the state now.
func (a *App) Snapshot() error {
	start := time.Now()
	snap, err := a.state.Snapshot()
	if err == nil {
		err = a.store.Save(snap)
	}
	if err != nil {
		a.snapshotFailures.Inc()
		return err
	}
	a.snapshotDuration.Set(time.Since(start).Seconds())
	a.snapshotTime.Set(float64(a.opts.Now().UnixNano()) / 1e9)
	return nil
}

// Serve serves HTTP and snapshots until ctx ends, then saves a last snapshot and closes.
func (a *App) Serve(ctx context.Context) error {
	lim := a.opts.Server
	server := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelDebug),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.listenAndServe(server) }()
	var grpcServer *grpc.Server
	if a.opts.OTLPGRPCAddress != "" {
		l, err := net.Listen("tcp", a.opts.OTLPGRPCAddress)
		if err != nil {
			_ = server.Close()
			return fmt.Errorf("--otlp.grpc-listen-address: %w", err)
		}
		grpcServer = a.otlp.NewGRPCServer()
		a.logger.Info("OTLP/gRPC listening", "otlp_grpc_address", l.Addr().String())
		go func() { _ = grpcServer.Serve(l) }()
	}

	ticker := time.NewTicker(a.opts.SnapshotInterval)
	defer ticker.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-serveErr:
			break loop
		case <-ticker.C:
			if serr := a.Snapshot(); serr != nil {
				a.logger.Error("saving snapshot", "err", serr)
			}
		case <-a.opts.Reload:
			_ = a.reload()
		}
	}
	a.ready.Store(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := server.Shutdown(shutdownCtx); serr != nil {
		a.logger.Error("shutting down HTTP server", "err", serr)
	}
	if grpcServer != nil {
		grpcServer.GracefulStop() // before the last snapshot, so what it took is saved
	}
	if serr := a.Snapshot(); serr != nil {
		err = errors.Join(err, fmt.Errorf("saving final snapshot: %w", serr))
	} else {
		a.logger.Info("state saved", "path", a.opts.StoragePath)
	}
	if cerr := a.store.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// listenAndServe serves as every server of the project does (package listen), each
// listener bounded to MaxConnections connections.
func (a *App) listenAndServe(server *http.Server) error {
	return listen.Serve(server, listen.Options{Web: a.opts.Web, MaxConnections: a.opts.Server.MaxConnections, Logger: a.logger})
}

// Run is New followed by Serve.
func Run(ctx context.Context, opts Options) error {
	a, err := New(opts)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}

// CheckConfig validates a configuration file and reports it on out (--config.check).
func CheckConfig(path string, out io.Writer) error {
	c, err := config.Load(path)
	if err != nil {
		return err
	}
	if path == "" {
		path = "no --config.file, embedded defaults"
	}
	_, err = fmt.Fprintf(out, "%s: OK (%d models configured, unknown models: %s, unknown features: %s, window %s)\n",
		path, len(c.Models), c.UnknownModels, c.UnknownFeatures, c.Window.Length())
	return err
}
