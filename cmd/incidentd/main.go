// Command incidentd receives Alertmanager notifications, turns alert groups into incidents
// and serves the incident API. See alertmanager-webhook/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/opscentre/opscentre/alertmanager-webhook/app"
)

func main() { os.Exit(run()) }

func run() int {
	o := app.DefaultOptions()
	a := kingpin.New("incidentd", "Alertmanager webhook receiver, incident store and API of OpsCentre.")
	a.Flag("config.file", "incidentd configuration file (YAML); empty runs on defaults.").StringVar(&o.ConfigFile)
	check := a.Flag("config.check", "Check the configuration file and exit.").Bool()
	a.Flag("storage.path", "SQLite database file (used unless --storage.postgres-dsn is set).").Default(o.StoragePath).StringVar(&o.StoragePath)
	a.Flag("storage.integrity-check-timeout", "How long the integrity check of an existing SQLite file may take at start (PRAGMA quick_check); one that takes longer is skipped with a warning. Negative skips it.").Default(app.DefaultIntegrityCheckTimeout.String()).DurationVar(&o.IntegrityCheckTimeout)
	a.Flag("storage.postgres-dsn", "PostgreSQL connection string, for several replicas sharing one database.").Envar("INCIDENTD_POSTGRES_DSN").StringVar(&o.PostgresDSN)
	a.Flag("web.shutdown-timeout", "How long to wait for in-flight requests on shutdown.").Default(o.ShutdownTimeout.String()).DurationVar(&o.ShutdownTimeout)
	a.Flag("web.max-connections", "Maximum number of simultaneous connections per listen address; more wait in the kernel's accept queue.").Default(fmt.Sprint(o.MaxConnections)).IntVar(&o.MaxConnections)
	a.Flag("web.read-header-timeout", "How long a client may take to send a request's headers (TLS handshake included).").Default(o.ReadHeaderTimeout.String()).DurationVar(&o.ReadHeaderTimeout)
	a.Flag("web.read-timeout", "How long a client may take to send a whole request, body included.").Default(o.ReadTimeout.String()).DurationVar(&o.ReadTimeout)
	a.Flag("web.write-timeout", "How long a request may take from its headers to the end of its response.").Default(o.WriteTimeout.String()).DurationVar(&o.WriteTimeout)
	a.Flag("web.idle-timeout", "How long a keep-alive connection may stay idle between requests.").Default(o.IdleTimeout.String()).DurationVar(&o.IdleTimeout)
	a.Flag("escalation.interval", "How often the escalation worker routes incidents, runs due steps and delivers notifications; 0 disables it (an API-only replica).").Default("1s").DurationVar(&o.EscalationInterval)
	a.Flag("web.enable-pprof", "Serve Go's profiler under /debug/pprof/ (unauthenticated; for load tests and debugging).").BoolVar(&o.EnablePprof)
	webFlags := kingpinflag.AddFlags(a, ":9478")
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(a, logCfg)
	a.Version(version.Print("incidentd"))
	a.HelpFlag.Short('h')
	if _, err := a.Parse(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *check {
		if o.ConfigFile == "" {
			fmt.Fprintln(os.Stderr, "--config.check needs --config.file")
			return 2
		}
		if _, err := app.CheckConfig(o.ConfigFile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(o.ConfigFile, "is valid")
		return 0
	}
	if o.EscalationInterval == 0 {
		o.EscalationInterval = -1 // app.Options: negative disables, zero means the default
	}
	logger := promslog.New(logCfg)
	o.Logger = logger
	o.Web = webFlags
	logger.Info("starting incidentd", "version", version.Info())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	o.Reload = reload
	if err := app.Run(ctx, o); err != nil {
		logger.Error("incidentd failed", "err", err)
		return 1
	}
	return 0
}
