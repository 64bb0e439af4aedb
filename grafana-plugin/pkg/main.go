// Command gpx_opscentre_incidents is the backend of the opscentre-incidents-datasource
// Grafana plugin. Grafana starts it and talks to it over gRPC (hashicorp/go-plugin); run by
// hand it only explains that.
package main

import (
	"log/slog"
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/plugin"
)

func main() {
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
