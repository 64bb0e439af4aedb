package sim

import (
	"context"
	"net/http"
	"sync"

	"github.com/opscentre/opscentre/exporter/client"
)

// HTTPSink sends to aiops_exporter's /api/v1/events and /api/v1/labels through
// exporter/client, one batch per call and without the client's queue or retries, so that
// Run counts every batch the exporter did not take.
type HTTPSink struct {
	// URL is the exporter's base URL, e.g. http://127.0.0.1:9477.
	URL string
	// Client makes the requests; nil means exporter/client's default (10 s timeout).
	Client *http.Client

	once sync.Once
	c    *client.Client
	err  error
}

func (h *HTTPSink) client() (*client.Client, error) {
	h.once.Do(func() { h.c, h.err = client.New(client.Options{URL: h.URL, HTTPClient: h.Client}) })
	return h.c, h.err
}

// SendEvents posts one NDJSON batch.
func (h *HTTPSink) SendEvents(ctx context.Context, events []client.Event) error {
	c, err := h.client()
	if err != nil {
		return err
	}
	return c.PostEvents(ctx, events)
}

// SendLabels posts one batch of ground-truth labels.
func (h *HTTPSink) SendLabels(ctx context.Context, labels []client.Label) error {
	c, err := h.client()
	if err != nil {
		return err
	}
	return c.PostLabels(ctx, labels)
}
