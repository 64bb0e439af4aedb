// Package webhook decodes Alertmanager (and Grafana-managed alerting) webhook notifications.
//
// The types are our own rather than github.com/prometheus/alertmanager/notify/webhook's: that
// package drags in Alertmanager's template engine and config loader — 322 non-standard
// packages, 21 MB for an otherwise empty binary — for three structs. They are tested
// against real captures of Alertmanager 0.25 instead.
//
// Decoding is tolerant by design: Alertmanager keeps `version: "4"` while adding fields
// (notification_reason, routeLabels, truncatedAlerts), and Grafana sends a superset, so
// unknown keys are ignored. What we rely on is checked and a failure names the field.
package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// Alert statuses as Alertmanager writes them.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Message is one webhook notification: a snapshot of a whole alert group.
type Message struct {
	Version            string            `json:"version"`
	GroupKey           string            `json:"groupKey"`
	TruncatedAlerts    uint64            `json:"truncatedAlerts"`
	Receiver           string            `json:"receiver"`
	Status             string            `json:"status"`
	Alerts             []Alert           `json:"alerts"`
	GroupLabels        map[string]string `json:"groupLabels"`
	CommonLabels       map[string]string `json:"commonLabels"`
	CommonAnnotations  map[string]string `json:"commonAnnotations"`
	ExternalURL        string            `json:"externalURL"`
	NotificationReason string            `json:"notification_reason,omitempty"`
	RouteLabels        map[string]string `json:"routeLabels,omitempty"`

	// Grafana-managed alerting additions.
	OrgID   int64  `json:"orgId,omitempty"`
	Title   string `json:"title,omitempty"`
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
}

