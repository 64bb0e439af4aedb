// Package maintenance keeps maintenance windows: label-scoped periods, created over the
// API, in which new incidents are still recorded and marked but nobody is paged. A window
// always has an end — an open-ended mute is how real alerts go unseen for months.
package maintenance

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/store"
)

// MaxLength bounds a window.
const MaxLength = 7 * 24 * time.Hour

// Window suppresses pages for incidents whose labels match, in [Start, End).
type Window struct {
	ID        int64             `json:"id"`
	Matchers  map[string]string `json:"matchers"`
	Start     time.Time         `json:"starts_at"`
	End       time.Time         `json:"ends_at"`
	Reason    string            `json:"reason"`
	CreatedBy string            `json:"created_by"`
	CreatedAt time.Time         `json:"created_at"`
}

// Input is a window as posted.
type Input struct {
	Matchers map[string]string `json:"matchers"`
	Start    string            `json:"starts_at"`
	End      string            `json:"ends_at"`
	Reason   string            `json:"reason"`
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Normalize validates a window; errors name the field.
func Normalize(in Input, who string, now time.Time) (Window, error) {
	w := Window{Matchers: map[string]string{}, Reason: strings.TrimSpace(in.Reason), CreatedBy: who, CreatedAt: now.UTC()}
	if len(in.Matchers) == 0 {
		return w, fmt.Errorf("matchers: at least one label matcher (e.g. {\"team\": \"risk\"}); a window never covers everything")
	}
	for k, v := range in.Matchers {
		if !labelName.MatchString(k) {
			return w, fmt.Errorf("matchers: %q is not a valid label name", k)
		}
		if v == "" {
			return w, fmt.Errorf("matchers.%s: value must not be empty", k)
		}
		w.Matchers[k] = v
	}
	var err error
	if in.Start == "" {
		w.Start = now.UTC()
	} else if w.Start, err = time.Parse(time.RFC3339, in.Start); err != nil {
		return w, fmt.Errorf("starts_at: expected an RFC 3339 time, got %q", in.Start)
	}
	if in.End == "" {
		return w, fmt.Errorf("ends_at: required — a maintenance window must end")
	}
	if w.End, err = time.Parse(time.RFC3339, in.End); err != nil {
		return w, fmt.Errorf("ends_at: expected an RFC 3339 time, got %q", in.End)
	}
	if !w.End.After(w.Start) {
		return w, fmt.Errorf("ends_at: %s is not after starts_at", in.End)
	}
	if w.End.Sub(w.Start) > MaxLength {
		return w, fmt.Errorf("ends_at: a window lasts at most %s", MaxLength)
	}
	if !w.End.After(now) {
		return w, fmt.Errorf("ends_at: %s is already past", in.End)
	}
	if w.Reason == "" || len(w.Reason) > 1024 {
		return w, fmt.Errorf("reason: required, at most 1024 bytes")
	}
	w.Start, w.End = w.Start.UTC(), w.End.UTC()
	return w, nil
}

// Covers reports whether the window suppresses an incident with labels detected at t.
func (w Window) Covers(labels map[string]string, t time.Time) bool {
	if t.Before(w.Start) || !t.Before(w.End) {
		return false
	}
	for k, v := range w.Matchers {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Store keeps windows in the incident database.
type Store struct{ DB *store.DB }

// Add records a window and audits it.
func (s Store) Add(ctx context.Context, w Window) (*Window, error) {
	m, err := json.Marshal(w.Matchers)
	if err != nil {
		return nil, fmt.Errorf("matchers: %w", err)
	}
	w.ID, err = s.DB.AddMaintenance(ctx, store.MaintenanceWindow{Matchers: string(m), Start: w.Start, End: w.End, Reason: w.Reason,
		CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt})
	if err != nil {
		return nil, err
	}
	if err := s.DB.RecordAudit(ctx, w.CreatedBy, "maintenance.created", "maintenance/"+strconv.FormatInt(w.ID, 10), nil, w); err != nil {
		return nil, err
	}
	return &w, nil
}

// Active lists windows not yet ended at t (also those starting later), soonest end first.
func (s Store) Active(ctx context.Context, t time.Time) ([]Window, error) {
	rs, err := s.DB.ActiveMaintenance(ctx, t)
	if err != nil {
		return nil, err
	}
	return decode(rs)
}

// ActiveTx is Active inside the escalation worker's transaction.
func (s Store) ActiveTx(ctx context.Context, tx *store.EscalationTx, t time.Time) ([]Window, error) {
	rs, err := tx.ActiveMaintenance(ctx, t)
	if err != nil {
		return nil, err
	}
	return decode(rs)
}

func decode(rs []store.MaintenanceWindow) ([]Window, error) {
	out := make([]Window, 0, len(rs))
	for _, r := range rs {
		w := Window{ID: r.ID, Start: r.Start, End: r.End, Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
		if err := json.Unmarshal([]byte(r.Matchers), &w.Matchers); err != nil {
			return nil, fmt.Errorf("maintenance window %d: matchers: %w", r.ID, err)
		}
		out = append(out, w)
	}
	return out, nil
}
