// Package incidentd is the plugin's client of incidentd's REST API (/api/v1): incident
// pages, one incident's detail, stats, the change log and the lifecycle actions.
//
// Only the fields the plugin shows are decoded; unknown fields are ignored so a newer
// incidentd keeps working with an older plugin.
package incidentd

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

	"github.com/valyala/fastjson"
)

// DelegationHeader names the Grafana user an action is performed for; incidentd accepts it
// from tokens configured with delegate: true and records that user in its audit log.
const DelegationHeader = "X-Grafana-User"

// maxBody bounds a response body, so a wrong URL pointing at a huge file cannot exhaust memory.
const maxBody = 64 << 20

// PageLimit is the largest page incidentd serves.
const PageLimit = 500

// Incident is an incident as listed.
type Incident struct {
	ID           int64             `json:"id"`
	GroupKey     string            `json:"group_key"`
	Title        string            `json:"title"`
	Summary      string            `json:"summary"`
	Tier         string            `json:"tier"`
	Team         string            `json:"team"`
	Model        string            `json:"model"`
	Labels       map[string]string `json:"labels"`
	RunbookURL   string            `json:"runbook_url"` // absent before incidentd had it: see Labels
	State        string            `json:"state"`
	Assignee     string            `json:"assignee"`
	DetectedAt   time.Time         `json:"detected_at"`
	TriagedAt    time.Time         `json:"triaged_at"`
	ContainedAt  time.Time         `json:"contained_at"`
	ResolvedAt   time.Time         `json:"resolved_at"`
	ReviewedAt   time.Time         `json:"reviewed_at"`
	AlertsFiring int               `json:"alerts_firing"`
	AlertsTotal  int               `json:"alerts_total"`
	MTTASeconds  float64           `json:"mtta_seconds"`
	MTTRSeconds  float64           `json:"mttr_seconds"`
	SLABreached  bool              `json:"sla_breached"`
}

// Alert is one alert occurrence of an incident.
type Alert struct {
	Fingerprint  string            `json:"fingerprint"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       time.Time         `json:"ends_at"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generator_url"`
}

