package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/store"
)

// TeamOnCall is who is on call for a team at a moment, and whether it is business hours.
type TeamOnCall struct {
	Team          string    `json:"team"`
	BusinessHours bool      `json:"business_hours"`
	NextBusiness  time.Time `json:"next_business_hours,omitzero"`
	Shifts        []any     `json:"shifts"`
}

func (a *API) oncall(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	at, err := parseTime(q, "at")
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if at.IsZero() {
		at = a.o.Now()
	}
	dir := a.o.OnCall()
	teams := dir.Teams()
	if name := q.Get("team"); name != "" {
		if _, ok := dir.Team(name); !ok {
			writeError(w, a.o.Logger, fmt.Errorf("team %q: %w (configured: %v)", name, store.ErrNotFound, teams))
			return
		}
		teams = []string{name}
	}
	out := []TeamOnCall{}
	for _, name := range teams {
		tm, _ := dir.Team(name)
		shifts, err := dir.OnCall(name, at)
		if err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
		t := TeamOnCall{Team: name, BusinessHours: tm.Hours.Open(at), Shifts: make([]any, 0, len(shifts))}
		if !t.BusinessHours {
			t.NextBusiness = tm.Hours.NextOpen(at).UTC()
		}
		for _, s := range shifts {
			t.Shifts = append(t.Shifts, s)
		}
		out = append(out, t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at.UTC(), "teams": out})
}
