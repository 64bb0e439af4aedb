// Package webhook sends incidentd notifications as JSON to any HTTP endpoint, signed with
// HMAC-SHA256 so the receiver can tell them from forgeries and replays.
//
// Headers: X-Incidentd-Timestamp (Unix seconds) and X-Incidentd-Signature
// (sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>).
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
)

// Config is a webhook channel.
type Config struct {
	URL     string        `yaml:"url" json:"url"`
	Secret  notify.Secret `yaml:"secret" json:"secret"`
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

// Validate checks the configuration; field names are relative to the channel.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook.url: expected an http(s) URL")
	}
	if len(c.Secret) < 16 {
		return fmt.Errorf("webhook.secret: required, at least 16 characters (the HMAC key)")
	}
	return nil
}

// Notifier posts signed JSON.
type Notifier struct {
	c      Config
	client *http.Client
	now    func() time.Time
}

// New builds the notifier; client nil means a client with the configured timeout (10 s).
func New(c Config, client *http.Client, now func() time.Time) *Notifier {
	if client == nil {
		t := c.Timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		client = &http.Client{Timeout: t}
	}
	if now == nil {
		now = time.Now
	}
	return &Notifier{c: c, client: client, now: now}
}

// Sign returns the signature header value for a body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (bool, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("webhook: encode: %w", err)
	}
	ts := n.now().Unix()
	h := http.Header{}
	h.Set("X-Incidentd-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Incidentd-Signature", Sign([]byte(n.c.Secret.Value()), ts, body))
	retry, err := notify.Post(ctx, n.client, n.c.URL, "application/json", body, h)
	if err != nil {
		return retry, fmt.Errorf("webhook: %w", notify.Redact(err, n.Secrets()...))
	}
	return false, nil
}

// Secrets implements notify.SecretHolder: the signing key, and every part of the URL (a
// receiver may take a token in its path or query).
func (n *Notifier) Secrets() []string { return append(notify.URLSecrets(n.c.URL), n.c.Secret.Value()) }
