// Package maintenance keeps maintenance windows: label-scoped periods, created over the
// API, in which new incidents are still recorded and marked but nobody is paged. A window
// always has an end — an open-ended mute is how real alerts go unseen for months.
package maintenance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/matchers"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// MaxLength bounds a window.
const MaxLength = 7 * 24 * time.Hour

// Window suppresses pages for incidents whose labels match, in [Start, End).
type Window struct {
	ID        int64     `json:"id"`
	Matchers  Matchers  `json:"matchers"`
	Start     time.Time `json:"starts_at"`
	End       time.Time `json:"ends_at"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Input is a window as posted.
type Input struct {
	Matchers Matchers `json:"matchers"`
	Start    string   `json:"starts_at"`
	End      string   `json:"ends_at"`
	Reason   string   `json:"reason"`
}

// Matchers select the incidents a window covers. They are posted either as an object of
// label values ({"team": "risk"}, equality) or as a list of Alertmanager matchers
// (["team=\"risk\"", "severity=~\"P2|P3\""]), and a window answers in the form it was
// given, so windows stored before the list form read back unchanged.
type Matchers struct {
	Equal map[string]string // the object form
	List  []string          // the Alertmanager form

	ms labels.Matchers // compiled from one of the forms
}

// UnmarshalJSON reads either form; Normalize checks the matchers themselves.
func (m *Matchers) UnmarshalJSON(b []byte) error {
	*m = Matchers{}
	var err error
	switch b = bytes.TrimSpace(b); {
	case bytes.HasPrefix(b, []byte("[")):
		err = json.Unmarshal(b, &m.List)
	case bytes.HasPrefix(b, []byte("{")):
		err = json.Unmarshal(b, &m.Equal)
	case bytes.Equal(b, []byte("null")):
	default:
		err = errors.New("not an object or a list")
	}
	if err != nil {
		// Not %w: the API would report a nested type error without the field.
		return fmt.Errorf("matchers: expected an object of label values or a list of Alertmanager matchers like [\"team=\\\"risk\\\"\"] (%v)", err)
	}
	m.ms, _ = m.compile()
	return nil
}

// MarshalJSON writes the form the matchers were given in.
func (m Matchers) MarshalJSON() ([]byte, error) {
	if m.List != nil {
		return json.Marshal(m.List)
	}
	if m.Equal == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(m.Equal)
}

func (m Matchers) compile() (labels.Matchers, error) {
	if m.List != nil && m.Equal != nil {
		return nil, errors.New("matchers: either an object or a list, not both")
	}
	if m.List != nil {
		return matchers.Parse("matchers", m.List)
	}
	for k, v := range m.Equal {
		if v == "" {
			return nil, fmt.Errorf("matchers.%s: value must not be empty", k)
		}
	}
	return matchers.FromMap("matchers", labels.MatchEqual, m.Equal)
}

// String is the matchers in Alertmanager's syntax.
func (m Matchers) String() string { return m.ms.String() }

// Normalize validates a window; errors name the field.
func Normalize(in Input, who string, now time.Time) (Window, error) {
	w := Window{Reason: strings.TrimSpace(in.Reason), CreatedBy: who, CreatedAt: now.UTC()}
	ms, err := in.Matchers.compile()
	if err != nil {
		return w, err
	}
	if matchers.MatchesAll(ms) {
		return w, fmt.Errorf("matchers: at least one label matcher that not every incident satisfies (e.g. {\"team\": \"risk\"}); a window never covers everything")
	}
	w.Matchers = Matchers{Equal: in.Matchers.Equal, List: in.Matchers.List, ms: ms}
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
	// A window whose matchers did not compile (none are stored) covers nothing: paging
	// wrongly is the lesser harm than suppressing wrongly.
	return len(w.Matchers.ms) > 0 && matchers.Matches(w.Matchers.ms, labels)
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
