// Package api serves incidentd's REST API under /api/v1: incidents, their lifecycle
// actions, notes, stats and the audit log, plus the Alertmanager webhook endpoint and the
// OpenAPI document describing all of it.
//
// Every route declares the role it needs; errors are mapped to HTTP statuses in one place
// (writeError), and every change is attributed to the caller's token subject.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the embedded OpenAPI document.
func OpenAPI() []byte { return openAPI }

// Store is what the API needs from the incident store.
type Store interface {
	List(ctx context.Context, f store.Filter) (*store.Page, error)
	AppendTable(ctx context.Context, f store.Filter, labels store.TableLabels, b []byte) ([]byte, error)
	Get(ctx context.Context, id int64) (*store.Detail, error)
	Transition(ctx context.Context, id int64, to incident.State, a store.Action) (*store.Incident, error)
	Ack(ctx context.Context, id int64, a store.Action) (*store.Incident, error)
	Reopen(ctx context.Context, id int64, a store.Action) (*store.Incident, error)
	Assign(ctx context.Context, id int64, assignee string, a store.Action) (*store.Incident, error)
	SetTier(ctx context.Context, id int64, tier incident.Tier, a store.Action) (*store.Incident, error)
	AddNote(ctx context.Context, id int64, n store.NoteInput, a store.Action) (*store.Note, error)
	Stats(ctx context.Context, from, to time.Time) (*store.Stats, error)
	Audit(ctx context.Context, f store.AuditFilter) ([]audit.Entry, error)
	VerifyAudit(ctx context.Context) (audit.Verification, error)
	Config() store.Config

	AddChange(ctx context.Context, c changes.Change) (*changes.Change, error)
	ListChanges(ctx context.Context, f store.ChangeFilter) (*store.ChangePage, error)
	Postmortem(ctx context.Context, id int64) (*store.Postmortem, error)
	SavePostmortem(ctx context.Context, id int64, text string, a store.Action) (*store.Postmortem, error)
	AddActionItem(ctx context.Context, id int64, in store.ActionItemInput, a store.Action) (*store.ActionItem, error)
	SetActionItemStatus(ctx context.Context, itemID int64, status string, a store.Action) (*store.ActionItem, error)
	ActionItems(ctx context.Context, f store.ActionItemFilter) ([]store.ActionItem, error)
}

// Options configure the API.
type Options struct {
	Store Store
	// Auth returns the authenticator in force (it changes on config reload).
	Auth    func() *auth.Authenticator
	Webhook http.Handler
	Logger  *slog.Logger
	Now     func() time.Time
	// OnCall returns the on-call directory in force (it changes on config reload).
	OnCall func() *oncall.Directory
	// Maintenance keeps maintenance windows; Deliveries lists an incident's notifications.
	Maintenance MaintenanceStore
	Deliveries  func(ctx context.Context, incidentID int64) ([]escalation.Delivery, error)
	Escalation  func(ctx context.Context, incidentID int64) (*escalation.Status, error)
	// Containments keeps containments (nil: the containment routes answer 503).
	Containments ContainmentStore
	// Evidence reads and requests incidents' evidence; nil when no Prometheus is configured.
	Evidence EvidenceService
}

// Route is one endpoint.
type Route struct {
	Method  string
	Path    string
	Role    auth.Role // 0: public or own authentication
	handler func(w http.ResponseWriter, r *http.Request, p auth.Principal)
}

// API is the /api/v1 handler.
type API struct {
	o      Options
	routes []Route
	mux    *http.ServeMux
}

// MaxInputBytes bounds a JSON request body of the API (the webhook has its own limit).
const MaxInputBytes = 64 << 10

