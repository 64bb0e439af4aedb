package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// memStore is a minimal in-memory Store for fuzzing the API's input handling: the real
// stores are tested by store/storetest and through the API in the app tests, but
// coverage-instrumenting the SQLite engine for fuzzing takes far longer than the fuzzing.
// It applies the same lifecycle and note rules as the store.
type memStore struct{ inc store.Incident }

func (m *memStore) find(id int64) (*store.Incident, error) {
	if id != m.inc.ID {
		return nil, store.ErrNotFound
	}
	return &m.inc, nil
}

func (m *memStore) List(_ context.Context, f store.Filter) (*store.Page, error) {
	if f.Limit > store.MaxPageSize {
		return nil, &store.InvalidError{Err: context.Canceled}
	}
	return &store.Page{Incidents: []store.Incident{m.inc}}, nil
}
func (m *memStore) AppendTable(_ context.Context, f store.Filter, _ store.TableLabels, b []byte) ([]byte, error) {
	if f.Limit > store.MaxTablePageSize {
		return b, &store.InvalidError{Err: context.Canceled}
	}
	return append(b, `{"incidents":[]}`+"\n"...), nil
}
func (m *memStore) Get(_ context.Context, id int64) (*store.Detail, error) {
	i, err := m.find(id)
	if err != nil {
		return nil, err
	}
	return &store.Detail{Incident: i.Incident}, nil
}
func (m *memStore) Transition(_ context.Context, id int64, to incident.State, _ store.Action) (*store.Incident, error) {
	i, err := m.find(id)
	if err != nil {
		return nil, err
	}
	if err := incident.CheckTransition(i.State, to); err != nil {
		return nil, &store.InvalidError{Err: err}
	}
	i.State = to
	return i, nil
}
func (m *memStore) Ack(ctx context.Context, id int64, a store.Action) (*store.Incident, error) {
	return m.find(id)
}
func (m *memStore) Reopen(_ context.Context, id int64, _ store.Action) (*store.Incident, error) {
	i, err := m.find(id)
	if err != nil {
		return nil, err
	}
	i.State = incident.Detected
	return i, nil
}
func (m *memStore) Assign(_ context.Context, id int64, who string, _ store.Action) (*store.Incident, error) {
	return m.find(id)
}
func (m *memStore) SetTier(_ context.Context, id int64, _ incident.Tier, _ store.Action) (*store.Incident, error) {
	return m.find(id)
}
func (m *memStore) AddNote(_ context.Context, id int64, n store.NoteInput, _ store.Action) (*store.Note, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if _, err := m.find(id); err != nil {
		return nil, err
	}
	return &store.Note{Kind: n.Kind, Text: n.Text}, nil
}
func (m *memStore) Stats(context.Context, time.Time, time.Time) (*store.Stats, error) {
	return &store.Stats{}, nil
}
func (m *memStore) Audit(context.Context, store.AuditFilter) ([]audit.Entry, error) {
	return nil, nil
}
func (m *memStore) VerifyAudit(context.Context) (audit.Verification, error) {
	return audit.Verification{OK: true}, nil
}

func (m *memStore) Config() store.Config { return store.DefaultConfig() }
func (m *memStore) AddChange(_ context.Context, c changes.Change) (*changes.Change, error) {
	return &c, nil
}
func (m *memStore) ListChanges(context.Context, store.ChangeFilter) (*store.ChangePage, error) {
	return &store.ChangePage{Changes: []changes.Change{}}, nil
}
func (m *memStore) Postmortem(_ context.Context, id int64) (*store.Postmortem, error) {
	return nil, store.ErrNotFound
}
func (m *memStore) SavePostmortem(_ context.Context, id int64, text string, _ store.Action) (*store.Postmortem, error) {
	if _, err := m.find(id); err != nil {
		return nil, err
	}
	return &store.Postmortem{IncidentID: id, Text: text}, nil
}
func (m *memStore) AddActionItem(_ context.Context, id int64, in store.ActionItemInput, _ store.Action) (*store.ActionItem, error) {
	if _, err := m.find(id); err != nil {
		return nil, err
	}
	return &store.ActionItem{IncidentID: id, Text: in.Text, Owner: in.Owner}, nil
}
func (m *memStore) SetActionItemStatus(_ context.Context, id int64, status string, _ store.Action) (*store.ActionItem, error) {
	return nil, store.ErrNotFound
}
func (m *memStore) ActionItems(context.Context, store.ActionItemFilter) ([]store.ActionItem, error) {
	return []store.ActionItem{}, nil
}

func fuzzAPI(t testing.TB) *API {
	a, err := auth.New([]auth.Token{{Subject: "fuzzer", Role: auth.Admin, SHA256: auth.Hash("t"), Delegate: true}}, nil, nil)
	require.NoError(t, err)
	return New(Options{Store: &memStore{inc: store.Incident{Incident: incidentapi.Incident{ID: 1, State: incident.Detected}}}, Auth: func() *auth.Authenticator { return a }})
}

