package plugin

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// maxActionBody bounds an action's JSON body.
const maxActionBody = 64 << 10

// resourceMux routes the plugin's resources, reached from the frontend as
// /api/datasources/uid/<uid>/resources/<path>.
func (d *Datasource) resourceMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /options/{kind}", d.handleOptions)
	mux.HandleFunc("GET /teams", func(w http.ResponseWriter, r *http.Request) { r.SetPathValue("kind", "teams"); d.handleOptions(w, r) })
	mux.HandleFunc("GET /models", func(w http.ResponseWriter, r *http.Request) { r.SetPathValue("kind", "models"); d.handleOptions(w, r) })
	mux.HandleFunc("POST /incidents/{id}/ack", d.action("ack", d.ack))
	mux.HandleFunc("POST /incidents/{id}/transition", d.action("transition", d.transition))
	mux.HandleFunc("POST /incidents/{id}/notes", d.action("note", d.note))
	mux.HandleFunc("POST /incidents/{id}/assign", d.action("assign", d.assign))
	mux.HandleFunc("GET /incidents/{id}/containments", d.listContainments)
	mux.HandleFunc("POST /incidents/{id}/containments", d.action("contain", d.contain))
	mux.HandleFunc("POST /incidents/{id}/containments/lift", d.action("lift_incident", d.liftIncident))
	mux.HandleFunc("POST /containments/{id}/lift", d.action("lift", d.lift))
	return mux
}

// resourceError is the JSON body of a failed resource call; source tells the frontend (and
// whoever reads Grafana's logs) whether incidentd or the plugin refused.
type resourceError struct {
	Error  string `json:"error"`
	Source string `json:"source"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeActionError maps an error to a status in one place: incidentd's own 4xx answers are
// passed through, an unreachable or failing incidentd is a 502, everything else is ours.
func writeActionError(w http.ResponseWriter, err error) string {
	var ie *incidentd.Error
	var be *badInput
	switch {
	case errors.As(err, &be):
		writeJSON(w, http.StatusBadRequest, resourceError{Error: err.Error(), Source: string(backend.ErrorSourcePlugin)})
		return "bad_request"
	case errors.Is(err, errNothingToLift):
		writeJSON(w, http.StatusConflict, resourceError{Error: err.Error(), Source: string(backend.ErrorSourcePlugin)})
		return "conflict"
	case errors.As(err, &ie) && ie.Status >= 400 && ie.Status < 500:
		writeJSON(w, ie.Status, resourceError{Error: err.Error(), Source: string(backend.ErrorSourceDownstream)})
		if ie.Status == http.StatusForbidden || ie.Status == http.StatusUnauthorized {
			return "denied"
		}
		return "downstream_error"
	case errors.As(err, &ie):
		writeJSON(w, http.StatusBadGateway, resourceError{Error: err.Error(), Source: string(backend.ErrorSourceDownstream)})
		return "downstream_error"
	}
	writeJSON(w, http.StatusInternalServerError, resourceError{Error: err.Error(), Source: string(backend.ErrorSourcePlugin)})
	return "plugin_error"
}

type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

func badInputf(format string, a ...any) error { return &badInput{msg: fmt.Sprintf(format, a...)} }

func (d *Datasource) handleOptions(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	if !slices.Contains(validVarKind, kind) {
		writeActionError(w, badInputf("options: unknown kind %q, expected teams, models, tiers or states", kind))
		return
	}
	vals, err := d.options(r.Context(), kind)
	if err != nil {
		writeActionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vals)
}

// actor is who clicked: Grafana puts the signed-in user in the plugin context. Requests
// without a user (alerting, service calls) and Grafana viewers may not act.
func actor(r *http.Request) (string, error) {
	u := backend.UserFromContext(r.Context())
	if u == nil || (u.Login == "" && u.Email == "") {
		return "", errors.New("actions need a signed-in Grafana user; this request carries none")
	}
	if u.Role == "" || strings.EqualFold(u.Role, "Viewer") || strings.EqualFold(u.Role, "None") {
		return "", fmt.Errorf("the Grafana user %q has role %q; acting on incidents needs Editor or Admin", login(u), u.Role)
	}
	return login(u), nil
}

func login(u *backend.User) string {
	if u.Login != "" {
		return u.Login
	}
	return u.Email
}

type actionFunc func(r *http.Request, id int64, user string) (any, error)

// action wraps an incident action: identifies the user, reads the id, counts the outcome.
func (d *Datasource) action(name string, fn actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, err := actor(r)
		if err != nil {
			writeJSON(w, http.StatusForbidden, resourceError{Error: err.Error(), Source: string(backend.ErrorSourcePlugin)})
			d.o.Metrics.observeAction(name, "denied")
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			d.o.Metrics.observeAction(name, writeActionError(w, badInputf("incident id %q: expected a positive integer", r.PathValue("id"))))
			return
		}
		out, err := fn(r, id, user)
		if err != nil {
			outcome := writeActionError(w, err)
			d.o.Metrics.observeAction(name, outcome)
			d.o.Logger.Warn("incident action failed", "action", name, "incident", id, "user", user, "err", err)
			return
		}
		d.o.Metrics.observeAction(name, "ok")
		d.o.Logger.Info("incident action", "action", name, "incident", id, "user", user)
		writeJSON(w, http.StatusOK, out)
	}
}

// decodeBody reads an action body strictly; an empty body is an empty object.
func decodeBody(r *http.Request, v any) error {
	// The SDK's http adapter leaves Body nil when Grafana sends no body.
	if r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxActionBody+1))
	if err != nil {
		return badInputf("read body: %v", err)
	}
	if len(b) > maxActionBody {
		return badInputf("body larger than %d bytes", maxActionBody)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badInputf("field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return badInputf("body: expected a JSON object: %v", err)
	}
	return nil
}

func (d *Datasource) ack(r *http.Request, id int64, user string) (any, error) {
	var in struct {
		Note string `json:"note"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	return d.client.Ack(r.Context(), id, user, in.Note)
}

