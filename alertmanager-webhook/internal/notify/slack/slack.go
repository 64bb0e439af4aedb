// Package slack posts incidentd notifications to a Slack incoming webhook as Block Kit
// messages: tier and title, summary, team/model/who is paged, and links to the runbook and
// the incident. The webhook URL is the credential and is treated as a secret.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
)

// Config is a Slack channel.
type Config struct {
	URL     notify.Secret `yaml:"url" json:"url"` // https://hooks.slack.com/services/…
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL.Value())
	if c.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("slack.url: expected the incoming webhook's http(s) URL")
	}
	return nil
}

// Notifier posts to Slack.
type Notifier struct {
	c      Config
	client *http.Client
}

// New builds the notifier; client nil means a client with the configured timeout (10 s).
func New(c Config, client *http.Client) *Notifier {
	if client == nil {
		t := c.Timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		client = &http.Client{Timeout: t}
	}
	return &Notifier{c: c, client: client}
}

var emoji = map[string]string{"P1": ":red_circle:", "P2": ":large_orange_circle:", "P3": ":large_yellow_circle:", "P4": ":white_circle:"}

// headline is the first line of a message, also Slack's notification text.
func headline(m notify.Message) string {
	var verb string
	switch m.Kind {
	case notify.KindResolve:
		verb = "Resolved"
	case notify.KindAck:
		verb = "Acknowledged"
	case notify.KindQueue:
		verb = "Queued"
	case notify.KindBacklog:
		verb = "Backlog"
	default:
		verb = "Firing"
	}
	return fmt.Sprintf("%s %s %s: %s", emoji[m.Tier], verb, m.Tier, m.Title)
}

// escape keeps user text from being read as Slack markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Payload builds the incoming-webhook body.
func Payload(m notify.Message) map[string]any {
	head := headline(m)
	if len(head) > 150 {
		head = head[:150]
	}
	fields := []map[string]string{{"type": "mrkdwn", "text": "*Tier*\n" + m.Tier}}
	for _, f := range []struct{ k, v string }{{"Team", m.Team}, {"Model", m.Model}, {"Paged", m.Recipient}, {"State", m.State}} {
		if f.v != "" {
			fields = append(fields, map[string]string{"type": "mrkdwn", "text": "*" + f.k + "*\n" + escape(f.v)})
		}
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": head, "emoji": true}},
		{"type": "section", "fields": fields},
	}
	if m.Summary != "" {
		s := escape(m.Summary)
		if len(s) > 2900 {
			s = s[:2900] + "…"
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": s}})
	}
	if m.LikelyCauses != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": "*Likely causes:* " + escape(m.LikelyCauses)}})
	}
	var links []string
	if m.RunbookURL != "" {
		links = append(links, "<"+m.RunbookURL+"|Runbook>")
	}
	if m.IncidentURL != "" {
		links = append(links, "<"+m.IncidentURL+"|Incident #"+fmt.Sprint(m.IncidentID)+">")
	}
	if len(links) > 0 {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]string{{"type": "mrkdwn", "text": strings.Join(links, " · ")}}})
	}
	return map[string]any{"text": head, "blocks": blocks}
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (bool, error) {
	body, err := json.Marshal(Payload(m))
	if err != nil {
		return false, fmt.Errorf("slack: encode: %w", err)
	}
	retry, err := notify.Post(ctx, n.client, n.c.URL.Value(), "application/json", body, nil)
	if err != nil {
		return retry, fmt.Errorf("slack: %w", notify.Redact(err, n.Secrets()...))
	}
	return false, nil
}

// Secrets implements notify.SecretHolder: every part of the webhook URL.
func (n *Notifier) Secrets() []string { return notify.URLSecrets(n.c.URL.Value()) }
