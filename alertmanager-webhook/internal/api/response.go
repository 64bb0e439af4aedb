package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/postmortem"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

func (a *API) addChange(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var in changes.Input
	if err := decode(r, &in); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	c, err := changes.Normalize(in, p.Actor(), a.o.Now())
	if err != nil {
		writeError(w, a.o.Logger, badf("%v", err))
		return
	}
	out, err := a.o.Store.AddChange(r.Context(), c)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) listChanges(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	f := store.ChangeFilter{Kind: q.Get("kind"), Service: q.Get("service"), Model: q.Get("model"), Team: q.Get("team"), Text: q.Get("q"), Cursor: q.Get("cursor")}
	var err error
	if f.From, err = parseTime(q, "from"); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if f.To, err = parseTime(q, "to"); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if f.Kind != "" && !contains(changes.Kinds, f.Kind) {
		writeError(w, a.o.Logger, badf("kind: expected one of %s, got %q", strings.Join(changes.Kinds, ", "), f.Kind))
		return
	}
	pg, err := a.o.Store.ListChanges(r.Context(), f)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, pg)
}

// getPostmortem answers the stored post-mortem, or a fresh draft when none was saved yet
// (or ?draft=true). The X-Postmortem header says which.
func (a *API) getPostmortem(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	d, err := a.o.Store.Get(r.Context(), id)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	text, kind := "", "draft"
	if r.URL.Query().Get("draft") != "true" {
		pm, err := a.o.Store.Postmortem(r.Context(), id)
		switch {
		case err == nil:
			text, kind = pm.Text, "saved"
			w.Header().Set("Last-Modified", pm.UpdatedAt.UTC().Format(http.TimeFormat))
		case !errors.Is(err, store.ErrNotFound):
			writeError(w, a.o.Logger, err)
			return
		}
	}
	if kind == "draft" {
		items, err := a.o.Store.ActionItems(r.Context(), store.ActionItemFilter{IncidentID: id, Limit: 1000})
		if err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
		in := postmortem.Input{Incident: d, ActionItems: items, SLA: a.o.Store.Config().SLA, Now: a.o.Now()}
		if ev := a.evidenceReport(r.Context(), id); ev != nil {
			in.Evidence = &ev.EvidenceReport
		}
		text = postmortem.Draft(in)
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("X-Postmortem", kind)
	_, _ = io.WriteString(w, text)
}

// putPostmortem stores the edited text: a text/markdown body, or JSON {"text": "…"}.
func (a *API) putPostmortem(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	var text string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var in incidentapi.PostmortemInput
		if err := decodeLimit(r, &in, store.MaxPostmortemBytes*2); err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
		text = in.Text
	} else {
		b, err := io.ReadAll(io.LimitReader(r.Body, store.MaxPostmortemBytes+1))
		if err != nil {
			writeError(w, a.o.Logger, badf("body: %v", err))
			return
		}
		text = string(b)
	}
	pm, err := a.o.Store.SavePostmortem(r.Context(), id, text, store.Action{Actor: p.Actor()})
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, incidentapi.PostmortemSaved{IncidentID: pm.IncidentID, UpdatedAt: pm.UpdatedAt, UpdatedBy: pm.UpdatedBy, Bytes: len(pm.Text)})
}

// ActionItemInput adds an action item to an incident.
type ActionItemInput = incidentapi.ActionItemInput

// ActionItemStatusInput marks an action item open or done.
type ActionItemStatusInput = incidentapi.ActionItemStatusInput

func (a *API) addActionItem(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, in ActionItemInput, who store.Action) (any, error) {
		var due time.Time
		if in.Due != "" {
			var err error
			if due, err = time.Parse(time.RFC3339, in.Due); err != nil {
				if due, err = time.Parse(time.DateOnly, in.Due); err != nil {
					return nil, badf("due: expected a date like 2026-12-15 or an RFC 3339 time, got %q", in.Due)
				}
			}
		}
		return a.o.Store.AddActionItem(ctx, id, store.ActionItemInput{Text: in.Text, Owner: in.Owner, DueAt: due}, who)
	}, func(ActionItemInput) string { return "" })
}

func (a *API) setActionItemStatus(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, in ActionItemStatusInput, who store.Action) (any, error) {
		return a.o.Store.SetActionItemStatus(ctx, id, in.Status, who)
	}, func(ActionItemStatusInput) string { return "" })
}

func (a *API) listActionItems(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	f := store.ActionItemFilter{Owner: q.Get("owner"), Status: q.Get("status")}
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
		f.IncidentID = id
	} else if v := q.Get("incident"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			writeError(w, a.o.Logger, badf("incident: expected a positive integer, got %q", v))
			return
		}
		f.IncidentID = id
	}
	var err error
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	items, err := a.o.Store.ActionItems(r.Context(), f)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, incidentapi.ActionItemList{ActionItems: items})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