func (d *Datasource) transition(r *http.Request, id int64, user string) (any, error) {
	var in struct {
		To   string `json:"to"`
		Note string `json:"note"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if !slices.Contains(validStates, in.To) {
		return nil, badInputf("to: expected one of %s, got %q", strings.Join(validStates, ", "), in.To)
	}
	return d.client.Transition(r.Context(), id, user, incidentd.State(in.To), in.Note)
}

func (d *Datasource) note(r *http.Request, id int64, user string) (any, error) {
	var in incidentd.NoteInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Kind == "" {
		in.Kind = "note"
	}
	if in.Kind == "note" && strings.TrimSpace(in.Text) == "" {
		return nil, badInputf("text: required for a note")
	}
	return d.client.AddNote(r.Context(), id, user, in)
}

func (d *Datasource) assign(r *http.Request, id int64, user string) (any, error) {
	var in struct {
		Assignee string `json:"assignee"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	// "me" is the user who clicked, so a panel button can say "take it".
	if in.Assignee == "me" {
		in.Assignee = user
	}
	return d.client.Assign(r.Context(), id, user, in.Assignee)
}

// contain applies a containment for the incident as the Grafana user. A body without a
// model contains the incident's own, as incidentd's automatic policies do: its model, its
// version label and, for a fallback, its fallback_version label — so a dashboard button
// needs to say only the action and the reason.
func (d *Datasource) contain(r *http.Request, id int64, user string) (any, error) {
	var in incidentd.ContainmentInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, badInputf("reason: required (it is shown to everyone who reads the containment)")
	}
	if in.Model == "" {
		inc, err := d.client.Get(r.Context(), id)
		if err != nil {
			return nil, err
		}
		in.Model = cmp.Or(inc.Model, inc.Labels["model"])
		if in.Model == "" {
			return nil, badInputf("model: required, incident %d names no model", id)
		}
		if in.Version == "" {
			in.Version = inc.Labels["version"]
		}
		if in.Action == "fallback" && in.FallbackVersion == "" {
			in.FallbackVersion = inc.Labels["fallback_version"]
			if in.FallbackVersion == "" {
				return nil, badInputf("fallback_version: required, incident %d has no fallback_version label to take it from", id)
			}
		}
	}
	return d.client.Contain(r.Context(), id, user, in)
}

// errNothingToLift is a lift of an incident's containments when none is active.
var errNothingToLift = errors.New("no active containment")

// liftIncident lifts every active containment of the incident as the Grafana user, so a
// row of the incidents table can lift without knowing containment ids. A lift that fails
// part way names the ones already lifted; incidentd refuses a second lift of the same.
func (d *Datasource) liftIncident(r *http.Request, id int64, user string) (any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	cs, err := d.client.Containments(r.Context(), id)
	if err != nil {
		return nil, err
	}
	lifted := []incidentd.Containment{}
	for _, c := range cs {
		if !c.Active {
			continue
		}
		out, err := d.client.LiftContainment(r.Context(), c.ID, user, strings.TrimSpace(in.Reason))
		if err != nil {
			if len(lifted) > 0 {
				return nil, fmt.Errorf("lifted %s, then containment %d: %w", containmentIDs(lifted), c.ID, err)
			}
			return nil, err
		}
		lifted = append(lifted, *out)
	}
	if len(lifted) == 0 {
		return nil, fmt.Errorf("incident %d: %w to lift", id, errNothingToLift)
	}
	return lifted, nil
}

func containmentIDs(cs []incidentd.Containment) string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = strconv.FormatInt(c.ID, 10)
	}
	return strings.Join(ids, ", ")
}

// lift lifts a containment (the path's id is the containment's) as the Grafana user.
func (d *Datasource) lift(r *http.Request, id int64, user string) (any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	return d.client.LiftContainment(r.Context(), id, user, in.Reason)
}

// listContainments shows an incident's containments to any Grafana user.
func (d *Datasource) listContainments(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeActionError(w, badInputf("incident id %q: expected a positive integer", r.PathValue("id")))
		return
	}
	cs, err := d.client.Containments(r.Context(), id)
	if err != nil {
		writeActionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}
