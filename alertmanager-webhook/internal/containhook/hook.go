// Package containhook calls the systems users already run — a feature-flag service, a rollback
// job — on every containment change: a JSON POST per apply and lift, signed with
// HMAC-SHA256 like incidentd's webhook channel (X-Incidentd-Timestamp and
// X-Incidentd-Signature: sha256=<hex of HMAC(secret, timestamp + "." + body)>), plus
// X-Incidentd-Event. Calls are queued by the store in the transaction of the change,
// claimed by one replica at a time, retried with backoff, and reported on the incident's
// timeline when they keep failing.
package containhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify/webhook"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// Config is one hook in the `containment_hooks:` section.
type Config struct {
	Name   string        `yaml:"name"`
	URL    string        `yaml:"url"`
	Secret notify.Secret `yaml:"secret"`
	// Actions limits the hook to containments of these actions (empty: all).
	Actions []string      `yaml:"actions"`
	Timeout time.Duration `yaml:"timeout"`
}

var hookName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// Validate checks the section; errors name the field.
func Validate(cs []Config) error {
	seen := map[string]bool{}
	for i, c := range cs {
		at := fmt.Sprintf("containment_hooks[%d]", i)
		if !hookName.MatchString(c.Name) {
			return fmt.Errorf("%s.name: %q, expected 1 to 64 letters, digits, '_', '.' or '-'", at, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("%s.name: %q is defined twice", at, c.Name)
		}
		seen[c.Name] = true
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.url: expected an http(s) URL", at)
		}
		if len(c.Secret) < 16 {
			return fmt.Errorf("%s.secret: required, at least 16 characters (the HMAC key)", at)
		}
		for j, a := range c.Actions {
			if _, err := containment.ParseAction(a); err != nil {
				return fmt.Errorf("%s.actions[%d]: %w", at, j, err)
			}
		}
		if c.Timeout < 0 || c.Timeout > time.Minute {
			return fmt.Errorf("%s.timeout: %s, expected 0 (10s) to 1m", at, c.Timeout)
		}
	}
	return nil
}

// Targets are what the store queues for.
func Targets(cs []Config) []store.HookTarget {
	out := make([]store.HookTarget, 0, len(cs))
	for _, c := range cs {
		out = append(out, store.HookTarget{Name: c.Name, Actions: c.Actions})
	}
	return out
}

// Store is the outbox.
type Store interface {
	ClaimHooks(ctx context.Context, limit int, lease time.Duration) ([]store.HookDelivery, error)
	HookResult(ctx context.Context, d store.HookDelivery, sendErr error, retry bool, maxAttempts int) error
}

// MaxAttempts is how many times a call is tried before it is given up (about 4 minutes
// of backoff in all).
const MaxAttempts = 9

// Dispatcher sends the queued calls.
type Dispatcher struct {
	Store  Store
	Hooks  func() []Config
	Client *http.Client // nil: a client per hook with its timeout
	Now    func() time.Time
	Logger *slog.Logger
	sent   *prometheus.CounterVec
}

// Register adds incidentd_containment_hook_calls_total{hook,result}.
func (d *Dispatcher) Register(reg prometheus.Registerer) {
	d.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentd_containment_hook_calls_total",
		Help: "Calls of containment hooks by this replica, by result: delivered, retry, failed (given up)."}, []string{"hook", "result"})
	reg.MustRegister(d.sent)
}

// Tick sends the calls that are due.
func (d *Dispatcher) Tick(ctx context.Context) error {
	byName := map[string]Config{}
	for _, c := range d.Hooks() {
		byName[c.Name] = c
	}
	due, err := d.Store.ClaimHooks(ctx, 50, time.Minute)
	if err != nil {
		return err
	}
	for _, del := range due {
		c, ok := byName[del.Hook]
		var retry bool
		var sendErr error
		if !ok {
			sendErr = fmt.Errorf("hook %q is no longer configured", del.Hook)
		} else {
			retry, sendErr = d.send(ctx, c, del)
		}
		if ctx.Err() != nil {
			return ctx.Err() // the lease lapses; another tick or replica sends it
		}
		result := "delivered"
		switch {
		case sendErr != nil && retry && del.Attempts+1 < MaxAttempts:
			result = "retry"
		case sendErr != nil:
			result = "failed"
		}
		if d.sent != nil {
			d.sent.WithLabelValues(del.Hook, result).Inc()
		}
		if sendErr != nil {
			d.log().Warn("containment hook call failed", "hook", del.Hook, "containment", del.ContainmentID, "event", del.Event,
				"attempt", del.Attempts+1, "result", result, "err", sendErr)
		}
		if err := d.Store.HookResult(ctx, del, sendErr, retry, MaxAttempts); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Dispatcher) send(ctx context.Context, c Config, del store.HookDelivery) (bool, error) {
	client := d.Client
	if client == nil {
		t := c.Timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		client = &http.Client{Timeout: t}
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ts := now().Unix()
	h := http.Header{}
	h.Set("X-Incidentd-Event", del.Event)
	h.Set("X-Incidentd-Delivery", strconv.FormatInt(del.ID, 10))
	h.Set("X-Incidentd-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Incidentd-Signature", webhook.Sign([]byte(c.Secret.Value()), ts, del.Payload))
	retry, err := notify.Post(ctx, client, c.URL, "application/json", del.Payload, h)
	if err != nil {
		return retry, notify.Redact(err, append(notify.URLSecrets(c.URL), c.Secret.Value())...)
	}
	return false, nil
}