// New builds the API.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnCall == nil {
		empty, _ := oncall.Compile(oncall.Config{}, nil)
		o.OnCall = func() *oncall.Directory { return empty }
	}
	if o.Webhook == nil {
		o.Webhook = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "webhook not configured"})
		})
	}
	a := &API{o: o, mux: http.NewServeMux()}
	a.routes = []Route{
		{Method: "GET", Path: "/api/v1/incidents", Role: auth.Viewer, handler: a.list},
		{Method: "GET", Path: "/api/v1/incidents/{id}", Role: auth.Viewer, handler: a.get},
		{Method: "POST", Path: "/api/v1/incidents/{id}/transitions", Role: auth.Responder, handler: a.transition},
		{Method: "POST", Path: "/api/v1/incidents/{id}/ack", Role: auth.Responder, handler: a.ack},
		{Method: "POST", Path: "/api/v1/incidents/{id}/reopen", Role: auth.Responder, handler: a.reopen},
		{Method: "POST", Path: "/api/v1/incidents/{id}/assign", Role: auth.Responder, handler: a.assign},
		{Method: "POST", Path: "/api/v1/incidents/{id}/tier", Role: auth.Responder, handler: a.tier},
		{Method: "POST", Path: "/api/v1/incidents/{id}/notes", Role: auth.Responder, handler: a.note},
		{Method: "GET", Path: "/api/v1/incidents/{id}/postmortem", Role: auth.Viewer, handler: a.getPostmortem},
		{Method: "PUT", Path: "/api/v1/incidents/{id}/postmortem", Role: auth.Responder, handler: a.putPostmortem},
		{Method: "GET", Path: "/api/v1/incidents/{id}/action_items", Role: auth.Viewer, handler: a.listActionItems},
		{Method: "POST", Path: "/api/v1/incidents/{id}/action_items", Role: auth.Responder, handler: a.addActionItem},
		{Method: "GET", Path: "/api/v1/action_items", Role: auth.Viewer, handler: a.listActionItems},
		{Method: "POST", Path: "/api/v1/action_items/{id}/status", Role: auth.Responder, handler: a.setActionItemStatus},
		{Method: "GET", Path: "/api/v1/changes", Role: auth.Viewer, handler: a.listChanges},
		{Method: "POST", Path: "/api/v1/changes", Role: auth.Responder, handler: a.addChange},
		{Method: "GET", Path: "/api/v1/oncall", Role: auth.Viewer, handler: a.oncall},
		{Method: "GET", Path: "/api/v1/maintenance", Role: auth.Viewer, handler: a.listMaintenance},
		{Method: "POST", Path: "/api/v1/maintenance", Role: auth.Responder, handler: a.addMaintenance},
		{Method: "GET", Path: "/api/v1/incidents/{id}/notifications", Role: auth.Viewer, handler: a.notifications},
		{Method: "GET", Path: "/api/v1/incidents/{id}/evidence", Role: auth.Viewer, handler: a.getEvidence},
		{Method: "POST", Path: "/api/v1/incidents/{id}/evidence", Role: auth.Responder, handler: a.requestEvidence},
		{Method: "GET", Path: "/api/v1/stats", Role: auth.Viewer, handler: a.stats},
		{Method: "GET", Path: "/api/v1/containments", Role: auth.Application, handler: a.listContainments},
		{Method: "POST", Path: "/api/v1/containments", Role: auth.Responder, handler: a.applyContainment},
		{Method: "GET", Path: "/api/v1/containments/{id}", Role: auth.Application, handler: a.getContainment},
		{Method: "DELETE", Path: "/api/v1/containments/{id}", Role: auth.Responder, handler: a.liftContainment},
		{Method: "POST", Path: "/api/v1/containments/{id}/lift", Role: auth.Responder, handler: a.liftContainment},
		{Method: "GET", Path: "/api/v1/incidents/{id}/containments", Role: auth.Viewer, handler: a.listContainments},
		{Method: "POST", Path: "/api/v1/incidents/{id}/containments", Role: auth.Responder, handler: a.applyContainment},
		{Method: "GET", Path: "/api/v1/audit", Role: auth.Admin, handler: a.auditList},
		{Method: "GET", Path: "/api/v1/audit/verify", Role: auth.Admin, handler: a.auditVerify},
		{Method: "GET", Path: "/api/v1/openapi.yaml", handler: a.openapi},
		{Method: "POST", Path: "/api/v1/alertmanager"}, // authenticates Alertmanager itself
	}
	for _, rt := range a.routes {
		pattern := rt.Method + " " + rt.Path
		if rt.handler == nil {
			a.mux.Handle(pattern, o.Webhook)
			continue
		}
		a.mux.HandleFunc(pattern, a.guard(rt))
	}
	return a
}

// Routes lists the endpoints (the OpenAPI test checks each is documented).
func (a *API) Routes() []Route { return a.routes }

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *API) guard(rt Route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		if rt.Role != 0 {
			var err error
			p, err = a.o.Auth().Authenticate(r)
			if err != nil {
				writeError(w, a.o.Logger, err)
				return
			}
			if p.Role < rt.Role {
				writeError(w, a.o.Logger, fmt.Errorf("%w: %s needs role %s, %s has %s", auth.ErrForbidden, rt.Path, rt.Role, p.Subject, p.Role))
				return
			}
		}
		rt.handler(w, r, p)
	}
}

