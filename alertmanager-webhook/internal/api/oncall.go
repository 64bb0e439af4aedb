package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
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

// MaintenanceStore keeps maintenance windows.
type MaintenanceStore interface {
	Add(ctx context.Context, w maintenance.Window) (*maintenance.Window, error)
	Active(ctx context.Context, t time.Time) ([]maintenance.Window, error)
}

func (a *API) addMaintenance(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if a.o.Maintenance == nil {
		writeError(w, a.o.Logger, fmt.Errorf("maintenance windows: %w", store.ErrUnavailable))
		return
	}
	var in maintenance.Input
	if err := decode(r, &in); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	win, err := maintenance.Normalize(in, p.Actor(), a.o.Now())
	if err != nil {
		writeError(w, a.o.Logger, badf("%v", err))
		return
	}
	out, err := a.o.Maintenance.Add(r.Context(), win)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) listMaintenance(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if a.o.Maintenance == nil {
		writeJSON(w, http.StatusOK, map[string]any{"windows": []maintenance.Window{}})
		return
	}
	ws, err := a.o.Maintenance.Active(r.Context(), a.o.Now())
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"windows": ws})
}

func (a *API) notifications(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if _, err := a.o.Store.Get(r.Context(), id); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	ds := []escalation.Delivery{}
	var st *escalation.Status
	if a.o.Deliveries != nil {
		if ds, err = a.o.Deliveries(r.Context(), id); err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
	}
	if a.o.Escalation != nil {
		if st, err = a.o.Escalation(r.Context(), id); err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, incidentapi.Notifications{Escalation: st, Notifications: ds})
}
