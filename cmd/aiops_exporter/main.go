// Command aiops_exporter receives inference events from AI applications and exposes AI
// operations metrics for Prometheus. See exporter/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/opscentre/opscentre/exporter/app"
)

func main() { os.Exit(run()) }

func run() int {
	opts := app.DefaultOptions()
	a := kingpin.New("aiops_exporter", "Receives inference events and exposes AI operations metrics for Prometheus.")
	a.Flag("config.file", "Configuration file (YAML). Without one, the exporter learns every model and feature within default limits.").StringVar(&opts.ConfigFile)
	check := a.Flag("config.check", "Validate --config.file and exit.").Bool()
	a.Flag("storage.path", "Directory of the state database.").Default(opts.StoragePath).StringVar(&opts.StoragePath)
	a.Flag("storage.snapshot-interval", "How often the state is saved (and always on shutdown).").Default(opts.SnapshotInterval.String()).DurationVar(&opts.SnapshotInterval)
	opts.Web = kingpinflag.AddFlags(a, ":9477")
	a.Flag("web.enable-lifecycle", "Serve POST /-/reload (otherwise only SIGHUP reloads the configuration).").Default("false").BoolVar(&opts.EnableLifecycle)
	lim := &opts.Server
	a.Flag("web.read-header-timeout", "Maximum time to read a request's header; also how long a new connection may stay silent. 0 means no limit.").Default(lim.ReadHeaderTimeout.String()).DurationVar(&lim.ReadHeaderTimeout)
	a.Flag("web.read-timeout", "Maximum time to read a whole request, body included. 0 means no limit.").Default(lim.ReadTimeout.String()).DurationVar(&lim.ReadTimeout)
	a.Flag("web.write-timeout", "Maximum time from the end of a request's header to the end of its answer. 0 means no limit.").Default(lim.WriteTimeout.String()).DurationVar(&lim.WriteTimeout)
	a.Flag("web.idle-timeout", "Maximum time a keep-alive connection waits for its next request. 0 means no limit.").Default(lim.IdleTimeout.String()).DurationVar(&lim.IdleTimeout)
	a.Flag("web.max-connections", "Maximum number of simultaneous connections per listen address; more wait to be accepted. 0 means no limit.").Default(fmt.Sprint(lim.MaxConnections)).IntVar(&lim.MaxConnections)
	inflight := a.Flag("web.max-inflight-body-bytes", "Maximum bytes of request bodies (read and decoded) held at once by the write endpoints; past it they answer 503 with Retry-After. 0 means no limit.").Default(units.Base2Bytes(lim.MaxInflightBodyBytes).String()).Bytes()
	a.Flag("otlp.grpc-listen-address", "Address of the OTLP/gRPC receiver (traces), e.g. :4317; empty: off. Plaintext: bind it to loopback or put a Collector in front.").Default("").StringVar(&opts.OTLPGRPCAddress)
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(a, logCfg)
	a.Version(version.Print("aiops_exporter"))
	a.HelpFlag.Short('h')
	if _, err := a.Parse(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	lim.MaxInflightBodyBytes = int64(*inflight)
	if *check {
		if err := app.CheckConfig(opts.ConfigFile, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	opts.Logger = promslog.New(logCfg)
	opts.Logger.Info("starting aiops_exporter", "version", version.Info())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{})
	go func() {
		for range hup {
			reload <- struct{}{}
		}
	}()
	opts.Reload = reload

	if err := app.Run(ctx, opts); err != nil {
		opts.Logger.Error("aiops_exporter failed", "err", err)
		return 1
	}
	return 0
}
