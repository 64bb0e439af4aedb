// Package changes is incidentd's change log: deployments, model versions, prompt,
// data-pipeline and configuration changes recorded from CI or by hand, and the ranking that
// answers the first question of every investigation — what changed just before this
// incident was detected, on the same model, service or team?
//
// It is pure logic (validation and ranking); the store keeps the rows.
package changes

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Kinds of change. A closed set keeps the change log filterable and the Grafana
// annotations colourable; "other" is the way out.
var Kinds = []string{"deploy", "model_version", "prompt", "data_pipeline", "config", "feature_flag", "infrastructure", "rollback", "other"}

// Change is one entry of the change log. The JSON names are those the Grafana plugin
// decodes (at, kind, title, text, model, team, actor, labels, version).
type Change struct {
	ID         int64             `json:"id"`
	At         time.Time         `json:"at"`
	Kind       string            `json:"kind"`
	Service    string            `json:"service,omitempty"`
	Model      string            `json:"model,omitempty"`
	Team       string            `json:"team,omitempty"`
	Version    string            `json:"version,omitempty"`
	Title      string            `json:"title"`
	Text       string            `json:"text,omitempty"`
	Actor      string            `json:"actor"`
	Link       string            `json:"link,omitempty"`
	Labels     map[string]string `json:"labels"`
	RecordedBy string            `json:"recorded_by"`
	RecordedAt time.Time         `json:"recorded_at"`

	// Set only on an incident's related changes.
	Match                  string  `json:"match,omitempty"` // model, service or team
	BeforeDetectionSeconds float64 `json:"before_detection_seconds,omitempty"`
}

// Input is a change as posted. Description/author are the names; text/actor the
// names the change is read back with — either spelling is accepted, not both.
type Input struct {
	At          string            `json:"at"` // RFC 3339; empty = now
	Kind        string            `json:"kind"`
	Service     string            `json:"service"`
	Model       string            `json:"model"`
	Team        string            `json:"team"`
	Version     string            `json:"version"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Text        string            `json:"text"`
	Author      string            `json:"author"`
	Actor       string            `json:"actor"`
	Link        string            `json:"link"`
	Labels      map[string]string `json:"labels"`
}

// MaxFuture is how far ahead of our clock a change may be dated (clock skew of CI runners);
// a change log entry is a record of the past.
const MaxFuture = 5 * time.Minute

// FieldError names the field of a bad input.
type FieldError struct {
	Field, Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func bad(field, format string, a ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, a...)}
}

// Normalize validates in and turns it into a Change recorded by subject at now.
func Normalize(in Input, subject string, now time.Time) (Change, error) {
	c := Change{Kind: strings.TrimSpace(in.Kind), Service: strings.TrimSpace(in.Service), Model: strings.TrimSpace(in.Model),
		Team: strings.TrimSpace(in.Team), Version: strings.TrimSpace(in.Version), Title: strings.TrimSpace(in.Title),
		Link: strings.TrimSpace(in.Link), Labels: map[string]string{}, RecordedBy: subject, RecordedAt: now.UTC()}
	if !contains(Kinds, c.Kind) {
		return Change{}, bad("kind", "expected one of %s, got %q", strings.Join(Kinds, ", "), in.Kind)
	}
	if in.Description != "" && in.Text != "" {
		return Change{}, bad("description", "give description or text, not both")
	}
	c.Text = strings.TrimSpace(in.Description + in.Text)
	if in.Author != "" && in.Actor != "" {
		return Change{}, bad("author", "give author or actor, not both")
	}
	c.Actor = strings.TrimSpace(in.Author + in.Actor)
	if c.Actor == "" {
		c.Actor = subject
	}
	if c.Service == "" && c.Model == "" && c.Team == "" {
		return Change{}, bad("service", "a change needs a service, model or team it applies to")
	}
	if c.Title == "" {
		first, _, _ := strings.Cut(c.Text, "\n")
		c.Title = truncate(strings.TrimSpace(first), 120)
	}
	if c.Title == "" {
		return Change{}, bad("title", "a change needs a title or a description")
	}
	for f, v := range map[string]string{"service": c.Service, "model": c.Model, "team": c.Team, "version": c.Version, "author": c.Actor} {
		if len(v) > 256 {
			return Change{}, bad(f, "at most 256 bytes")
		}
	}
	if len(c.Title) > 512 {
		return Change{}, bad("title", "at most 512 bytes")
	}
	if len(c.Text) > 16384 {
		return Change{}, bad("description", "at most 16384 bytes")
	}
	if c.Link != "" {
		u, err := url.Parse(c.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(c.Link) > 2048 {
			return Change{}, bad("link", "expected an http(s) URL of at most 2048 bytes, got %q", truncate(c.Link, 80))
		}
	}
	if len(in.Labels) > 32 {
		return Change{}, bad("labels", "at most 32 labels")
	}
	for k, v := range in.Labels {
		if !model.LegacyValidation.IsValidLabelName(k) {
			return Change{}, bad("labels", "%q is not a valid label name", truncate(k, 64))
		}
		if len(v) > 1024 {
			return Change{}, bad("labels."+k, "at most 1024 bytes")
		}
		c.Labels[k] = v
	}
	c.At = now.UTC()
	if in.At != "" {
		at, err := time.Parse(time.RFC3339Nano, in.At)
		if err != nil {
			return Change{}, bad("at", "expected an RFC 3339 time like 2026-11-29T20:00:00Z, got %q", truncate(in.At, 64))
		}
		if at.After(now.Add(MaxFuture)) {
			return Change{}, bad("at", "%s is in the future; a change is recorded once it happened", at.UTC().Format(time.RFC3339))
		}
		if at.Year() < 2000 {
			return Change{}, bad("at", "expected an RFC 3339 time after 2000, got %s", at.UTC().Format(time.RFC3339))
		}
		c.At = at.UTC()
	}
	return c, nil
}

// Scope is what an incident is about, for finding the changes related to it.
type Scope struct {
	DetectedAt time.Time
	Model      string
	Team       string
	// Service is the incident's service/job label, if any.
	Service string
}

// match says how a change relates to the scope ("" = unrelated). The model is the most
// specific link, then the service, then the team.
func (s Scope) match(c Change) string {
	switch {
	case s.Model != "" && c.Model == s.Model:
		return "model"
	case s.Service != "" && c.Service == s.Service:
		return "service"
	case s.Team != "" && c.Team == s.Team:
		return "team"
	}
	return ""
}

// Related keeps the changes in (detected−window, detected] that share the scope's model,
// service or team, nearest to detection first (ties: the more specific match first, then
// the newer id). The change closest before the incident is the likeliest cause.
func Related(s Scope, window time.Duration, cs []Change) []Change {
	from := s.DetectedAt.Add(-window)
	var out []Change
	for _, c := range cs {
		if c.At.After(s.DetectedAt) || !c.At.After(from) {
			continue
		}
		m := s.match(c)
		if m == "" {
			continue
		}
		c.Match = m
		c.BeforeDetectionSeconds = s.DetectedAt.Sub(c.At).Seconds()
		out = append(out, c)
	}
	rank := map[string]int{"model": 0, "service": 1, "team": 2}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.At.Equal(b.At) {
			return a.At.After(b.At)
		}
		if rank[a.Match] != rank[b.Match] {
			return rank[a.Match] < rank[b.Match]
		}
		return a.ID > b.ID
	})
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
