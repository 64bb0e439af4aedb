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
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// Kinds of message.
const (
	KindTrigger = "trigger"     // page: an incident needs someone now
	KindAck     = "acknowledge" // the incident was acknowledged (PagerDuty closes its own escalation)
	KindResolve = "resolve"     // the incident is resolved
	KindQueue   = "queue"       // a P3 for the team's queue, no page
	KindBacklog = "backlog"     // a P4 for the backlog, no page
)

// Message is one notification about an incident; the webhook channel posts it as JSON
// (incidentapi declares it, the contract with users' receivers).
type Message = incidentapi.NotificationMessage

// Notifier sends messages over one channel. retry says whether the failure is transient
// (network, 5xx, 429) and the delivery should be tried again later.
type Notifier interface {
	Notify(ctx context.Context, m Message) (retry bool, err error)
}

// Post sends body to u and classifies the answer: 2xx is success, 429 and 5xx and
// transport errors are worth retrying, other 4xx are not. Errors never contain u nor any
// part of it that may be a credential (URLSecrets: a Slack or Teams URL is itself the
// credential, and servers echo the path they could not find), and hold no response body
// verbatim: only a short excerpt, redacted and stripped of control characters.
func Post(ctx context.Context, client *http.Client, u string, contentType string, body []byte, header http.Header) (bool, error) {
	secrets := URLSecrets(u)
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
		return true, fmt.Errorf("send: %w", Redact(err, secrets...))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, readBodyBytes+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	text := fmt.Sprintf("server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if ex := Excerpt(msg, len(msg) > readBodyBytes, secrets); ex != "" {
		text += ": " + ex
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, errors.New(text)
}

// readBodyBytes is how much of an error answer is read; ExcerptBytes how much of it is kept.
const (
	readBodyBytes = 4096
	ExcerptBytes  = 200
)

// Excerpt returns what may be kept of an error answer's body: secrets redacted, control
// and format characters and runs of spaces made single spaces, at most ExcerptBytes.
// truncated says the body went on past b: the end of b may then hold the beginning of a
// secret, which no redaction can recognise, so as much as the longest secret is dropped
// from the end first.
func Excerpt(b []byte, truncated bool, secrets []string) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = RedactText(s, secrets)
	if truncated {
		longest := 0
		for _, v := range variants(secrets) {
			longest = max(longest, len(v))
		}
		s = strings.ToValidUTF8(s[:max(0, len(s)-longest)], "")
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsGraphic(r) }), " ")
	if len(s) > ExcerptBytes {
		cut := ExcerptBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// URLSecrets lists the parts of a URL that may be credentials, for redaction: the URL
// itself, its user information, its path and every path segment, its query and every
// query value, its fragment. Parts shorter than 4 bytes (v1, api) are left out: they
// are no secret, and redacting them would garble every message.
func URLSecrets(raw string) []string {
	out := []string{raw}
	add := func(s string) {
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	if u.User != nil {
		add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	for _, p := range []string{u.EscapedPath(), u.Path} {
		add(strings.Trim(p, "/"))
		for _, seg := range strings.Split(p, "/") {
			add(seg)
		}
	}
	add(u.RawQuery)
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	add(u.Fragment)
	return out
}

// variants returns each secret as it may appear in text: as is, percent-encoded for a
// path or a query, with slashes JSON-escaped, and percent-decoded; longest first, so a
// whole URL is replaced before its parts.
func variants(secrets []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		vs := []string{s, url.PathEscape(s), url.QueryEscape(s), strings.ReplaceAll(s, "/", `\/`)}
		if d, err := url.PathUnescape(s); err == nil {
			vs = append(vs, d)
		}
		for _, v := range vs {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// RedactText replaces every occurrence of the secrets (and their encoded variants) in s.
func RedactText(s string, secrets []string) string {
	for _, v := range variants(secrets) {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}

// Redact replaces every occurrence of the secrets in err's text.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	if r := RedactText(s, secrets); r != s {
		return errors.New(r)
	}
	return err
}

// SecretHolder is a notifier that can list its credentials, so that text it did not
// write itself (stored delivery errors, logs) can be redacted of them too.
type SecretHolder interface {
	Secrets() []string
}
