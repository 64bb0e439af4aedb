// Package notify is what incidentd's notification channels share: the message a channel
// sends, the Notifier interface, and an HTTP helper that classifies failures as worth
// retrying or not and keeps secrets (webhook URLs, keys) out of errors.
//
// Each channel lives in its own package beside its configuration: notify/webhook,
// notify/slack, notify/pagerduty and notify/email.
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Kinds of message.
const (
	KindTrigger = "trigger"     // page: an incident needs someone now
	KindAck     = "acknowledge" // the incident was acknowledged (PagerDuty closes its own escalation)
	KindResolve = "resolve"     // the incident is resolved
	KindQueue   = "queue"       // a P3 for the team's queue, no page
	KindBacklog = "backlog"     // a P4 for the backlog, no page
)

// Message is one notification about an incident.
type Message struct {
	Kind        string            `json:"kind"`
	IncidentID  int64             `json:"incident_id"`
	IncidentKey string            `json:"incident_key"` // the alert group's key: stable across replicas, the dedup key
	Title       string            `json:"title"`
	Summary     string            `json:"summary,omitempty"`
	Tier        string            `json:"tier"`
	Team        string            `json:"team,omitempty"`
	Model       string            `json:"model,omitempty"`
	State       string            `json:"state"`
	RunbookURL  string            `json:"runbook_url,omitempty"`
	IncidentURL string            `json:"incident_url,omitempty"`
	Recipient   string            `json:"recipient,omitempty"` // the person paged, if any
	Step        int               `json:"step,omitempty"`      // escalation step (1-based) of a page
	At          time.Time         `json:"at"`
	DetectedAt  time.Time         `json:"detected_at"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Notifier sends messages over one channel. retry says whether the failure is transient
// (network, 5xx, 429) and the delivery should be tried again later.
type Notifier interface {
	Notify(ctx context.Context, m Message) (retry bool, err error)
}

// Post sends body to u and classifies the answer: 2xx is success, 429 and 5xx and
// transport errors are worth retrying, other 4xx are not. Errors never contain u — a
// Slack or Teams URL is itself the credential — only what the server said (bounded).
func Post(ctx context.Context, client *http.Client, u string, contentType string, body []byte, header http.Header) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: invalid URL")
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "incidentd")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return true, fmt.Errorf("send: %w", Redact(err, u))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("server answered %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, Redact(err, u)
}

// Redact replaces every occurrence of the secrets in err's text.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	changed := false
	for _, sec := range secrets {
		if sec != "" && bytes.Contains([]byte(s), []byte(sec)) {
			s = string(bytes.ReplaceAll([]byte(s), []byte(sec), []byte("<secret>")))
			changed = true
		}
	}
	if !changed {
		return err
	}
	return errors.New(s)
}
