package verify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"

	"github.com/opscentre/opscentre/exporter/app"
	"github.com/opscentre/opscentre/exporter/config"
)

// TestCollectorExampleForwardsEverySignal loads deploy/otel-collector.yml with the
// Collector's own configuration loader (confmap) and checks that every signal the exporter
// reads goes to it, at its default listen address, within its body limit. The component
// configurations are not validated by their factories: that takes a Collector distribution
// (the otlp receiver, batch processor and otlphttp exporter modules), not built here.
func TestCollectorExampleForwardsEverySignal(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "otel-collector.yml"))
	require.NoError(t, err)
	retrieved, err := confmap.NewRetrievedFromYAML(raw)
	require.NoError(t, err)
	conf, err := retrieved.AsConf()
	require.NoError(t, err)

	opts := app.DefaultOptions()
	require.Equal(t, "http://localhost"+(*opts.Web.WebListenAddresses)[0], conf.Get("exporters::otlphttp/aiops::endpoint"))
	require.Equal(t, "proto", conf.Get("exporters::otlphttp/aiops::encoding"))
	for _, signal := range config.OTLPSignals {
		exporters, ok := conf.Get("service::pipelines::" + signal + "::exporters").([]any)
		require.True(t, ok, "no %s pipeline", signal)
		require.Contains(t, exporters, "otlphttp/aiops", "the %s pipeline does not reach the exporter", signal)
	}
	// 2048 spans of a few hundred bytes stay far below the default max_body_bytes.
	maxBatch, ok := conf.Get("processors::batch::send_batch_max_size").(int)
	require.True(t, ok)
	require.Less(t, maxBatch*2048, int(config.Default().Limits.MaxBodyBytes))
}
