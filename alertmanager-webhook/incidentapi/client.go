package incidentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// DelegationHeader names the user an action is performed for; incidentd accepts it from
// tokens configured with delegate: true and records that user in its audit log.
const DelegationHeader = "X-Grafana-User"

// MaxBody bounds a response body, so a wrong URL pointing at a huge file cannot exhaust
// memory: a longer answer is an error, never a truncated decode.
const MaxBody = 64 << 20

// PageLimit is the largest page of incidents incidentd serves.
const PageLimit = 500

// Error is an answer of incidentd other than 2xx, with the message incidentd gave.
// Status 0 means incidentd was not reached.
type Error struct {
	Status  int
	Message string
	Path    string
	Err     error
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("incidentd unreachable (%s): %v", e.Path, e.Err)
	}
	if e.Message == "" {
		return fmt.Sprintf("incidentd answered %d %s for %s", e.Status, http.StatusText(e.Status), e.Path)
	}
	return fmt.Sprintf("incidentd answered %d for %s: %s", e.Status, e.Path, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of an incidentd error (0 if unreachable or not one).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// ErrNotIncidentd reports an answer that is not from incidentd (e.g. HTML from another service).
var ErrNotIncidentd = errors.New("the answer is not incidentd's JSON")

// Observer is told about every request: a low-cardinality endpoint name, the status (0:
// not reached) and the duration.
type Observer func(endpoint string, status int, d time.Duration)

// Options configure a Client.
type Options struct {
	// Token is the bearer token sent with every request but /-/healthy ("" sends none).
	Token string
	// HTTP performs the requests (nil: a client with a 30 s timeout).
	HTTP *http.Client
	// Observe, when set, is told about every request.
	Observe Observer
	// DecodePage, when set, decodes a page of incidents instead of encoding/json (the
	// plugin's faster decoder); it must accept what encoding/json accepts.
	DecodePage func(data []byte) (*Page, error)
	// Now is the clock for Observe's durations (nil: time.Now).
	Now func() time.Time
}

// ValidToken accepts a non-empty token of visible characters only: no space of any kind,
// no control or format character (zero-width space, bidi marks), valid UTF-8. incidentd
// refuses any other bearer token, so a program minting tokens checks them with this.
func ValidToken(tok string) bool {
	if tok == "" || !utf8.ValidString(tok) {
		return false
	}
	return strings.IndexFunc(tok, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsGraphic(r) }) < 0
}

// Client calls one incidentd. It is safe for concurrent use.
type Client struct {
	base string
	o    Options
	// bodies keeps large response buffers for reuse: a page of incidents is a few
	// megabytes, and allocating (and zeroing) it per request was a tenth of a query.
	bodies sync.Pool
}

