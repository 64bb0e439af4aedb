package plugin

import (
	"cmp"
	"encoding/json"
	"fmt"
	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// fakeIncidentd is an in-memory incidentd speaking the documented /api/v1 contract
// (alertmanager-webhook/api/openapi.yaml): filters, cursor pages of at most pageMax,
// bearer tokens with roles and delegation. The tests against the real incidentd binary
// live in pkg/e2e; this fake lets handler tests pin exact frames.
type fakeIncidentd struct {
	mu        sync.Mutex
	incidents []incidentd.Incident // newest detection first
	details   map[int64]*incidentd.Detail
	stats     *incidentd.Stats
	changes   []incidentd.Change        // nil: answer 404 like an incidentd without a change log
	evidence  map[int64]json.RawMessage // an incident's evidence; absent: 404 not gathered yet
	tokens    map[string]fakeToken
	pageMax   int
	// legacy answers like an incidentd before the table view: view is ignored and a
	// limit above 500 is refused.
	legacy bool
	// addColumn and dropColumn, when set, change the table view's columns, as another
	// version of incidentd might: a column the plugin does not know, second; one it needs
	// left out.
	addColumn, dropColumn string
	// containments are applied and lifted through the containment routes; nil answers
	// 404 like an incidentd before containments.
	containments []incidentd.Containment
	// actions records what was done, as the audit log would.
	actions  []fakeAction
	requests []*http.Request
	// fail, when set, answers every API request with this status.
	fail int
	// pages, when not nil, caches encoded incident pages by query string, so benchmarks
	// measure the plugin rather than the fake's JSON encoding.
	pages map[string][]byte
}

type fakeToken struct {
	role     string
	delegate bool
}

type fakeAction struct {
	Action, Actor, Body string
	ID                  int64
}

func newFake(incidents []incidentd.Incident) *fakeIncidentd {
	slices.SortStableFunc(incidents, func(a, b incidentd.Incident) int {
		if c := b.DetectedAt.Compare(a.DetectedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	return &fakeIncidentd{
		incidents: incidents,
		details:   map[int64]*incidentd.Detail{},
		tokens:    map[string]fakeToken{"reader": {role: "viewer"}, "plugin": {role: "responder", delegate: true}},
		pageMax:   incidentd.TablePageLimit,
	}
}

func (f *fakeIncidentd) start(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func fakeErr(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

var roleRank = map[string]int{"viewer": 1, "responder": 2, "admin": 3}

func (f *fakeIncidentd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Clone(r.Context()))
	if r.URL.Path == "/-/healthy" {
		_, _ = w.Write([]byte("OK\n"))
		return
	}
	if f.fail != 0 {
		fakeErr(w, f.fail, "injected failure")
		return
	}
	need := "viewer"
	if r.Method == http.MethodPost {
		need = "responder"
	}
	tok, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		fakeErr(w, http.StatusUnauthorized, "missing or unknown bearer token")
		return
	}
	actor := "token"
	if u := r.Header.Get(incidentd.DelegationHeader); u != "" {
		if !tok.delegate {
			fakeErr(w, http.StatusForbidden, "forbidden: token may not act for another user")
			return
		}
		actor = u + " (via plugin)"
	}
	if roleRank[tok.role] < roleRank[need] {
		fakeErr(w, http.StatusForbidden, "forbidden: needs role "+need)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/api/v1/incidents" && r.Method == http.MethodGet:
		if f.pages == nil {
			f.list(w, r)
			return
		}
		b, ok := f.pages[r.URL.RawQuery]
		if !ok {
			rec := httptest.NewRecorder()
			f.list(rec, r)
			b = rec.Body.Bytes()
			f.pages[r.URL.RawQuery] = b
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	case r.URL.Path == "/api/v1/stats":
		if f.stats == nil {
			fakeErr(w, http.StatusInternalServerError, "no stats")
			return
		}
		writeJSON(w, http.StatusOK, f.stats)
	case r.URL.Path == "/api/v1/changes":
		if f.changes == nil {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"changes": f.changes})
	case len(parts) == 5 && parts[2] == "incidents" && parts[4] == "evidence" && r.Method == http.MethodGet:
		id, _ := strconv.ParseInt(parts[3], 10, 64)
		e, ok := f.evidence[id]
		if !ok {
			fakeErr(w, http.StatusNotFound, fmt.Sprintf("the evidence of incident %d is not gathered yet", id))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(e)
	case len(parts) == 4 && parts[2] == "incidents" && r.Method == http.MethodGet:
		id, _ := strconv.ParseInt(parts[3], 10, 64)
		d, ok := f.details[id]
		if !ok {
			fakeErr(w, http.StatusNotFound, fmt.Sprintf("incident %d not found", id))
			return
		}
		writeJSON(w, http.StatusOK, d)
	case r.URL.Path == "/api/v1/containments" && r.Method == http.MethodGet ||
		len(parts) == 5 && parts[2] == "incidents" && parts[4] == "containments" ||
		len(parts) == 5 && parts[2] == "containments" && parts[4] == "lift":
		f.containment(w, r, parts, actor)
	case len(parts) == 5 && parts[2] == "incidents" && r.Method == http.MethodPost:
		id, _ := strconv.ParseInt(parts[3], 10, 64)
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		b, _ := json.Marshal(body)
		for i := range f.incidents {
			in := &f.incidents[i]
			if in.ID != id {
				continue
			}
			switch parts[4] {
			case "ack":
				in.State = "triaged"
			case "transitions":
				if body["to"] == "detected" {
					fakeErr(w, http.StatusConflict, "cannot move back from triaged to detected")
					return
				}
				in.State = incidentd.State(fmt.Sprint(body["to"]))
			case "assign":
				in.Assignee = fmt.Sprint(body["assignee"])
			}
			f.actions = append(f.actions, fakeAction{Action: parts[4], Actor: actor, Body: string(b), ID: id})
			writeJSON(w, http.StatusOK, in)
			return
		}
		fakeErr(w, http.StatusNotFound, fmt.Sprintf("incident %d not found", id))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeIncidentd) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var from, to time.Time
	if v := q.Get("from"); v != "" {
		from, _ = time.Parse(time.RFC3339, v)
	}
	if v := q.Get("to"); v != "" {
		to, _ = time.Parse(time.RFC3339, v)
	}
	var states []string
	if v := q.Get("state"); v != "" {
		states = strings.Split(v, ",")
	}
	if q.Get("open") == "true" {
		states = append(states, "detected", "triaged", "contained", "investigating")
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	table := q.Get("view") == "table" && !f.legacy
	if most := map[bool]int{false: incidentd.PageLimit, true: incidentd.TablePageLimit}[table]; limit > most {
		fakeErr(w, http.StatusBadRequest, fmt.Sprintf("limit: at most %d", most))
		return
	}
	limit = min(limit, f.pageMax)
	offset, _ := strconv.Atoi(q.Get("cursor"))
	keep := func(in *incidentd.Incident) bool {
		return !((!from.IsZero() && in.DetectedAt.Before(from)) || (!to.IsZero() && !in.DetectedAt.Before(to)) ||
			(len(states) > 0 && !slices.Contains(states, string(in.State))) ||
			(q.Get("tier") != "" && string(in.Tier) != q.Get("tier")) ||
			(q.Get("team") != "" && in.Team != q.Get("team")) ||
			(q.Get("model") != "" && in.Model != q.Get("model")) ||
			(q.Get("q") != "" && !strings.Contains(strings.ToLower(in.Title), strings.ToLower(q.Get("q")))))
	}
	page := struct {
		Incidents  []incidentd.Incident `json:"incidents"`
		NextCursor string               `json:"next_cursor,omitempty"`
	}{Incidents: []incidentd.Incident{}}
	// The cursor is the index in f.incidents to continue from.
	i := offset
	for ; i < len(f.incidents) && len(page.Incidents) < limit; i++ {
		if keep(&f.incidents[i]) {
			page.Incidents = append(page.Incidents, f.incidents[i])
		}
	}
	for ; i < len(f.incidents); i++ {
		if keep(&f.incidents[i]) {
			page.NextCursor = strconv.Itoa(i)
			break
		}
	}
	if !table {
		writeJSON(w, http.StatusOK, page)
		return
	}
	// The table view: a header of column names, then each incident as an array of values
	// in the columns' order, times in Unix milliseconds (null: not reached), the runbook
	// (the incident's, else its label), the labels last when asked for: all of them
	// (labels=true) or those named (label=…), {} when none.
	columns := []string{"id", "title", "tier", "state", "team", "model", "assignee", "detected_at", "triaged_at", "resolved_at", "alerts_firing", "sla_breached", "runbook_url"}
	named := q["label"]
	labels := q.Get("labels") == "true" || len(named) > 0
	if labels {
		columns = append(columns, "labels")
	}
	millis := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UnixMilli()
	}
	rows := make([][]any, len(page.Incidents))
	for k, in := range page.Incidents {
		var runbook any
		if rb := cmp.Or(in.RunbookURL, in.Labels["runbook_url"]); rb != "" {
			runbook = rb
		}
		rows[k] = []any{in.ID, in.Title, in.Tier, in.State, in.Team, in.Model, in.Assignee, in.DetectedAt.UnixMilli(),
			millis(in.TriagedAt), millis(in.ResolvedAt), in.AlertsFiring, in.SLABreached, runbook}
		if labels {
			l := in.Labels
			if l == nil || len(named) > 0 {
				l = map[string]string{}
				for _, n := range named {
					if v, ok := in.Labels[n]; ok {
						l[n] = v
					}
				}
			}
			rows[k] = append(rows[k], l)
		}
	}
	if f.addColumn != "" {
		columns = slices.Insert(columns, 1, f.addColumn)
		for k := range rows {
			rows[k] = slices.Insert(rows[k], 1, any(map[string]any{"added": []any{k, nil, "x"}}))
		}
	}
	if c := slices.Index(columns, f.dropColumn); c >= 0 {
		columns = slices.Delete(columns, c, c+1)
		for k := range rows {
			rows[k] = slices.Delete(rows[k], c, c+1)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Columns    []string `json:"columns"`
		Rows       [][]any  `json:"rows"`
		NextCursor string   `json:"next_cursor,omitempty"`
	}{columns, rows, page.NextCursor})
}

// listRequests counts the incident pages the fake served.
func (f *fakeIncidentd) listRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.URL.Path == "/api/v1/incidents" {
			n++
		}
	}
	return n
}

// containment serves the containment routes: list (all active, or an incident's), apply
// for an incident and lift, with incidentd's answers to a missing field or a second lift.
func (f *fakeIncidentd) containment(w http.ResponseWriter, r *http.Request, parts []string, actor string) {
	if f.containments == nil {
		http.NotFound(w, r)
		return
	}
	id, _ := strconv.ParseInt(parts[len(parts)-2], 10, 64)
	switch {
	case r.Method == http.MethodGet:
		out := []incidentd.Containment{}
		for _, c := range f.containments {
			if (parts[2] == "incidents" && c.IncidentID == id) || (parts[2] == "containments" && (r.URL.Query().Get("active") != "true" || c.Active)) {
				out = append(out, c)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"containments": out})
	case parts[2] == "incidents":
		var in incidentd.ContainmentInput
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &in); err != nil {
			fakeErr(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		switch {
		case in.Model == "":
			fakeErr(w, http.StatusBadRequest, "model: required")
			return
		case in.Action == "fallback" && in.FallbackVersion == "":
			fakeErr(w, http.StatusBadRequest, "fallback_version: required")
			return
		}
		c := incidentd.Containment{ID: int64(len(f.containments) + 1), Model: in.Model, Version: in.Version, Action: incidentapi.ContainmentAction(in.Action),
			Match: in.Match, FallbackVersion: in.FallbackVersion, Reason: in.Reason, IncidentID: id, CreatedBy: actor, Until: "lifted", Active: true}
		f.containments = append(f.containments, c)
		f.actions = append(f.actions, fakeAction{Action: "contain", Actor: actor, Body: string(raw), ID: id})
		writeJSON(w, http.StatusCreated, c)
	default:
		for i := range f.containments {
			c := &f.containments[i]
			if c.ID != id {
				continue
			}
			if !c.Active {
				fakeErr(w, http.StatusConflict, "containment is not active")
				return
			}
			raw, _ := io.ReadAll(r.Body)
			c.Active, c.LiftedBy = false, actor
			f.actions = append(f.actions, fakeAction{Action: "lift", Actor: actor, Body: string(raw), ID: id})
			writeJSON(w, http.StatusOK, c)
			return
		}
		fakeErr(w, http.StatusNotFound, fmt.Sprintf("containment %d not found", id))
	}
}