// TimelineEntry is one step of an incident's history.
type TimelineEntry struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Kind  string    `json:"kind"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Note  string    `json:"note"`
}

// Note is a note, link or containment action.
type Note struct {
	ID              int64     `json:"id"`
	At              time.Time `json:"at"`
	Actor           string    `json:"actor"`
	Kind            string    `json:"kind"`
	ContainmentKind string    `json:"containment_kind"`
	Text            string    `json:"text"`
	URL             string    `json:"url"`
}

// Detail is one incident with its alerts, timeline and notes.
type Detail struct {
	Incident
	Alerts   []Alert         `json:"alerts"`
	Timeline []TimelineEntry `json:"timeline"`
	Notes    []Note          `json:"notes"`
}

// Bucket is one row of the stats.
type Bucket struct {
	Key          string   `json:"key"`
	Count        int64    `json:"count"`
	Open         int64    `json:"open"`
	Acknowledged int64    `json:"acknowledged"`
	Resolved     int64    `json:"resolved"`
	SLABreached  int64    `json:"sla_breached"`
	MTTASeconds  *float64 `json:"mtta_seconds"`
	MTTRSeconds  *float64 `json:"mttr_seconds"`
}

// Stats are counts, MTTA and MTTR of incidents detected in [From, To).
type Stats struct {
	From    time.Time        `json:"from"`
	To      time.Time        `json:"to"`
	Total   Bucket           `json:"total"`
	ByState map[string]int64 `json:"by_state"`
	ByTier  []Bucket         `json:"by_tier"`
	ByTeam  []Bucket         `json:"by_team"`
	ByModel []Bucket         `json:"by_model"`
}

// Change is one change-log entry (deploy, model version, config change).
type Change struct {
	ID      int64             `json:"id"`
	At      time.Time         `json:"at"`
	Kind    string            `json:"kind"`
	Title   string            `json:"title"`
	Text    string            `json:"text"`
	Model   string            `json:"model"`
	Team    string            `json:"team"`
	Actor   string            `json:"actor"`
	Labels  map[string]string `json:"labels"`
	Version string            `json:"version"`
}

// Filter selects incidents; empty fields do not filter.
type Filter struct {
	States   []string
	Open     bool
	Tier     string
	Team     string
	Model    string
	Text     string
	From, To time.Time
}

func (f Filter) values() url.Values {
	v := url.Values{}
	if len(f.States) > 0 {
		v.Set("state", strings.Join(f.States, ","))
	}
	if f.Open {
		v.Set("open", "true")
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("tier", f.Tier)
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

// Error is an answer of incidentd other than 2xx. Status 0 means incidentd was not reached.
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

// Observer is told about every request, for the plugin's own metrics.
type Observer func(endpoint string, status int, d time.Duration)

// Client calls one incidentd.
type Client struct {
	base    string
	token   string
	http    *http.Client
	observe Observer
	now     func() time.Time
	parsers fastjson.ParserPool
	// tableParsers keeps the table view's parsers warm between listings. A sync.Pool
	// (fastjson.ParserPool) is emptied by the garbage collector, which a listing of
	// thousands of rows runs: a parser's first page then allocates its whole tree of
	// values again, several times the cost of refilling a tree it already has
	// (BenchmarkDecodeTable: cold vs warm).
	tableParsers chan *fastjson.Parser
	// bodies keeps large response buffers for reuse: a page of the table view is a few
	// megabytes, and allocating (and zeroing) it per request was a tenth of a query.
	bodies sync.Pool
}

// New builds a client for the incidentd at base (scheme://host[/prefix]).
func New(base, token string, hc *http.Client, observe Observer) *Client {
	if observe == nil {
		observe = func(string, int, time.Duration) {}
	}
	return &Client{base: strings.TrimSuffix(base, "/"), token: token, http: hc, observe: observe, now: time.Now, tableParsers: make(chan *fastjson.Parser, warmParsers)}
}

// do performs one request and decodes its JSON answer into out (nil: ignore the body);
// actingUser, when set, goes in the delegation header. endpoint is a low-cardinality name
// for metrics.
func (c *Client) do(ctx context.Context, method, endpoint, path string, q url.Values, actingUser string, body, out any) error {
	data, status, err := c.roundTrip(ctx, method, endpoint, path, q, actingUser, body)
	if err != nil || out == nil {
		return err
	}
	if page, ok := out.(*Page); ok {
		pr := c.parsers.Get()
		var got *Page
		got, err = decodePage(pr, data)
		c.parsers.Put(pr)
		if err == nil {
			*page = *got
		}
	} else {
		err = json.Unmarshal(data, out)
	}
	if err != nil {
		return &Error{Status: status, Path: path, Message: "the body is not the JSON incidentd sends; is the URL that of incidentd?", Err: fmt.Errorf("%w: %v", ErrNotIncidentd, err)}
	}
	return nil
}

// roundTrip performs one request and returns the body and status of a 2xx answer; any
// other answer is an *Error carrying incidentd's message.
func (c *Client) roundTrip(ctx context.Context, method, endpoint, path string, q url.Values, actingUser string, body any) ([]byte, int, error) {
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
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if actingUser != "" {
		req.Header.Set(DelegationHeader, actingUser)
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(endpoint, 0, c.now().Sub(start))
		return nil, 0, &Error{Path: path, Err: err}
	}
	defer resp.Body.Close()
	// incidentd sends Content-Length: reading into a buffer of that size saves io.ReadAll's
	// regrowth, a dozen copies for a page of several megabytes. (net/http fails the read
	// if the body is shorter than announced, and stops at its length.)
	var data []byte
	if n := resp.ContentLength; n >= 0 && n <= maxBody {
		data = c.buffer(int(n))
		_, err = io.ReadFull(resp.Body, data)
	} else {
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	}
	c.observe(endpoint, resp.StatusCode, c.now().Sub(start))
	if err != nil {
		return nil, 0, &Error{Path: path, Err: fmt.Errorf("read body: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode, Path: path}
		var msg struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &msg) == nil && msg.Error != "" {
			e.Message = msg.Error
		} else if resp.StatusCode == http.StatusNotFound {
			e.Err = ErrNotIncidentd
		}
		return nil, 0, e
	}
	return data, resp.StatusCode, nil
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

// release gives a body back for reuse; the caller must not use it afterwards. Only the
// table decoder does, as it copies what it keeps.
func (c *Client) release(b []byte) {
	if cap(b) >= minPooled {
		c.bodies.Put(&b)
	}
}

// Page is one page of incidents.
type Page struct {
	Incidents  []Incident `json:"incidents"`
	NextCursor string     `json:"next_cursor"`
}

// ListPage reads one page.
func (c *Client) ListPage(ctx context.Context, f Filter, limit int, cursor string) (*Page, error) {
	q := f.values()
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var p Page
	if err := c.do(ctx, http.MethodGet, "incidents", "/api/v1/incidents", q, "", nil, &p); err != nil {
		return nil, err
	}
	if p.Incidents == nil {
		p.Incidents = []Incident{}
	}
	return &p, nil
}

// List follows the cursor until the filter is exhausted or max incidents are read;
// truncated reports whether more were left.
func (c *Client) List(ctx context.Context, f Filter, max int) (incidents []Incident, truncated bool, err error) {
	cursor := ""
	for {
		limit := PageLimit
		if rest := max - len(incidents); rest < limit {
			limit = rest
		}
		p, err := c.ListPage(ctx, f, limit, cursor)
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
			return nil, false, repeatedCursor()
		}
		cursor = p.NextCursor
	}
}

// Get reads one incident with its alerts, timeline and notes.
func (c *Client) Get(ctx context.Context, id int64) (*Detail, error) {
	var d Detail
	if err := c.do(ctx, http.MethodGet, "incident", "/api/v1/incidents/"+strconv.FormatInt(id, 10), nil, "", nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Stats reads counts, MTTA and MTTR of incidents detected in [from, to).
func (c *Client) Stats(ctx context.Context, from, to time.Time) (*Stats, error) {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.UTC().Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("to", to.UTC().Format(time.RFC3339))
	}
	var s Stats
	if err := c.do(ctx, http.MethodGet, "stats", "/api/v1/stats", q, "", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Changes reads the change log in [from, to). incidentd versions without a change log
// answer 404, reported as an *Error with Status 404.
func (c *Client) Changes(ctx context.Context, from, to time.Time) ([]Change, error) {
	q := url.Values{}
	q.Set("from", from.UTC().Format(time.RFC3339))
	q.Set("to", to.UTC().Format(time.RFC3339))
	var out struct {
		Changes []Change `json:"changes"`
	}
	if err := c.do(ctx, http.MethodGet, "changes", "/api/v1/changes", q, "", nil, &out); err != nil {
		return nil, err
	}
	return out.Changes, nil
}

// Ack acknowledges an incident for actingUser.
func (c *Client) Ack(ctx context.Context, id int64, actingUser, note string) (*Incident, error) {
	var out Incident
	body := map[string]string{}
	if note != "" {
		body["note"] = note
	}
	return &out, c.do(ctx, http.MethodPost, "ack", incidentPath(id, "ack"), nil, actingUser, body, &out)
}

// Transition moves an incident to state to for actingUser.
func (c *Client) Transition(ctx context.Context, id int64, actingUser, to, note string) (*Incident, error) {
	var out Incident
	body := map[string]string{"to": to}
	if note != "" {
		body["note"] = note
	}
	return &out, c.do(ctx, http.MethodPost, "transition", incidentPath(id, "transitions"), nil, actingUser, body, &out)
}

// Assign assigns an incident (empty unassigns) for actingUser.
func (c *Client) Assign(ctx context.Context, id int64, actingUser, assignee string) (*Incident, error) {
	var out Incident
	return &out, c.do(ctx, http.MethodPost, "assign", incidentPath(id, "assign"), nil, actingUser, map[string]string{"assignee": assignee}, &out)
}

// NoteInput is a note to add.
type NoteInput struct {
	Kind            string `json:"kind"`
	ContainmentKind string `json:"containment_kind,omitempty"`
	Text            string `json:"text,omitempty"`
	URL             string `json:"url,omitempty"`
}

// AddNote adds a note for actingUser.
func (c *Client) AddNote(ctx context.Context, id int64, actingUser string, n NoteInput) (*Note, error) {
	var out Note
	return &out, c.do(ctx, http.MethodPost, "note", incidentPath(id, "notes"), nil, actingUser, n, &out)
}

// Healthy probes /-/healthy, which needs no token.
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "healthy", "/-/healthy", nil, "", nil, nil)
}

func incidentPath(id int64, action string) string {
	return "/api/v1/incidents/" + strconv.FormatInt(id, 10) + "/" + action
}

// Encode renders the filter as incidentd's query string.
func (f Filter) Encode() string { return f.values().Encode() }

// ProbeDelegation reads one incident on behalf of a made-up user: incidentd answers 403 when
// the token may not act for Grafana users. The read changes nothing.
func (c *Client) ProbeDelegation(ctx context.Context) error {
	q := url.Values{"limit": {"1"}}
	return c.do(ctx, http.MethodGet, "incidents", "/api/v1/incidents", q, "grafana-health-check", nil, nil)
}
