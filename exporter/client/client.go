// Package client sends inference events and ground-truth labels to an aiops_exporter from a
// Go application.
//
// Send never blocks the caller's request path: events go into a bounded queue, and a
// background goroutine sends them in NDJSON batches (optionally gzip), retrying with
// exponential backoff on network errors, 429 and 5xx. When the queue is full, events are
// dropped and counted rather than slowing the application down.
//
// PostEvents and PostLabels send one batch at once and return the exporter's verdict on it,
// for callers that keep their own account of each batch (a load generator, a backfill).
package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one inference, as documented in exporter/README.md. Zero values are omitted;
// use the pointer fields where zero is a real value.
type Event struct {
	Model           string             `json:"model"`
	Version         string             `json:"version,omitempty"`
	ID              string             `json:"id,omitempty"`
	Timestamp       *time.Time         `json:"timestamp,omitempty"`
	Features        map[string]any     `json:"features,omitempty"`
	Prediction      any                `json:"prediction,omitempty"`
	Scores          map[string]float64 `json:"scores,omitempty"`
	LatencySeconds  *float64           `json:"latency_seconds,omitempty"`
	Error           string             `json:"error,omitempty"`
	Tokens          *Tokens            `json:"tokens,omitempty"`
	Cost            *float64           `json:"cost,omitempty"`
	Outcome         *Outcome           `json:"outcome,omitempty"`
	Feedback        *Feedback          `json:"feedback,omitempty"`
	InputTextLength *int               `json:"input_text_length,omitempty"`
	Business        map[string]float64 `json:"business,omitempty"`
	QueueDepth      *float64           `json:"queue_depth,omitempty"`
	// OutputText and ReferenceAnswer score a generated answer (ROUGE-L, BLEU) when both are set.
	OutputText      string `json:"output_text,omitempty"`
	ReferenceAnswer string `json:"reference_answer,omitempty"`
	// Containment marks an event produced under an incidentd containment (see
	// ContainmentOf): the exporter counts it in aiops_contained_events_total.
	Containment *EventContainment `json:"containment,omitempty"`
}

// Label is the ground truth of an earlier prediction, joined to it by ID (see POST
// /api/v1/labels in exporter/README.md): Label for a class (string, boolean or number), Value
// for a regression, exactly one of them.
type Label struct {
	Model   string   `json:"model"`
	Version string   `json:"version,omitempty"`
	ID      string   `json:"id"`
	Label   any      `json:"label,omitempty"`
	Value   *float64 `json:"value,omitempty"`
	// Timestamp is when the truth became known (default: arrival at the exporter).
	Timestamp *time.Time `json:"timestamp,omitempty"`
	// Prediction is the prediction itself, for systems that keep it on their side.
	Prediction any `json:"prediction,omitempty"`
}

// Tokens counts an LLM call's tokens; Input includes Cached.
type Tokens struct {
	Input  int64 `json:"input"`
	Output int64 `json:"output"`
	Cached int64 `json:"cached,omitempty"`
}

// Outcome is what became of the task: Task is completed, failed, escalated or abandoned.
type Outcome struct {
	Task      string `json:"task,omitempty"`
	Escalated bool   `json:"escalated,omitempty"`
}

// Feedback is a user's rating: "positive", "negative", or 1..5.
type Feedback struct {
	Rating any `json:"rating"`
}

// Options configure a Client. Zero fields take the defaults shown.
type Options struct {
	// URL is the exporter's base URL, e.g. http://127.0.0.1:9477.
	URL        string
	HTTPClient *http.Client // default: 10 s timeout
	Logger     *slog.Logger // default: discard

	QueueSize     int           // events waiting to be sent; default 10000
	BatchSize     int           // events per request; default 500
	FlushInterval time.Duration // longest an event waits for a full batch; default 1 s
	Gzip          bool          // compress request bodies

	MaxRetries int           // retries of a failed batch before it is dropped; default 5
	MinBackoff time.Duration // default 100 ms, doubled per retry with jitter
	MaxBackoff time.Duration // default 10 s
}

