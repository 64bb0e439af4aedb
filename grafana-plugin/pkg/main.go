// Command gpx_opscentre_incidents is the backend of the opscentre-incidents-datasource
// Grafana plugin. Grafana starts it and talks to it over gRPC (hashicorp/go-plugin); run by
// hand it only explains that.
package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/plugin"
)

func main() {
	setGCPercent()
	// The SDK serves CollectMetrics from the default registry, so the plugin's metrics go
	// there; this is the one place that touches it.
	opts := plugin.Options{
		Logger:  slog.New(slogHandler{log.DefaultLogger}),
		Metrics: plugin.NewMetrics(prometheus.DefaultRegisterer),
	}
	if err := datasource.Manage(plugin.ID, plugin.NewFactory(opts), datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("plugin exited", "err", err)
		os.Exit(1)
	}
}

// gcPercent is the plugin's garbage-collection target unless GOGC says otherwise. A query
// over thousands of incidents allocates several times the live heap in one burst, while
// the live heap is mostly the warm parsers' trees of values, full of pointers: at Go's
// default of 100 each query paid for a collection that marked those trees again, about a
// sixth of the plugin's CPU. At 400 the heap may grow to five times the live heap between
// collections (BenchmarkBinaryQuery10k reports the peak resident memory of both settings).
const gcPercent = 400

func setGCPercent() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}
