package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// ContainmentStore keeps containments (store.DB).
type ContainmentStore interface {
	ApplyContainment(ctx context.Context, c containment.Containment, actor string) (*containment.Containment, error)
	LiftContainment(ctx context.Context, id int64, actor, reason string) (*containment.Containment, error)
	GetContainment(ctx context.Context, id int64) (*containment.Containment, error)
	ListContainments(ctx context.Context, f store.ContainmentFilter) ([]containment.Containment, error)
	ContainmentHooks(ctx context.Context, containmentID int64) ([]store.HookDelivery, error)
}

func (a *API) containments() (ContainmentStore, error) {
	if a.o.Containments == nil {
		return nil, fmt.Errorf("containments: %w", store.ErrUnavailable)
	}
	return a.o.Containments, nil
}

// containmentError maps the containment package's refusals; the rest go to writeError.
func (a *API) containmentError(w http.ResponseWriter, err error) {
	var fe *containment.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, a.o.Logger, badf("%s", fe.Error()))
	case errors.Is(err, containment.ErrNotActive):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		writeError(w, a.o.Logger, err)
	}
}

func containmentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badf("containment id %q: expected a positive integer", r.PathValue("id"))
	}
	return id, nil
}

func (a *API) applyContainment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, err := a.containments()
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	var in containment.Request
	if err := decode(r, &in); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if r.PathValue("id") != "" { // POST /api/v1/incidents/{id}/containments
		id, err := pathID(r)
		if err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
		if in.Incident != 0 && in.Incident != id {
			writeError(w, a.o.Logger, badf("incident: %d in the body, %d in the path", in.Incident, id))
			return
		}
		in.Incident = id
	}
	c, err := in.Validate(a.o.Now())
	if err != nil {
		a.containmentError(w, err)
		return
	}
	out, err := cs.ApplyContainment(r.Context(), c, p.Actor())
	if err != nil {
		a.containmentError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// LiftInput is the optional body of a lift.
type LiftInput = incidentapi.LiftInput

func (a *API) liftContainment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, err := a.containments()
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	id, err := containmentID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	var in LiftInput
	if err := decode(r, &in); err != nil && !errors.Is(err, errEmptyBody) {
		writeError(w, a.o.Logger, err)
		return
	}
	if len(in.Reason) > containment.MaxReasonBytes {
		writeError(w, a.o.Logger, badf("reason: at most %d bytes", containment.MaxReasonBytes))
		return
	}
	out, err := cs.LiftContainment(r.Context(), id, p.Actor(), strings.TrimSpace(in.Reason))
	if err != nil {
		a.containmentError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getContainment(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	cs, err := a.containments()
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	id, err := containmentID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	c, err := cs.GetContainment(r.Context(), id)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	hooks, err := cs.ContainmentHooks(r.Context(), id)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	out := incidentapi.ContainmentDetail{Containment: incidentapi.Containment(*c), Hooks: make([]incidentapi.HookDelivery, len(hooks))}
	for i, h := range hooks {
		out.Hooks[i] = h.HookDelivery
	}
	writeJSON(w, http.StatusOK, out)
}

// listContainments answers GET /api/v1/containments and /api/v1/incidents/{id}/containments.
// The ETag is a digest of the body: a client polling with If-None-Match gets 304 and no
// body while nothing changed, expiry included.
func (a *API) listContainments(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	cs, err := a.containments()
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	q := r.URL.Query()
	f := store.ContainmentFilter{Model: q.Get("model")}
	if v := q.Get("active"); v != "" {
		if f.Active, err = strconv.ParseBool(v); err != nil {
			writeError(w, a.o.Logger, badf("active: expected true or false, got %q", v))
			return
		}
	}
	if r.PathValue("id") != "" {
		if f.Incident, err = pathID(r); err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
	} else if v := q.Get("incident"); v != "" {
		if f.Incident, err = strconv.ParseInt(v, 10, 64); err != nil || f.Incident <= 0 {
			writeError(w, a.o.Logger, badf("incident: expected a positive incident id, got %q", v))
			return
		}
	}
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	list, err := cs.ListContainments(r.Context(), f)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	body, err := json.Marshal(map[string]any{"containments": list})
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == etag || t == "W/"+etag || t == "*" {
			return true
		}
	}
	return false
}
