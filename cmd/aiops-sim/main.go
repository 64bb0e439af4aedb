// Command aiops-sim plays AI systems in production against aiops_exporter, with scripted
// faults: drift, nulls, accuracy decay, latency spikes, token runaway, volume drops and a
// worse canary.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/exporter/sim"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New("aiops-sim", "Plays AI systems in production against aiops_exporter, with scripted faults.")
	url := app.Flag("exporter.url", "Base URL of aiops_exporter.").Default("http://127.0.0.1:9477").String()
	scenario := app.Flag("scenario.file", "Scenario YAML; the embedded default scenario when empty.").String()
	seed := app.Flag("seed", "Override the scenario's seed.").Uint64()
	speed := app.Flag("speed", "Play scenario time this many times faster than real time.").Default("1").Float64()
	duration := app.Flag("duration", "Override the scenario's duration (0: the scenario's own).").Duration()
	rateScale := app.Flag("rate.scale", "Multiply every model's event rate.").Default("1").Float64()
	quiet := app.Flag("quiet", "No progress line.").Bool()
	useOTLP := app.Flag("otlp", "Send the LLM calls as OpenTelemetry GenAI spans to the exporter's /v1/traces (OTLP/HTTP protobuf), the rest as events.").Bool()
	incidentdURL := app.Flag("incidentd.url", "Obey incidentd's containments (fallback, disable, block_inputs) read from this incidentd; empty: ignore them.").String()
	tokenFile := app.Flag("incidentd.token-file", "File holding an incidentd API token of role application.").String()
	refresh := app.Flag("containment.refresh", "How often the containments are polled from incidentd.").Default("1s").Duration()
	app.Version(version.Print("aiops-sim"))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var (
		s   *sim.Scenario
		err error
	)
	if *scenario == "" {
		s, err = sim.DefaultScenario()
	} else {
		s, err = sim.LoadScenario(*scenario)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiops-sim:", err)
		return 1
	}
	if *seed != 0 {
		s.Seed = *seed
	}
	if *duration > 0 {
		s.Duration = sim.Duration(*duration)
	}
	if *rateScale <= 0 {
		fmt.Fprintln(os.Stderr, "aiops-sim: --rate.scale must be > 0")
		return 2
	}
	for i := range s.Models {
		s.Models[i].Rate *= *rateScale
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var sink sim.Sink = &sim.HTTPSink{URL: *url}
	if *useOTLP {
		sink = &sim.OTLPSink{HTTPSink: sim.HTTPSink{URL: *url}}
	}
	opts := sim.Options{
		Scenario: s,
		Sink:     sink,
		Speed:    *speed,
	}
	if !*quiet {
		opts.Progress = os.Stderr
	}
	if *incidentdURL != "" {
		token := ""
		if *tokenFile != "" {
			b, err := os.ReadFile(*tokenFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "aiops-sim: --incidentd.token-file:", err)
				return 1
			}
			token = strings.TrimSpace(string(b))
		}
		var models []string
		for _, m := range s.Models {
			models = append(models, m.Name)
		}
		w, err := client.NewWatcher(client.WatcherOptions{URL: *incidentdURL, Token: token, Models: models, Refresh: *refresh})
		if err != nil {
			fmt.Fprintln(os.Stderr, "aiops-sim:", err)
			return 2
		}
		defer w.Close()
		opts.Decide = w.Decide
	}
	st, err := sim.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiops-sim:", err)
		return 1
	}
	if st.SendErrors > 0 && st.Events == 0 {
		fmt.Fprintf(os.Stderr, "aiops-sim: nothing reached %s (%d send errors; last: %v)\n", *url, st.SendErrors, st.LastError)
		return 1
	}
	return 0
}