// badRequest is an input error that names the field.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, a ...any) error { return &badRequest{msg: fmt.Sprintf(format, a...)} }

// writeError is the one place errors become statuses.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	code := http.StatusServiceUnavailable
	var br *badRequest
	var inv *store.InvalidError
	var te *incident.TransitionError
	switch {
	case errors.As(err, &br):
		code = http.StatusBadRequest
	case errors.As(err, &te):
		code = http.StatusConflict
	case errors.As(err, &inv), errors.Is(err, auth.ErrBadDelegation):
		code = http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, auth.ErrUnauthenticated):
		code = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="incidentd"`)
	case errors.Is(err, auth.ErrForbidden):
		code = http.StatusForbidden
	default:
		// A database error names tables, columns, SQL and files: it goes to the log, and
		// the client learns only that it may retry.
		log.Error("request failed", "err", err)
		writeJSON(w, code, map[string]string{"error": UnavailableMessage})
		return
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// UnavailableMessage is the whole answer to a request that failed for a reason of the
// server's own (database, shutdown): the detail is logged, never sent.
const UnavailableMessage = "incident store unavailable; retry later (the cause is in incidentd's log)"

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// errEmptyBody is a request without a body, where a JSON object was expected: an error
// (400) unless the endpoint takes an empty body as an empty object.
var errEmptyBody error = &badRequest{msg: "empty body, expected a JSON object"}

// decode reads a JSON object strictly: unknown fields, trailing data and wrong types are
// errors naming the field.
func decode(r *http.Request, v any) error { return decodeLimit(r, v, MaxInputBytes) }

func decodeLimit(r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, limit+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return errEmptyBody
		case errors.As(err, &typ):
			return badf("field %q: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		case errors.As(err, &syn):
			return badf("malformed JSON at byte %d", syn.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return badf("truncated JSON or body larger than %d bytes", limit)
		}
		return badf("cannot decode JSON: %v", err)
	}
	if dec.More() {
		return badf("trailing data after the JSON object")
	}
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badf("incident id %q: expected a positive integer", r.PathValue("id"))
	}
	return id, nil
}

func parseTime(q map[string][]string, name string) (time.Time, error) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badf("%s: expected an RFC 3339 time like 2026-11-29T20:00:00Z, got %q", name, v)
	}
	return t, nil
}

func parseLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, badf("limit: expected a positive integer, got %q", v)
	}
	return n, nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	var f store.Filter
	var err error
	for _, s := range q["state"] {
		for _, part := range strings.Split(s, ",") {
			st, err := incident.ParseState(strings.TrimSpace(part))
			if err != nil {
				writeError(w, a.o.Logger, badf("state: %v", err))
				return
			}
			f.States = append(f.States, st)
		}
	}
	if q.Get("open") == "true" {
		f.States = append(f.States, incident.Detected, incident.Triaged, incident.Contained, incident.Investigating)
	}
	if f.Tier, err = incident.ParseTier(q.Get("tier")); err != nil {
		writeError(w, a.o.Logger, badf("tier: %v", err))
		return
	}
	f.Team, f.Model, f.Text, f.Cursor = q.Get("team"), q.Get("model"), q.Get("q"), q.Get("cursor")
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
	var body []byte
	switch view := q.Get("view"); view {
	case "", "full":
		for _, p := range []string{"labels", "label"} {
			if q.Has(p) {
				writeError(w, a.o.Logger, badf("%s: only with view=table (the full view always has the labels)", p))
				return
			}
		}
		f.RawLabels = true
		p, err := a.o.Store.List(r.Context(), f)
		if err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
		// A page of 500 is ~400 KB; one buffer and one Write, no reflection.
		body = p.AppendJSON(make([]byte, 0, 1024*(len(p.Incidents)+1)))
	case "table":
		var labels store.TableLabels
		if v := q.Get("labels"); v != "" {
			if labels.All, err = strconv.ParseBool(v); err != nil {
				writeError(w, a.o.Logger, badf("labels: expected true or false, got %q", v))
				return
			}
		}
		if labels.Names = q["label"]; len(labels.Names) > 0 {
			switch {
			case labels.All:
				writeError(w, a.o.Logger, badf("label: names labels to return instead of all of them, so not with labels=true"))
				return
			case len(labels.Names) > store.MaxTableLabels:
				writeError(w, a.o.Logger, badf("label: at most %d, got %d", store.MaxTableLabels, len(labels.Names)))
				return
			case slices.Contains(labels.Names, ""):
				writeError(w, a.o.Logger, badf("label: expected a label name, got an empty one"))
				return
			}
		}
		// A table row is ~130 bytes; sizing the buffer for the page saves its regrowth.
		size := 160 * (min(max(f.Limit, 50), store.MaxTablePageSize) + 1)
		if labels.All {
			size *= 2
		}
		if body, err = a.o.Store.AppendTable(r.Context(), f, labels, make([]byte, 0, size)); err != nil {
			writeError(w, a.o.Logger, err)
			return
		}
	default:
		writeError(w, a.o.Logger, badf("view: expected full or table, got %q", view))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (a *API) get(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
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
	writeJSON(w, http.StatusOK, d)
}

// The inputs of the action endpoints are the API's (package incidentapi).
type (
	TransitionInput = incidentapi.TransitionInput
	NoteOnlyInput   = incidentapi.NoteOnlyInput
	AssignInput     = incidentapi.AssignInput
	TierInput       = incidentapi.TierInput
	NoteInput       = incidentapi.NoteInput
)

const maxNote = 4096

func checkNote(n string) error {
	if len(n) > maxNote {
		return badf("note: at most %d bytes", maxNote)
	}
	return nil
}

// act runs an incident action with its decoded input.
func act[T any](a *API, w http.ResponseWriter, r *http.Request, p auth.Principal, do func(ctx context.Context, id int64, in T, who store.Action) (any, error), note func(T) string) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	// An empty body is an empty object: the README's `POST …/ack` has none, and every
	// field an action requires is checked, by name, where the action validates its input.
	var in T
	if err := decode(r, &in); err != nil && !errors.Is(err, errEmptyBody) {
		writeError(w, a.o.Logger, err)
		return
	}
	n := note(in)
	if err := checkNote(n); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	out, err := do(r.Context(), id, in, store.Action{Actor: p.Actor(), Note: n})
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) transition(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, in TransitionInput, who store.Action) (any, error) {
		st, err := incident.ParseState(string(in.To))
		if err != nil {
			return nil, badf("to: %v", err)
		}
		return a.o.Store.Transition(ctx, id, st, who)
	}, func(in TransitionInput) string { return in.Note })
}

func (a *API) ack(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, _ NoteOnlyInput, who store.Action) (any, error) {
		return a.o.Store.Ack(ctx, id, who)
	}, func(in NoteOnlyInput) string { return in.Note })
}

func (a *API) reopen(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, _ NoteOnlyInput, who store.Action) (any, error) {
		return a.o.Store.Reopen(ctx, id, who)
	}, func(in NoteOnlyInput) string { return in.Note })
}

func (a *API) assign(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, in AssignInput, who store.Action) (any, error) {
		return a.o.Store.Assign(ctx, id, strings.TrimSpace(in.Assignee), who)
	}, func(in AssignInput) string { return in.Note })
}

func (a *API) tier(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, in TierInput, who store.Action) (any, error) {
		t, err := incident.ParseTier(string(in.Tier))
		if err != nil {
			return nil, badf("tier: %v", err)
		}
		return a.o.Store.SetTier(ctx, id, t, who)
	}, func(in TierInput) string { return in.Note })
}

func (a *API) note(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	act(a, w, r, p, func(ctx context.Context, id int64, in NoteInput, who store.Action) (any, error) {
		return a.o.Store.AddNote(ctx, id, store.NoteInput{Kind: in.Kind, ContainmentKind: in.ContainmentKind, Text: in.Text, URL: in.URL}, who)
	}, func(NoteInput) string { return "" })
}

func (a *API) stats(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	from, err := parseTime(q, "from")
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	to, err := parseTime(q, "to")
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if to.IsZero() {
		to = a.o.Now()
	}
	if from.IsZero() {
		from = to.Add(-30 * 24 * time.Hour)
	}
	st, err := a.o.Store.Stats(r.Context(), from, to)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) auditList(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Object: q.Get("object")}
	var err error
	if f.From, err = parseTime(q, "from"); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if f.To, err = parseTime(q, "to"); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if v := q.Get("after"); v != "" {
		if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterSeq < 0 {
			writeError(w, a.o.Logger, badf("after: expected a sequence number, got %q", v))
			return
		}
	}
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	es, err := a.o.Store.Audit(r.Context(), f)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, incidentapi.AuditList{Entries: es})
}

func (a *API) auditVerify(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	v, err := a.o.Store.VerifyAudit(r.Context())
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) openapi(w http.ResponseWriter, _ *http.Request, _ auth.Principal) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}