// Alert is one alert of the group. EndsAt is the zero time while the alert fires
// (Alertmanager writes 0001-01-01T00:00:00Z).
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`

	// Grafana-managed alerting additions.
	SilenceURL   string `json:"silenceURL,omitempty"`
	DashboardURL string `json:"dashboardURL,omitempty"`
	PanelURL     string `json:"panelURL,omitempty"`
}

// Resolved reports whether the alert has ended.
func (a *Alert) Resolved() bool { return a.Status == StatusResolved }

// DecodeError is returned for a body that cannot be used; Field names the offending field.
type DecodeError struct {
	Field  string
	Reason string
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "invalid notification: " + e.Reason
	}
	return fmt.Sprintf("invalid notification: field %q: %s", e.Field, e.Reason)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Limits bound what one notification may carry, so a hostile or broken sender cannot make
// us store unbounded text.
const (
	MaxAlerts      = 10000
	MaxLabelLength = 4096
	MaxLabels      = 256
)

// The window of alert times. Stored as Unix nanoseconds, a time before 1677 or after 2262
// does not fit at all, and one far in the past or future is a broken clock or a hostile
// sender: it skews MTTA/MTTR and keeps an incident at the top of every list. Alertmanager
// writes 0001-01-01T00:00:00Z for "no time", and senders that encode an unset Unix time
// write 1970-01-01T00:00:00Z; both mean unset (startsAt is then missing, endsAt absent).
var MinAlertTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxClockSkew is how far after incidentd's clock an alert time may lie (the clocks of
// Prometheus, Alertmanager and incidentd differ a little).
const MaxClockSkew = time.Hour

// unsetTime reports whether t is one of the ways a sender writes "no time".
func unsetTime(t time.Time) bool { return t.IsZero() || t.Equal(time.Unix(0, 0)) }

// Decode reads one notification from r, checks it and fills in what a sender may omit
// (fingerprint, groupKey). The body must be a single JSON object. Alert times are checked
// against the window [MinAlertTime, now + MaxClockSkew].
func Decode(r io.Reader) (*Message, error) {
	return decode(new(fastjson.ParserPool), r, time.Now())
}

// decode is Decode with parsers reused from pool and the clock reading now.
func decode(pool *fastjson.ParserPool, r io.Reader, now time.Time) (*Message, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		// Too large (an *http.MaxBytesError the handler answers 413 for), or cut off.
		return nil, &DecodeError{Reason: "cannot read the body: " + err.Error(), Err: err}
	}
	m, ok := decodeFast(pool, b)
	if !ok {
		if m, err = decodeJSON(b); err != nil {
			return nil, err
		}
	}
	if err := m.normalize(now); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeJSON decodes with encoding/json, which handles every input decodeFast declines
// and explains what is wrong with a bad one.
func decodeJSON(b []byte) (*Message, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var m Message
	if err := dec.Decode(&m); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return nil, &DecodeError{Reason: "empty body, expected a JSON object", Err: err}
		case errors.As(err, &typ):
			return nil, &DecodeError{Field: typ.Field, Reason: fmt.Sprintf("expected %s, got JSON %s", typ.Type, typ.Value), Err: err}
		case errors.As(err, &syn):
			return nil, &DecodeError{Reason: fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err), Err: err}
		default:
			// time.Time parse errors and truncated bodies land here.
			return nil, &DecodeError{Reason: "cannot decode JSON: " + err.Error(), Err: err}
		}
	}
	if dec.More() {
		return nil, &DecodeError{Reason: "trailing data after the JSON object"}
	}
	return &m, nil
}

func (m *Message) normalize(now time.Time) error {
	switch m.Status {
	case StatusFiring, StatusResolved:
	default:
		return &DecodeError{Field: "status", Reason: fmt.Sprintf("expected %q or %q, got %q", StatusFiring, StatusResolved, m.Status)}
	}
	if len(m.Alerts) > MaxAlerts {
		return &DecodeError{Field: "alerts", Reason: fmt.Sprintf("%d alerts, at most %d accepted", len(m.Alerts), MaxAlerts)}
	}
	for i := range m.Alerts {
		a := &m.Alerts[i]
		field := func(f string) string { return fmt.Sprintf("alerts[%d].%s", i, f) }
		switch a.Status {
		case StatusFiring, StatusResolved:
		default:
			return &DecodeError{Field: field("status"), Reason: fmt.Sprintf("expected %q or %q, got %q", StatusFiring, StatusResolved, a.Status)}
		}
		if unsetTime(a.StartsAt) {
			return &DecodeError{Field: field("startsAt"), Reason: "missing (or 0001-01-01 / 1970-01-01, which mean unset); expected an RFC 3339 time"}
		}
		if err := inWindow(a.StartsAt, now); err != "" {
			return &DecodeError{Field: field("startsAt"), Reason: err}
		}
		if a.Resolved() && unsetTime(a.EndsAt) {
			return &DecodeError{Field: field("endsAt"), Reason: "a resolved alert needs its end time"}
		}
		if !a.Resolved() {
			// Alertmanager zeroes endsAt for firing alerts; Grafana and custom senders may
			// send the expected end, which is not an end at all.
			a.EndsAt = time.Time{}
		} else {
			if err := inWindow(a.EndsAt, now); err != "" {
				return &DecodeError{Field: field("endsAt"), Reason: err}
			}
			if a.EndsAt.Before(a.StartsAt) {
				return &DecodeError{Field: field("endsAt"), Reason: fmt.Sprintf("%s is before startsAt %s", a.EndsAt.UTC().Format(time.RFC3339), a.StartsAt.UTC().Format(time.RFC3339))}
			}
		}
		if err := checkLabels(i, "labels", a.Labels); err != nil {
			return err
		}
		if err := checkLabels(i, "annotations", a.Annotations); err != nil {
			return err
		}
		if a.Fingerprint == "" {
			if len(a.Labels) == 0 {
				return &DecodeError{Field: field("fingerprint"), Reason: "missing, and no labels to derive it from"}
			}
			a.Fingerprint = Fingerprint(a.Labels)
		}
		if len(a.Fingerprint) > 128 {
			return &DecodeError{Field: field("fingerprint"), Reason: "longer than 128 characters"}
		}
		a.StartsAt = a.StartsAt.UTC()
		a.EndsAt = a.EndsAt.UTC()
	}
	if m.GroupKey == "" {
		// Grafana and hand-written senders may omit it; the group labels identify the group.
		m.GroupKey = "{}:" + labelString(m.GroupLabels)
	}
	return nil
}

// inWindow explains why t is outside [MinAlertTime, now+MaxClockSkew], or returns "".
func inWindow(t, now time.Time) string {
	switch {
	case t.Before(MinAlertTime):
		return fmt.Sprintf("%s is before %s; expected the time the alert started or ended", t.UTC().Format(time.RFC3339), MinAlertTime.Format(time.RFC3339))
	case t.After(now.Add(MaxClockSkew)):
		return fmt.Sprintf("%s is more than %s after incidentd's clock (%s); check the clocks of Prometheus and Alertmanager",
			t.UTC().Format(time.RFC3339), MaxClockSkew, now.UTC().Format(time.RFC3339))
	}
	return ""
}

// checkLabels checks alerts[i].<name>; the field name is only formatted for an error.
func checkLabels(i int, name string, l map[string]string) error {
	field := func() string { return fmt.Sprintf("alerts[%d].%s", i, name) }
	if len(l) > MaxLabels {
		return &DecodeError{Field: field(), Reason: fmt.Sprintf("%d entries, at most %d accepted", len(l), MaxLabels)}
	}
	for k, v := range l {
		if len(k) > MaxLabelLength || len(v) > MaxLabelLength {
			return &DecodeError{Field: field() + "." + truncate(k, 64), Reason: fmt.Sprintf("longer than %d bytes", MaxLabelLength)}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Fingerprint derives a stable 16-hex identity from a label set, for senders that omit
// Alertmanager's fingerprint. It is not Alertmanager's hash, and need not be: it is only
// used when no fingerprint was given.
func Fingerprint(labels map[string]string) string {
	sum := sha256.Sum256([]byte(labelString(labels)))
	return hex.EncodeToString(sum[:8])
}

func labelString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, l[k])
	}
	b.WriteByte('}')
	return b.String()
}