// FuzzActions sends arbitrary bodies (and acting-user headers) to every action endpoint:
// the answer must be a deliberate 2xx/4xx with an error message, never a 5xx or a panic.
func FuzzActions(f *testing.F) {
	for _, seed := range []struct{ path, body, user string }{
		{"transitions", `{"to":"investigating","note":"x"}`, ""},
		{"transitions", `{"to":"resolved"}`, "bob"},
		{"ack", `{}`, ""},
		{"reopen", `{"note":""}`, ""},
		{"assign", `{"assignee":"team-a"}`, ""},
		{"tier", `{"tier":"p1"}`, ""},
		{"notes", `{"kind":"containment","containment_kind":"rollback","text":"rolled back"}`, ""},
		{"notes", `{"kind":"link","url":"https://x"}`, ""},
		{"transitions", `{"to":null}`, ""},
		{"assign", `[]`, "a\r\nb"},
	} {
		f.Add(seed.path, seed.body, seed.user)
	}
	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, action, body, user string) {
		switch action {
		case "transitions", "ack", "reopen", "assign", "tier", "notes":
		default:
			action = "notes"
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1/incidents/1/"+action, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		if user != "" && !strings.ContainsAny(user, "\x00\r\n") {
			req.Header.Set(auth.DelegationHeader, user)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", action, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error"`) {
			t.Fatalf("%s %q: %d without an error message", action, body, rec.Code)
		}
	})
}

// FuzzListQuery fuzzes the list endpoint's query string: 200 or 400, nothing else.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{"state=detected,triaged&tier=P1", "from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&limit=10", "q=%25_%5C", "cursor=MTox", "limit=-1", "open=true&team=a&model=b",
		"view=table&limit=10000&labels=true", "view=table&limit=10001", "view=tabel", "view=table&labels=maybe", "labels=true",
		"view=table&label=team&label=alertname", "view=table&label=&labels=true"} {
		f.Add(q)
	}
	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/incidents", nil)
		req.URL.RawQuery = q
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("%q: %d %s", q, rec.Code, rec.Body.String())
		}
	})
}

// The list's view and labels parameters are checked where they are parsed, naming the
// parameter and what it expects.
func TestListViewParameters(t *testing.T) {
	h := fuzzAPI(t)
	for q, want := range map[string]string{
		"view=tabel":                                    `view: expected full or table, got \"tabel\"`,
		"view=table&labels=maybe":                       `labels: expected true or false, got \"maybe\"`,
		"labels=true":                                   "labels: only with view=table",
		"view=full&labels=false":                        "labels: only with view=table",
		"view=table&limit=10001":                        "",
		"view=table&limit=10000":                        "",
		"view=table&labels=true":                        "",
		"view=table&label=team&label=a%22b":             "",
		"view=table&label=team&labels=true":             "label: names labels to return instead of all of them, so not with labels=true",
		"view=table&label=":                             "label: expected a label name, got an empty one",
		"view=table&label=a&label=":                     "label: expected a label name, got an empty one",
		"label=team":                                    "label: only with view=table",
		"view=table&" + strings.Repeat("label=x&", 101): "label: at most 100, got 101",
		"view=full&limit=500&state=triaged":             "",
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/incidents?"+q, nil)
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case want != "":
			require.Equal(t, http.StatusBadRequest, rec.Code, q)
			require.Contains(t, rec.Body.String(), want, q)
		case strings.Contains(q, "10001"):
			require.Equal(t, http.StatusBadRequest, rec.Code, "%s: the store refuses the limit", q)
		default:
			require.Equal(t, http.StatusOK, rec.Code, "%s: %s", q, rec.Body.String())
			require.True(t, json.Valid(rec.Body.Bytes()), q)
		}
	}
}

// The delegated user name (X-Grafana-User) is recorded as the actor of timelines and the
// audit log: control characters, bidirectional overrides, zero-width and odd spaces, a
// nested "(via …)" and over-long names are refused with a 400 naming the header.
func TestDelegatedUserValidated(t *testing.T) {
	h := fuzzAPI(t)
	ack := func(user string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/incidents/1/ack", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer t")
		req.Header.Set(auth.DelegationHeader, user)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for _, user := range []string{
		"bob\x1b[31m", "bob\x00", "bob\u0085", "bob\tmallory",
		"\u202eeciла", "bob\u202e", "bob\u2066x\u2069", "b\u200bob", "bob\ufeff",
		"bob\u00a0", "bob\u2028x", "bob\u3000x",
		"alice (via grafana)", "bob (via admin)", "x)",
		strings.Repeat("a", 129), "\xff\xfe",
	} {
		code, body := ack(user)
		require.Equal(t, http.StatusBadRequest, code, "%q: %s", user, body)
		require.Contains(t, body, "X-Grafana-User", "%q", user)
	}
	for _, user := range []string{"bob", "Bob Smith", "bob@example.org", "Zoë Ångström", "李雷", strings.Repeat("a", 128)} {
		code, body := ack(user)
		require.Equal(t, http.StatusOK, code, "%q: %s", user, body)
	}
}

// brokenStore fails every list with the kind of text a database error carries.
type brokenStore struct{ memStore }

func (b *brokenStore) List(context.Context, store.Filter) (*store.Page, error) {
	return nil, fmt.Errorf("%w: SELECT id, title FROM incidents WHERE LOWER(title) LIKE ?: database disk image is malformed (/var/lib/incidentd/incidentd.db)", store.ErrUnavailable)
}

// A database error reaches the log, never the client: it names tables, SQL and files.
func TestStoreErrorsStayInTheLog(t *testing.T) {
	var logs bytes.Buffer
	a, err := auth.New([]auth.Token{{Subject: "v", Role: auth.Viewer, SHA256: auth.Hash("t")}}, nil, nil)
	require.NoError(t, err)
	h := New(Options{Store: &brokenStore{}, Auth: func() *auth.Authenticator { return a }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/incidents", nil)
	req.Header.Set("Authorization", "Bearer t")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	for _, leak := range []string{"SELECT", "incidents", "malformed", "/var/lib"} {
		require.NotContains(t, rec.Body.String(), leak)
	}
	require.Contains(t, rec.Body.String(), "retry later")
	require.Contains(t, logs.String(), "database disk image is malformed", "the detail is logged")
}