// New builds a client for the incidentd at base (scheme://host[/prefix]).
func New(base string, o Options) *Client {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Observe == nil {
		o.Observe = func(string, int, time.Duration) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{base: strings.TrimSuffix(base, "/"), o: o}
}

// Do performs one request and decodes its JSON answer into out (nil: the body is read and
// dropped). body, when not nil, is sent as JSON; actingUser, when set, goes in the
// delegation header; endpoint names the request for the Observer.
func (c *Client) Do(ctx context.Context, method, endpoint, path string, q url.Values, actingUser string, body, out any) error {
	data, status, err := c.Raw(ctx, method, endpoint, path, q, actingUser, body)
	if err != nil || out == nil {
		return err
	}
	if page, ok := out.(*Page); ok && c.o.DecodePage != nil {
		var got *Page
		if got, err = c.o.DecodePage(data); err == nil {
			*page = *got
		}
	} else {
		err = json.Unmarshal(data, out) // copies what it keeps
		c.Release(data)
	}
	if err != nil {
		return &Error{Status: status, Path: path, Message: "the body is not the JSON incidentd sends; is the URL that of incidentd?", Err: fmt.Errorf("%w: %w", ErrNotIncidentd, err)}
	}
	return nil
}

// call performs one request and decodes its answer into a new T.
func call[T any](ctx context.Context, c *Client, method, endpoint, path string, q url.Values, actingUser string, body any) (*T, error) {
	var out T
	if err := c.Do(ctx, method, endpoint, path, q, actingUser, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Raw performs one request and returns the body and status of a 2xx answer; any other
// answer is an *Error carrying incidentd's message. The caller may give the body back
// with Release once it no longer uses it.
func (c *Client) Raw(ctx context.Context, method, endpoint, path string, q url.Values, actingUser string, body any) ([]byte, int, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, 0, fmt.Errorf("encode request for %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("build request for %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.o.Token)
	}
	if actingUser != "" {
		req.Header.Set(DelegationHeader, actingUser)
	}
	start := c.o.Now()
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		c.o.Observe(endpoint, 0, c.o.Now().Sub(start))
		return nil, 0, &Error{Path: path, Err: err}
	}
	defer resp.Body.Close()
	data, err := c.read(resp)
	c.o.Observe(endpoint, resp.StatusCode, c.o.Now().Sub(start))
	if err != nil {
		return nil, 0, &Error{Path: path, Err: fmt.Errorf("read body: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode, Path: path}
		var msg ErrorBody
		if json.Unmarshal(data, &msg) == nil && msg.Error != "" {
			e.Message = msg.Error
		} else if resp.StatusCode == http.StatusNotFound {
			e.Err = ErrNotIncidentd
		}
		return nil, 0, e
	}
	return data, resp.StatusCode, nil
}

// errTooLarge is a body over MaxBody.
var errTooLarge = fmt.Errorf("body larger than %d bytes", MaxBody)

// read reads a body of at most MaxBody bytes. incidentd sends Content-Length: reading into
// a buffer of that size saves io.ReadAll's regrowth, a dozen copies for a page of several
// megabytes (net/http fails the read if the body is shorter than announced).
func (c *Client) read(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > MaxBody {
		return nil, errTooLarge
	} else if n >= 0 {
		data := c.buffer(int(n))
		_, err := io.ReadFull(resp.Body, data)
		return data, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err == nil && len(data) > MaxBody {
		return nil, errTooLarge
	}
	return data, err
}

// minPooled is the smallest body worth keeping for reuse.
const minPooled = 64 << 10

// buffer returns a buffer of n bytes, a released one when one is large enough.
func (c *Client) buffer(n int) []byte {
	if n >= minPooled {
		if p, ok := c.bodies.Get().(*[]byte); ok {
			if cap(*p) >= n {
				return (*p)[:n]
			}
			c.bodies.Put(p)
		}
	}
	return make([]byte, n)
}

// Release gives a body returned by Raw back for reuse; the caller must not use it
// afterwards.
func (c *Client) Release(b []byte) {
	if cap(b) >= minPooled {
		c.bodies.Put(&b)
	}
}

// Filter selects incidents; empty fields do not filter.
type Filter struct {
	States   []State
	Open     bool // any open state, besides States
	Tier     Tier
	Team     string
	Model    string
	Text     string // substring of title or summary
	From, To time.Time
}

// Values renders the filter as incidentd's query parameters.
func (f Filter) Values() url.Values {
	v := url.Values{}
	if len(f.States) > 0 {
		s := make([]string, len(f.States))
		for i, st := range f.States {
			s[i] = string(st)
		}
		v.Set("state", strings.Join(s, ","))
	}
	if f.Open {
		v.Set("open", "true")
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("tier", string(f.Tier))
	set("team", f.Team)
	set("model", f.Model)
	set("q", f.Text)
	if !f.From.IsZero() {
		v.Set("from", f.From.UTC().Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		v.Set("to", f.To.UTC().Format(time.RFC3339))
	}
	return v
}

// Encode renders the filter as incidentd's query string.
func (f Filter) Encode() string { return f.Values().Encode() }

// ListPage reads one page of incidents (limit 0: incidentd's default).
func (c *Client) ListPage(ctx context.Context, f Filter, limit int, cursor string) (*Page, error) {
	q := f.Values()
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	p, err := call[Page](ctx, c, http.MethodGet, "incidents", "/api/v1/incidents", q, "", nil)
	if err == nil && p.Incidents == nil {
		p.Incidents = []Incident{}
	}
	return p, err
}

// ErrRepeatedCursor is a listing whose next cursor does not advance: following it would
// never end.
var ErrRepeatedCursor error = &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "incidentd repeated the same cursor; stopping to avoid an endless loop"}

// List follows the cursor until the filter is exhausted or max incidents are read;
// truncated reports whether more were left.
func (c *Client) List(ctx context.Context, f Filter, max int) (incidents []Incident, truncated bool, err error) {
	cursor := ""
	for {
		p, err := c.ListPage(ctx, f, min(PageLimit, max-len(incidents)), cursor)
		if err != nil {
			return nil, false, err
		}
		incidents = append(incidents, p.Incidents...)
		if p.NextCursor == "" {
			return incidents, false, nil
		}
		if len(incidents) >= max {
			return incidents, true, nil
		}
		if p.NextCursor == cursor || len(p.Incidents) == 0 {
			return nil, false, ErrRepeatedCursor
		}
		cursor = p.NextCursor
	}
}

// IncidentPath is the path of an incident's action (or the incident itself when action is "").
func IncidentPath(id int64, action string) string {
	p := "/api/v1/incidents/" + strconv.FormatInt(id, 10)
	if action != "" {
		p += "/" + action
	}
	return p
}

// Get reads one incident with its alerts, timeline, notes and related changes.
func (c *Client) Get(ctx context.Context, id int64) (*Detail, error) {
	return call[Detail](ctx, c, http.MethodGet, "incident", IncidentPath(id, ""), nil, "", nil)
}

// Timeline reads an incident's history, oldest first.
func (c *Client) Timeline(ctx context.Context, id int64) ([]TimelineEntry, error) {
	d, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return d.Timeline, nil
}

func timeRange(from, to time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.UTC().Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("to", to.UTC().Format(time.RFC3339))
	}
	return q
}

// Stats reads counts, MTTA and MTTR of incidents detected in [from, to) (zero times:
// incidentd's default, the last 30 days).
func (c *Client) Stats(ctx context.Context, from, to time.Time) (*Stats, error) {
	return call[Stats](ctx, c, http.MethodGet, "stats", "/api/v1/stats", timeRange(from, to), "", nil)
}

// Changes reads the change log in [from, to). incidentd versions without a change log
// answer 404, reported as an *Error with Status 404.
func (c *Client) Changes(ctx context.Context, from, to time.Time) ([]Change, error) {
	out, err := call[ChangePage](ctx, c, http.MethodGet, "changes", "/api/v1/changes", timeRange(from, to), "", nil)
	if err != nil {
		return nil, err
	}
	return out.Changes, nil
}

// AddChange records a change in the change log.
func (c *Client) AddChange(ctx context.Context, in ChangeInput) (*Change, error) {
	return call[Change](ctx, c, http.MethodPost, "add_change", "/api/v1/changes", nil, "", in)
}

// action posts an incident action and returns the incident after it; endpoint names it
// for the Observer.
func (c *Client) action(ctx context.Context, id int64, endpoint, action, actingUser string, body any) (*Incident, error) {
	return call[Incident](ctx, c, http.MethodPost, endpoint, IncidentPath(id, action), nil, actingUser, body)
}

// Ack acknowledges (triages) an incident for actingUser ("": the token's subject).
func (c *Client) Ack(ctx context.Context, id int64, actingUser, note string) (*Incident, error) {
	return c.action(ctx, id, "ack", "ack", actingUser, NoteOnlyInput{Note: note})
}

// Transition moves an incident to state to for actingUser.
func (c *Client) Transition(ctx context.Context, id int64, actingUser string, to State, note string) (*Incident, error) {
	return c.action(ctx, id, "transition", "transitions", actingUser, TransitionInput{To: to, Note: note})
}

// Resolve resolves an incident for actingUser.
func (c *Client) Resolve(ctx context.Context, id int64, actingUser, note string) (*Incident, error) {
	return c.Transition(ctx, id, actingUser, "resolved", note)
}

// Reopen reopens a resolved incident for actingUser.
func (c *Client) Reopen(ctx context.Context, id int64, actingUser, note string) (*Incident, error) {
	return c.action(ctx, id, "reopen", "reopen", actingUser, NoteOnlyInput{Note: note})
}

// Assign assigns an incident (empty unassigns) for actingUser.
func (c *Client) Assign(ctx context.Context, id int64, actingUser, assignee string) (*Incident, error) {
	return c.action(ctx, id, "assign", "assign", actingUser, AssignInput{Assignee: assignee})
}

// SetTier overrides an incident's tier ("" restores the alerts' tier) for actingUser.
func (c *Client) SetTier(ctx context.Context, id int64, actingUser string, tier Tier, note string) (*Incident, error) {
	return c.action(ctx, id, "tier", "tier", actingUser, TierInput{Tier: tier, Note: note})
}

// AddNote adds a note, link or containment action for actingUser.
func (c *Client) AddNote(ctx context.Context, id int64, actingUser string, n NoteInput) (*Note, error) {
	return call[Note](ctx, c, http.MethodPost, "note", IncidentPath(id, "notes"), nil, actingUser, n)
}

// Notifications reads an incident's escalation state and the notifications sent for it.
func (c *Client) Notifications(ctx context.Context, id int64) (*Notifications, error) {
	return call[Notifications](ctx, c, http.MethodGet, "notifications", IncidentPath(id, "notifications"), nil, "", nil)
}

// Contain applies a containment for an incident as actingUser.
func (c *Client) Contain(ctx context.Context, incidentID int64, actingUser string, in ContainmentRequest) (*Containment, error) {
	return call[Containment](ctx, c, http.MethodPost, "contain", IncidentPath(incidentID, "containments"), nil, actingUser, in)
}

// ApplyContainment applies a containment, of an incident or none, as actingUser.
func (c *Client) ApplyContainment(ctx context.Context, actingUser string, in ContainmentRequest) (*Containment, error) {
	return call[Containment](ctx, c, http.MethodPost, "contain", "/api/v1/containments", nil, actingUser, in)
}

// LiftContainment lifts a containment as actingUser.
func (c *Client) LiftContainment(ctx context.Context, id int64, actingUser, reason string) (*Containment, error) {
	return call[Containment](ctx, c, http.MethodPost, "lift", "/api/v1/containments/"+strconv.FormatInt(id, 10)+"/lift", nil, actingUser, LiftInput{Reason: reason})
}

// GetContainment reads one containment with the calls of its hooks.
func (c *Client) GetContainment(ctx context.Context, id int64) (*ContainmentDetail, error) {
	return call[ContainmentDetail](ctx, c, http.MethodGet, "containment", "/api/v1/containments/"+strconv.FormatInt(id, 10), nil, "", nil)
}

// Containments lists an incident's containments, oldest first.
func (c *Client) Containments(ctx context.Context, incidentID int64) ([]Containment, error) {
	out, err := call[ContainmentList](ctx, c, http.MethodGet, "containments", IncidentPath(incidentID, "containments"), nil, "", nil)
	if err != nil {
		return nil, err
	}
	return out.Containments, nil
}

// ContainmentFilter selects containments; empty fields do not filter.
type ContainmentFilter struct {
	Model    string
	Active   bool // only those in force
	Incident int64
	Limit    int
}

// ListContainments lists containments, oldest first.
func (c *Client) ListContainments(ctx context.Context, f ContainmentFilter) ([]Containment, error) {
	q := url.Values{}
	if f.Model != "" {
		q.Set("model", f.Model)
	}
	if f.Active {
		q.Set("active", "true")
	}
	if f.Incident > 0 {
		q.Set("incident", strconv.FormatInt(f.Incident, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	out, err := call[ContainmentList](ctx, c, http.MethodGet, "containments", "/api/v1/containments", q, "", nil)
	if err != nil {
		return nil, err
	}
	return out.Containments, nil
}

// Healthy probes /-/healthy, which needs no token.
func (c *Client) Healthy(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "healthy", "/-/healthy", nil, "", nil, nil)
}

// ProbeDelegation reads one incident on behalf of a made-up user: incidentd answers 403
// when the token may not act for other users. The read changes nothing.
func (c *Client) ProbeDelegation(ctx context.Context) error {
	q := url.Values{"limit": {"1"}}
	return c.Do(ctx, http.MethodGet, "incidents", "/api/v1/incidents", q, "grafana-health-check", nil, nil)
}

// Postmortem reads an incident's post-mortem as Markdown: the one saved, or else a draft
// incidentd writes from the incident, its timeline, evidence and action items.
func (c *Client) Postmortem(ctx context.Context, id int64) (string, error) {
	b, _, err := c.Raw(ctx, http.MethodGet, "postmortem", IncidentPath(id, "postmortem"), nil, "", nil)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AuditFilter selects audit entries; empty fields do not filter.
type AuditFilter struct {
	Actor, Action, Object string
	From, To              time.Time
	AfterSeq              int64 // entries after this sequence number
	Limit                 int
}

// Audit reads the audit log (an admin token's right), oldest first.
func (c *Client) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := timeRange(f.From, f.To)
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "object": f.Object} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.AfterSeq > 0 {
		q.Set("after", strconv.FormatInt(f.AfterSeq, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	out, err := call[AuditList](ctx, c, http.MethodGet, "audit", "/api/v1/audit", q, "", nil)
	if err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// VerifyAudit checks the audit log's hash chain.
func (c *Client) VerifyAudit(ctx context.Context) (*AuditVerification, error) {
	return call[AuditVerification](ctx, c, http.MethodGet, "audit_verify", "/api/v1/audit/verify", nil, "", nil)
}
