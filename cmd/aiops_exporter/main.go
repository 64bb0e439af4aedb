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
	a.Flag("otlp.grpc-listen-address", "Address of the OTLP/gRPC receiver (traces), e.g. :4317; empty: off. Plaintext: bind it to loopback or put a Collector in front.").Default("").StringVar(&opts.OTLPGRPCAddress)
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(a, logCfg)
	a.Version(version.Print("aiops_exporter"))
	a.HelpFlag.Short('h')
	if _, err := a.Parse(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
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
