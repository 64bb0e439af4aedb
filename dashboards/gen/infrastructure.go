package gen

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func infrastructureLatency() *dashboard.DashboardBuilder {
	lat := "aiops_inference_duration_seconds"
	return newDashboard(UIDInfrastructure, "Infrastructure and latency",
		"Pillar 3: can the models answer fast enough, and what does it cost? Latency percentiles (classic and native histograms), errors, request rate, tokens and spend, queue depth, and CPU/GPU saturation from node_exporter and the NVIDIA DCGM exporter when they are scraped.").
		WithVariable(dashboard.NewTextBoxVariableBuilder(VarDailyBudget).
			Label("Daily budget").
			Description("Daily inference budget, in the price table's currency, drawn on the spend panel.").
			DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("100")}).
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr("100")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("100")},
			})).
		WithRow(row("Latency")).
		WithPanel(timeSeries("Latency P50 / P95 / P99 (classic buckets)", "Inference latency percentiles per model from the classic histogram buckets (aiops_inference_duration_seconds_bucket). A Prometheus that scrapes native histograms drops these buckets unless always_scrape_classic_histograms is set (3.x; 2.x keeps one or the other).", "s",
			pq("A", quantile("0.5", "model", lat), "{{model}} p50"),
			pq("B", quantile("0.95", "model", lat), "{{model}} p95"),
			pq("C", quantile("0.99", "model", lat), "{{model}} p99")).
			Thresholds(thresholds("green", step{3, "red"})).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(timeSeries("Latency P50 / P95 / P99 (native histogram)", "The same percentiles from the native histogram, with finer buckets; needs Prometheus scraping native histograms (--enable-feature=native-histograms on 2.x, scrape_native_histograms on 3.x). Empty otherwise.", "s",
			pq("A", nativeQuantile("0.5", "model", lat), "{{model}} p50"),
			pq("B", nativeQuantile("0.95", "model", lat), "{{model}} p95"),
			pq("C", nativeQuantile("0.99", "model", lat), "{{model}} p99")).
			Thresholds(thresholds("green", step{3, "red"})).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(heatMap("Latency distribution", "Inference latency buckets per second over time, all selected models together.", "s",
			pq("A", `sum by (le) (`+rate(lat+"_bucket")+`)`, "{{le}}"))).
		WithPanel(timeSeries("LLM operation duration P95", "95th percentile of gen_ai_client_operation_duration_seconds (OpenTelemetry GenAI semantic conventions) per requested model.", "s",
			pq("A", `histogram_quantile(0.95, sum by (model, gen_ai_request_model, le) (`+rate("gen_ai_client_operation_duration_seconds_bucket")+`))`, "{{model}} {{gen_ai_request_model}}"))).
		WithRow(row("Traffic and errors")).
		WithPanel(timeSeries("Request rate", "Accepted inference events per second per model and version.", "reqps",
			pq("A", sumRate("model, version", "aiops_events_total"), "{{model}} {{version}}")).Span(8)).
		WithPanel(timeSeries("Error rate by type", "Failed inferences by error type as a share of accepted events, per model.", "percentunit",
			pq("A", sumRate("model, type", "aiops_inference_errors_total")+" / ignoring (type) group_left () "+sumRate("model", "aiops_events_total"), "{{model}} {{type}}")).
			Min(0).Span(8).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(timeSeries("Queue depth", "Requests waiting in the application's inference queue, as the application reports it: a growing queue signals a throughput problem.", "short",
			pq("A", `max by (model) (`+sel("aiops_queue_depth")+`)`, "{{model}}")).Span(8)).
		WithRow(row("Tokens and spend")).
		WithPanel(timeSeries("Tokens per second", "Token consumption per model and token type (input, output, cached): watch it against provider rate limits.", "short",
			pq("A", sumRate("model, type", "aiops_tokens_total"), "{{model}} {{type}}")).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).Span(8)).
		WithPanel(timeSeries("Projected daily spend vs budget", "Spend rate extrapolated to a day (rate × 86400) per model and currency, against the daily budget typed into the dashboard's Daily budget box (red dashes). A doubling is the classic sign of a runaway loop or misuse.", "short",
			pq("A", `sum by (model, currency) (`+rate("aiops_cost_total")+`) * 86400`, "{{model}} {{currency}}"),
			pq("B", `vector($`+VarDailyBudget+`)`, "daily budget")).
			OverrideByName("daily budget", []dashboard.DynamicConfigValue{
				prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}}),
				prop("color", map[string]any{"mode": "fixed", "fixedColor": "red"}),
			}).
			Span(8)).
		WithPanel(timeSeries("Tokens per request P95", "95th percentile of tokens per LLM call (gen_ai_client_token_usage) per requested model and token type.", "short",
			pq("A", `histogram_quantile(0.95, sum by (model, gen_ai_request_model, gen_ai_token_type, le) (`+rate("gen_ai_client_token_usage_bucket")+`))`, "{{gen_ai_request_model}} {{gen_ai_token_type}}")).Span(8)).
		WithRow(row("Hosts and GPUs")).
		WithPanel(timeSeries("CPU utilisation", "Busy share of CPU time per host from node_exporter (1 − idle). Not filtered by model: hosts carry no model label. Empty when node_exporter is not scraped.", "percentunit",
			pq("A", `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))`, "{{instance}}")).
			Min(0).Max(1)).
		WithPanel(timeSeries("GPU utilisation", "GPU busy percentage per GPU from the NVIDIA DCGM exporter (DCGM_FI_DEV_GPU_UTIL). Empty when dcgm-exporter is not scraped.", "percent",
			pq("A", `avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)`, "{{Hostname}} GPU {{gpu}}")).
			Min(0).Max(100)).
		WithRow(row("Exporter")).
		WithPanel(statPanel("Exporter config reload", "1 when aiops_exporter's last configuration reload succeeded; 0 means it kept running on the previous configuration.", "bool_yes_no",
			pqInstant("A", `min(aiops_exporter_config_last_reload_successful)`, "")).
			GraphMode(common.BigValueGraphModeNone).
			Thresholds(thresholds("red", step{1, "green"})).
			Span(6)).
		WithPanel(timeSeries("Label values folded", "Label values the exporter folded into __other__ because a label hit its cardinality limit, per label: raise the limit or fix the application if this is not zero.", "short",
			pq("A", sumRate("model, label", "aiops_label_values_folded_total"), "{{model}} {{label}}")).
			Span(18))
}
