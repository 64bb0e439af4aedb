// Package pagerduty sends incidentd notifications to the PagerDuty Events API v2:
// trigger, acknowledge and resolve events sharing a dedup key derived from the incident's
// alert-group key, so PagerDuty keeps one alert per incident whichever replica sends.
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Config is a PagerDuty channel (one service integration).
type Config struct {
	RoutingKey notify.Secret `yaml:"routing_key" json:"routing_key"`
	URL        string        `yaml:"url" json:"url"`
	Source     string        `yaml:"source" json:"source"`
	Timeout    time.Duration `yaml:"timeout" json:"timeout"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.RoutingKey) != 32 {
		return fmt.Errorf("pagerduty.routing_key: expected the 32-character integration key")
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("pagerduty.url: expected an http(s) URL")
		}
	}
	return nil
}

// Notifier sends events.
type Notifier struct {
	c      Config
	client *http.Client
}

// New builds the notifier; client nil means a client with the configured timeout (10 s).
func New(c Config, client *http.Client) *Notifier {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Source == "" {
		c.Source = "incidentd"
	}
	if client == nil {
		t := c.Timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		client = &http.Client{Timeout: t}
	}
	return &Notifier{c: c, client: client}
}

// DedupKey is the incident's key, hashed when longer than PagerDuty's 255 characters.
func DedupKey(incidentKey string) string {
	if len(incidentKey) <= 255 {
		return incidentKey
	}
	h := sha256.Sum256([]byte(incidentKey))
	return hex.EncodeToString(h[:])
}

var severity = map[string]string{"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}

// Event builds the Events API v2 body (without the routing key).
func Event(m notify.Message, source string) map[string]any {
	action := "trigger"
	switch m.Kind {
	case notify.KindAck:
		action = "acknowledge"
	case notify.KindResolve:
		action = "resolve"
	}
	ev := map[string]any{"event_action": action, "dedup_key": DedupKey(m.IncidentKey)}
	if action != "trigger" {
		return ev
	}
	sev := severity[m.Tier]
	if sev == "" {
		sev = "error"
	}
	summary := fmt.Sprintf("[%s] %s", m.Tier, m.Title)
	if len(summary) > 1024 {
		summary = summary[:1024]
	}
	details := map[string]any{"incident_id": m.IncidentID, "tier": m.Tier, "team": m.Team, "model": m.Model, "summary": m.Summary}
	if m.Recipient != "" {
		details["paged"] = m.Recipient
	}
	if m.LikelyCauses != "" {
		details["likely_causes"] = m.LikelyCauses
	}
	ev["payload"] = map[string]any{"summary": summary, "source": source, "severity": sev, "component": m.Model, "group": m.Team,
		"timestamp": m.At.UTC().Format(time.RFC3339), "custom_details": details}
	var links []map[string]string
	if m.IncidentURL != "" {
		links = append(links, map[string]string{"href": m.IncidentURL, "text": fmt.Sprintf("Incident #%d", m.IncidentID)})
	}
	if m.RunbookURL != "" {
		links = append(links, map[string]string{"href": m.RunbookURL, "text": "Runbook"})
	}
	if links != nil {
		ev["links"] = links
	}
	return ev
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (bool, error) {
	ev := Event(m, n.c.Source)
	ev["routing_key"] = n.c.RoutingKey.Value()
	body, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("pagerduty: encode: %w", err)
	}
	retry, err := notify.Post(ctx, n.client, n.c.URL, "application/json", body, nil)
	if err != nil {
		return retry, fmt.Errorf("pagerduty: %w", notify.Redact(err, n.Secrets()...))
	}
	return false, nil
}

// Secrets implements notify.SecretHolder: the integration key.
func (n *Notifier) Secrets() []string { return []string{n.c.RoutingKey.Value()} }
