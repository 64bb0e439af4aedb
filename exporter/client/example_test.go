package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/opscentre/opscentre/exporter/client"
	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// An application reports each inference after answering its own request; Send returns at
// once and the client batches in the background.
func Example() {
	// Stand-in for a running aiops_exporter (normally http://127.0.0.1:9477).
	exp := httptest.NewServer(ingest.New(state.New(config.Default(), state.Options{}), slog.New(slog.DiscardHandler)))
	defer exp.Close()

	c, err := client.New(client.Options{URL: exp.URL, Gzip: true})
	if err != nil {
		panic(err)
	}
	defer c.Close(context.Background())

	start := time.Now()
	// ... run the model ...
	latency := time.Since(start).Seconds()
	c.Send(client.Event{
		Model:          "fraud-detector",
		Version:        "2026-11-01",
		ID:             "tx-42",
		Features:       map[string]any{"amount": 129.5, "country": "DE", "new_customer": true},
		Prediction:     "legit",
		Scores:         map[string]float64{"fraud": 0.03},
		LatencySeconds: &latency,
	})
	c.Send(client.Event{
		Model:    "support-assistant",
		Tokens:   &client.Tokens{Input: 1200, Output: 180, Cached: 1000},
		Outcome:  &client.Outcome{Task: "completed"},
		Feedback: &client.Feedback{Rating: 5},
		Business: map[string]float64{"ticket_resolved": 1},
	})

	if err := c.Flush(context.Background()); err != nil {
		panic(err)
	}
	s := c.Stats()
	fmt.Printf("sent %d, rejected %d, dropped %d\n", s.Sent, s.Rejected, s.Dropped)
	// Output: sent 2, rejected 0, dropped 0
}