// Stats are the client's counters since it started.
type Stats struct {
	Sent     uint64 // events the exporter accepted
	Rejected uint64 // events the exporter rejected as invalid (see its response and logs)
	Dropped  uint64 // events dropped because the queue was full or the client closed
	Failed   uint64 // events lost after the retries ran out or on a non-retryable error
	Retries  uint64 // batch retries
	// LabelsSent and LabelsRejected count the labels of PostLabels as Sent and Rejected
	// count events.
	LabelsSent, LabelsRejected uint64
}

// Client batches events in the background. It is safe for concurrent use.
type Client struct {
	opts     Options
	base     string // the exporter's URL without a trailing slash
	queue    chan Event
	flushReq chan chan struct{}
	done     chan struct{}
	closed   atomic.Bool
	stop     chan struct{}
	stopOnce sync.Once
	// The batching goroutine starts with the first Send, Flush or Close, so a client that
	// only posts batches itself runs none.
	startOnce sync.Once

	sent, rejected, dropped, failed, retries atomic.Uint64
	labelsSent, labelsRejected               atomic.Uint64
}

// New returns a client; its batching goroutine starts with the first Send, Flush or Close.
func New(opts Options) (*Client, error) {
	if opts.URL == "" {
		return nil, errors.New("client: Options.URL is required (e.g. http://127.0.0.1:9477)")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.QueueSize, 10000)
	def(&opts.BatchSize, 500)
	def(&opts.MaxRetries, 5)
	defDur(&opts.FlushInterval, time.Second)
	defDur(&opts.MinBackoff, 100*time.Millisecond)
	defDur(&opts.MaxBackoff, 10*time.Second)
	c := &Client{
		opts:     opts,
		base:     strings.TrimSuffix(opts.URL, "/"),
		queue:    make(chan Event, opts.QueueSize),
		flushReq: make(chan chan struct{}),
		done:     make(chan struct{}),
		stop:     make(chan struct{}),
	}
	return c, nil
}

func (c *Client) start() { c.startOnce.Do(func() { go c.loop() }) }

// Send queues an event without blocking; it returns false if the event was dropped
// because the queue is full or the client is closed.
func (c *Client) Send(e Event) bool {
	c.start()
	if c.closed.Load() {
		c.dropped.Add(1)
		return false
	}
	select {
	case c.queue <- e:
		return true
	default:
		c.dropped.Add(1)
		return false
	}
}

