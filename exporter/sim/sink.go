package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HTTPSink posts events as NDJSON to aiops_exporter's /api/v1/events and labels as a JSON
// array to /api/v1/labels.
type HTTPSink struct {
	// URL is the exporter's base URL, e.g. http://127.0.0.1:9477.
	URL    string
	Client *http.Client
}

// SendEvents posts one NDJSON batch.
func (h *HTTPSink) SendEvents(ctx context.Context, events []Event) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return fmt.Errorf("encoding event %d: %w", i, err)
		}
	}
	return h.post(ctx, "/api/v1/events", "application/x-ndjson", &buf)
}

// SendLabels posts one batch of ground-truth labels.
func (h *HTTPSink) SendLabels(ctx context.Context, labels []Label) error {
	b, err := json.Marshal(labels)
	if err != nil {
		return fmt.Errorf("encoding labels: %w", err)
	}
	return h.post(ctx, "/api/v1/labels", "application/json", bytes.NewReader(b))
}

func (h *HTTPSink) post(ctx context.Context, path, ctype string, body io.Reader) error {
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(h.URL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("posting to %s: %w", path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("posting to %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
