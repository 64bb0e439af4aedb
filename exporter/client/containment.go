package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
)

// Decision is what the application does with one request (see Watcher.Decide).
type Decision = containment.Decision

// Decision actions.
const (
	Serve    = containment.Serve    // run the model as asked
	Fallback = containment.Fallen   // run Decision.Version, the fallback
	Disabled = containment.Disabled // do not run the model; serve the non-AI alternative
	Blocked  = containment.Blocked  // refuse this input
)

// WatcherOptions configure a containment Watcher. Zero fields take the defaults shown.
type WatcherOptions struct {
	// URL is incidentd's base URL, e.g. http://127.0.0.1:9478.
	URL string
	// Token is an incidentd API token of role application (it may read containments and
	// nothing else).
	Token string
	// Models are the models this application serves: one request each per refresh.
	// Empty watches every model (one request).
	Models     []string
	HTTPClient *http.Client // default: 5 s timeout
	Logger     *slog.Logger // default: discard
	// Refresh is the time between polls; default 5 s. A containment reaches the
	// application within one Refresh of being applied.
	Refresh time.Duration
	// MaxStale is how long the last known containments stay in force while incidentd
	// cannot be reached; after it Decide fails open and serves (default 10 m). Failing
	// open keeps an incidentd outage from taking the application down with it.
	MaxStale time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// WatcherStatus describes the watcher's knowledge.
type WatcherStatus struct {
	LastSuccess  time.Time // last complete refresh; zero before the first
	LastError    error     // error of the last refresh, nil if it succeeded
	Stale        bool      // the known state is older than MaxStale (or there is none)
	Containments int       // containments known
}

// Watcher keeps the active containments of its models from incidentd, refreshed in the
// background with ETag requests, and answers Decide from memory. It is safe for
// concurrent use.
type Watcher struct {
	o    WatcherOptions
	base *url.URL

	mu      sync.RWMutex
	byModel map[string][]containment.Containment
	etags   map[string]string
	last    time.Time
	lastErr error

	refreshNow chan chan struct{}
	stop       chan struct{}
	done       chan struct{}
	stopOnce   sync.Once
}

// NewWatcher starts a watcher. It does not wait for incidentd: until the first refresh
// succeeds, Decide serves (the documented default).
func NewWatcher(o WatcherOptions) (*Watcher, error) {
	if o.URL == "" {
		return nil, errors.New("client: WatcherOptions.URL is required (incidentd, e.g. http://127.0.0.1:9478)")
	}
	base, err := url.Parse(strings.TrimSuffix(o.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("client: WatcherOptions.URL %q: expected an http(s) URL", o.URL)
	}
	if len(o.Models) > 1000 {
		return nil, fmt.Errorf("client: WatcherOptions.Models: at most 1000, got %d", len(o.Models))
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.MaxStale <= 0 {
		o.MaxStale = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	w := &Watcher{o: o, base: base, byModel: map[string][]containment.Containment{}, etags: map[string]string{},
		refreshNow: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w, nil
}

func (w *Watcher) run() {
	defer close(w.done)
	t := time.NewTicker(w.o.Refresh)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-w.stop; cancel() }()
	w.refresh(ctx)
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.refresh(ctx)
		case ack := <-w.refreshNow:
			w.refresh(ctx)
			close(ack)
		}
	}
}

// Refresh polls incidentd now and returns when done (tests, or after a known change).
func (w *Watcher) Refresh(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.refreshNow <- ack:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return errors.New("client: watcher closed")
	}
	select {
	case <-ack:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.lastErr
}

// refresh fetches every model; the state changes only when all fetches succeed, so a
// half-failed refresh never mixes old and new.
func (w *Watcher) refresh(ctx context.Context) {
	models := w.o.Models
	if len(models) == 0 {
		models = []string{""}
	}
	w.mu.RLock()
	etags := make(map[string]string, len(w.etags))
	for k, v := range w.etags {
		etags[k] = v
	}
	w.mu.RUnlock()
	fresh := map[string][]containment.Containment{}
	changed := map[string]bool{}
	var err error
	for _, m := range models {
		cs, etag, notModified, ferr := w.fetch(ctx, m, etags[m])
		if ferr != nil {
			err = ferr
			break
		}
		if !notModified {
			fresh[m], etags[m], changed[m] = cs, etag, true
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = err
	if err != nil {
		w.o.Logger.Warn("cannot refresh containments; keeping the last known ones", "err", err, "last_success", w.last)
		return
	}
	for m := range changed {
		w.byModel[m] = fresh[m]
	}
	w.etags = etags
	w.last = w.o.Now()
}

// maxListBytes bounds a containment listing read from incidentd.
const maxListBytes = 8 << 20

func (w *Watcher) fetch(ctx context.Context, model, etag string) (cs []containment.Containment, newETag string, notModified bool, err error) {
	u := *w.base
	u.Path += "/api/v1/containments"
	q := url.Values{"active": {"true"}}
	if model != "" {
		q.Set("model", model)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", false, err
	}
	if w.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.o.Token)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := w.o.HTTPClient.Do(req)
	if err != nil {
		return nil, "", false, fmt.Errorf("get containments: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, etag, true, nil
	case http.StatusOK:
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, "", false, fmt.Errorf("get containments: incidentd answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var body struct {
		Containments []containment.Containment `json:"containments"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListBytes)).Decode(&body); err != nil {
		return nil, "", false, fmt.Errorf("get containments: decode: %w", err)
	}
	return body.Containments, resp.Header.Get("ETag"), false, nil
}

// Decide says what to do with one request of model at version with features: serve it,
// run the fallback version, serve the non-AI alternative (disabled), or refuse the input
// (blocked). A request's input class, for containments that block one, is the feature
// "input_class".
//
// Before the first successful refresh, and once the known state is older than MaxStale,
// Decide serves: the documented default when incidentd cannot be reached.
func (w *Watcher) Decide(model, version string, features map[string]any) Decision {
	now := w.o.Now()
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.last.IsZero() {
		return Decision{Action: Serve, Version: version, Reason: "containments unknown: incidentd not reached yet"}
	}
	if now.Sub(w.last) > w.o.MaxStale {
		return Decision{Action: Serve, Version: version, Reason: fmt.Sprintf("containments unknown: last refreshed %s ago, more than MaxStale", now.Sub(w.last).Round(time.Second))}
	}
	cs := w.byModel[model]
	if len(w.o.Models) == 0 {
		cs = w.byModel[""]
	}
	// Expiry applies between refreshes too.
	return containment.DecideAt(cs, now, model, version, features)
}

// Status reports what the watcher knows.
func (w *Watcher) Status() WatcherStatus {
	w.mu.RLock()
	defer w.mu.RUnlock()
	n := 0
	for _, cs := range w.byModel {
		n += len(cs)
	}
	return WatcherStatus{LastSuccess: w.last, LastError: w.lastErr, Containments: n,
		Stale: w.last.IsZero() || w.o.Now().Sub(w.last) > w.o.MaxStale}
}

// Close stops the background refresh.
func (w *Watcher) Close() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

// EventContainment marks an event produced under a containment (Event.Containment), so
// the exporter counts contained traffic.
type EventContainment struct {
	ID     int64  `json:"id"`
	Action string `json:"action"`
}

// ContainmentOf returns the value of Event.Containment for a request decided by d: nil
// when it was served as asked.
func ContainmentOf(d Decision) *EventContainment {
	if d.ContainmentID == 0 {
		return nil
	}
	return &EventContainment{ID: d.ContainmentID, Action: string(d.ContainmentAction)}
}