// Flush sends everything queued before the call and waits for it (retries included) or ctx.
func (c *Client) Flush(ctx context.Context) error {
	c.start()
	ack := make(chan struct{})
	select {
	case c.flushReq <- ack:
	case <-c.done:
		return errors.New("client: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends what is queued and stops the client; ctx bounds the wait.
func (c *Client) Close(ctx context.Context) error {
	c.start()
	c.closed.Store(true)
	c.stopOnce.Do(func() { close(c.stop) })
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Sent: c.sent.Load(), Rejected: c.rejected.Load(), Dropped: c.dropped.Load(), Failed: c.failed.Load(), Retries: c.retries.Load(),
		LabelsSent: c.labelsSent.Load(), LabelsRejected: c.labelsRejected.Load()}
}

func (c *Client) loop() {
	defer close(c.done)
	batch := make([]Event, 0, c.opts.BatchSize)
	ticker := time.NewTicker(c.opts.FlushInterval)
	defer ticker.Stop()
	send := func() {
		if len(batch) > 0 {
			c.send(batch)
			clear(batch) // drop references to the sent events' maps
			batch = batch[:0]
		}
	}
	// drain moves everything queued now into batches and sends them.
	drain := func() {
		for {
			select {
			case e := <-c.queue:
				batch = append(batch, e)
				if len(batch) == c.opts.BatchSize {
					send()
				}
			default:
				send()
				return
			}
		}
	}
	for {
		select {
		case e := <-c.queue:
			batch = append(batch, e)
			if len(batch) == c.opts.BatchSize {
				send()
			}
		case <-ticker.C:
			send()
		case ack := <-c.flushReq:
			drain()
			close(ack)
		case <-c.stop:
			drain()
			return
		}
	}
}

// response is the part of the exporter's answer the client uses.
type response struct {
	Accepted int               `json:"accepted"`
	Rejected []json.RawMessage `json:"rejected"`
	Error    string            `json:"error"`
}

// send posts one batch, retrying transient failures.
func (c *Client) send(batch []Event) {
	body, err := encodeNDJSON(batch, c.opts.Gzip)
	if err != nil {
		c.opts.Logger.Error("encoding events", "err", err, "events", len(batch))
		c.failed.Add(uint64(len(batch)))
		return
	}
	backoff := c.opts.MinBackoff
	for attempt := 0; ; attempt++ {
		retry, err := c.post(context.Background(), eventsPath, body, len(batch))
		if err == nil {
			return
		}
		if errors.Is(err, errTooLarge) && len(batch) > 1 {
			// The exporter's limits.max_body_bytes is smaller than this batch: halve it.
			c.send(batch[:len(batch)/2])
			c.send(batch[len(batch)/2:])
			return
		}
		if !retry || attempt >= c.opts.MaxRetries {
			c.opts.Logger.Error("sending events failed", "err", err, "events", len(batch), "attempts", attempt+1)
			c.failed.Add(uint64(len(batch)))
			return
		}
		c.retries.Add(1)
		// Full jitter keeps many clients from retrying in step after an exporter restart.
		// Retries go on while closing too; Close's context bounds how long the caller waits.
		time.Sleep(time.Duration(rand.Int64N(int64(backoff)) + 1))
		backoff = min(2*backoff, c.opts.MaxBackoff)
	}
}

// encodeNDJSON writes one JSON object a line, gzip-compressed when asked.
func encodeNDJSON[T any](batch []T, compress bool) ([]byte, error) {
	var buf bytes.Buffer
	var w io.Writer = &buf
	var gz *gzip.Writer
	if compress {
		gz = gzip.NewWriter(&buf)
		w = gz
	}
	enc := json.NewEncoder(w) // Encode ends each item with a newline: NDJSON
	for i := range batch {
		if err := enc.Encode(&batch[i]); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

var errTooLarge = errors.New("batch larger than the exporter accepts")

// PostEvents sends events as one batch now, bypassing the queue, and waits for the
// exporter's answer: an error says the batch as a whole failed (network, status and message),
// and is not retried. Events the exporter rejects one by one are counted in Stats.Rejected.
func (c *Client) PostEvents(ctx context.Context, events []Event) error {
	body, err := encodeNDJSON(events, c.opts.Gzip)
	if err != nil {
		return fmt.Errorf("encoding events: %w", err)
	}
	_, err = c.post(ctx, eventsPath, body, len(events))
	return err
}

// PostLabels sends ground-truth labels as one batch to POST /api/v1/labels, as PostEvents
// sends events; the labels the exporter rejects are logged and counted in Stats.LabelsRejected.
func (c *Client) PostLabels(ctx context.Context, labels []Label) error {
	body, err := encodeNDJSON(labels, c.opts.Gzip)
	if err != nil {
		return fmt.Errorf("encoding labels: %w", err)
	}
	_, err = c.post(ctx, "/api/v1/labels", body, len(labels))
	return err
}

const eventsPath = "/api/v1/events"

// post sends a body once to path; retry says whether a failure is worth retrying.
func (c *Client) post(ctx context.Context, path string, body []byte, n int) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if c.opts.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return true, fmt.Errorf("posting to %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		return false, fmt.Errorf("%w: %s", errTooLarge, bytes.TrimSpace(data))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("posting to %s: exporter answered %s", path, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("posting to %s: exporter answered %s: %s", path, resp.Status, bytes.TrimSpace(data))
	}
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		return false, fmt.Errorf("posting to %s: reading the exporter's answer: %w", path, err)
	}
	sent, rejected := &c.sent, &c.rejected
	if path != eventsPath {
		sent, rejected = &c.labelsSent, &c.labelsRejected
	}
	sent.Add(uint64(r.Accepted))
	if len(r.Rejected) > 0 {
		rejected.Add(uint64(len(r.Rejected)))
		c.opts.Logger.Warn("exporter rejected items", "path", path, "rejected", len(r.Rejected), "of", n, "first", string(r.Rejected[0]))
	}
	return false, nil
}
