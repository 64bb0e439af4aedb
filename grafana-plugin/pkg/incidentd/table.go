package incidentd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// TablePageLimit is the largest page of incidentd's table view (view=table).
const TablePageLimit = 10000

// Table is a listing in columns: what an incidents table frame shows, one slice per column,
// row k of every slice being the k-th incident. The pointer columns are nil where the
// incident has no value.
type Table struct {
	ID           []int64
	Title        []string
	Tier         []string
	State        []string
	Team         []string
	Model        []string
	Assignee     []string
	Detected     []time.Time
	Triaged      []*time.Time
	Resolved     []*time.Time
	AlertsFiring []int64
	SLABreached  []bool
	Runbook      []*string
	// LabelNames are the labels asked for; Labels[j] is the column of label LabelNames[j].
	LabelNames []string
	Labels     [][]*string
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.ID) }

// TableRequest says what ListTable reads.
type TableRequest struct {
	Filter Filter
	// Max bounds the incidents read (the newest are kept); Truncated then says more matched.
	Max int
	// LabelNames are the labels to return as columns; incidentd sends labels only if any.
	LabelNames []string
	// Keep, when set, drops the rows it answers false for (filters incidentd cannot apply,
	// such as several tiers at once); dropped rows still count against Max.
	Keep func(tier, team, model string) bool
}

// ListTable reads the incidents matching r.Filter in incidentd's table view, in pages of up
// to TablePageLimit (one request for a typical dashboard range, where the full view needs
// one per 500), decoding each page straight into the table's columns. An incidentd without
// the table view refuses the large page limit; ListTable then reads pages of PageLimit,
// whose full incidents decode into the same columns.
func (c *Client) ListTable(ctx context.Context, r TableRequest) (t *Table, truncated bool, err error) {
	t = &Table{LabelNames: r.LabelNames, Labels: make([][]*string, len(r.LabelNames))}
	d := tableDecoder{t: t, keep: r.Keep, intern: map[string]string{}}
	pageLimit := TablePageLimit
	cursor, read := "", 0
	for {
		q := r.Filter.values()
		q.Set("view", "table")
		if len(r.LabelNames) > 0 {
			q.Set("labels", "true")
		}
		q.Set("limit", strconv.Itoa(min(pageLimit, r.Max-read)))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		data, _, err := c.roundTrip(ctx, http.MethodGet, "incidents", "/api/v1/incidents", q, "", nil)
		if err != nil {
			var e *Error
			if read == 0 && pageLimit > PageLimit && errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.HasPrefix(e.Message, "limit:") {
				pageLimit = PageLimit
				continue
			}
			return nil, false, err
		}
		pr := c.parsers.Get()
		next, n, err := d.page(pr, data)
		c.parsers.Put(pr)
		if err != nil {
			return nil, false, &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "the body is not the JSON incidentd sends; is the URL that of incidentd?", Err: fmt.Errorf("%w: %v", NotIncidentd, err)}
		}
		read += n
		if next == "" {
			return t, false, nil
		}
		if read >= r.Max {
			return t, true, nil
		}
		if next == cursor || n == 0 {
			return nil, false, &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "incidentd repeated the same cursor; stopping to avoid an endless loop"}
		}
		cursor = next
	}
}

// tableDecoder appends pages to a Table.
type tableDecoder struct {
	t    *Table
	keep func(tier, team, model string) bool
	// intern shares the strings of columns with few distinct values (tier, state, team,
	// model) instead of allocating one per row.
	intern map[string]string
	// times and strs back the pointer columns, a block at a time instead of one
	// allocation per value.
	times []time.Time
	strs  []string
}

// maxInterned bounds the intern map, so a column of all-distinct values cannot grow it
// without limit.
const maxInterned = 4096

// row is one incident while it is decoded, before it is kept or dropped.
type row struct {
	id, firing                           int64
	title, tier, state, team, model, who string
	detected, triaged, resolved          time.Time
	breached                             bool
	runbook, labelRunbook                *string
	labels                               []*string
}

// page decodes one page onto the table; it returns the next cursor and how many incidents
// the page held (kept or not). It accepts what decodePage accepts, with the same errors
// naming the field, and both the table and the full view.
func (d *tableDecoder) page(p *fastjson.Parser, data []byte) (next string, n int, err error) {
	v, err := p.ParseBytes(data)
	if err != nil {
		return "", 0, err
	}
	root, err := v.Object()
	if err != nil {
		return "", 0, fmt.Errorf("page: expected a JSON object, got %s", v.Type())
	}
	var ferr error
	root.Visit(func(key []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		switch string(key) {
		case "next_cursor":
			next, ferr = str(v, "next_cursor")
		case "incidents":
			if v.Type() == fastjson.TypeNull {
				return
			}
			arr, err := v.Array()
			if err != nil {
				ferr = fmt.Errorf("incidents: expected an array, got %s", v.Type())
				return
			}
			d.grow(len(arr))
			scratch := make([]*string, len(d.t.LabelNames))
			for i, item := range arr {
				clear(scratch)
				r := row{labels: scratch}
				if ferr = d.row(item, &r); ferr != nil {
					ferr = fmt.Errorf("incidents[%d].%w", i, ferr)
					return
				}
				d.add(&r)
			}
			n = len(arr)
		}
	})
	if ferr != nil {
		return "", 0, ferr
	}
	return next, n, nil
}

// grow makes room for n more rows, so a page of 10,000 does not regrow every column.
func (d *tableDecoder) grow(n int) {
	t := d.t
	if cap(t.ID)-len(t.ID) >= n {
		return
	}
	size := len(t.ID) + n
	t.ID = grow(t.ID, size)
	t.Title, t.Tier, t.State = grow(t.Title, size), grow(t.Tier, size), grow(t.State, size)
	t.Team, t.Model, t.Assignee = grow(t.Team, size), grow(t.Model, size), grow(t.Assignee, size)
	t.Detected, t.Triaged, t.Resolved = grow(t.Detected, size), grow(t.Triaged, size), grow(t.Resolved, size)
	t.AlertsFiring, t.SLABreached, t.Runbook = grow(t.AlertsFiring, size), grow(t.SLABreached, size), grow(t.Runbook, size)
	for j := range t.Labels {
		t.Labels[j] = grow(t.Labels[j], size)
	}
}

func grow[T any](s []T, size int) []T {
	if cap(s) >= size {
		return s
	}
	out := make([]T, len(s), size)
	copy(out, s)
	return out
}

func (d *tableDecoder) add(r *row) {
	if d.keep != nil && !d.keep(r.tier, r.team, r.model) {
		return
	}
	t := d.t
	t.ID = append(t.ID, r.id)
	t.Title = append(t.Title, r.title)
	t.Tier = append(t.Tier, r.tier)
	t.State = append(t.State, r.state)
	t.Team = append(t.Team, r.team)
	t.Model = append(t.Model, r.model)
	t.Assignee = append(t.Assignee, r.who)
	t.Detected = append(t.Detected, r.detected)
	t.Triaged = append(t.Triaged, d.timePtr(r.triaged))
	t.Resolved = append(t.Resolved, d.timePtr(r.resolved))
	t.AlertsFiring = append(t.AlertsFiring, r.firing)
	t.SLABreached = append(t.SLABreached, r.breached)
	rb := r.runbook
	if rb == nil {
		rb = r.labelRunbook
	}
	t.Runbook = append(t.Runbook, rb)
	for j := range t.Labels {
		t.Labels[j] = append(t.Labels[j], r.labels[j])
	}
}

const block = 1024

func (d *tableDecoder) timePtr(v time.Time) *time.Time {
	if v.IsZero() {
		return nil
	}
	if len(d.times) == cap(d.times) {
		d.times = make([]time.Time, 0, block)
	}
	d.times = append(d.times, v)
	return &d.times[len(d.times)-1]
}

func (d *tableDecoder) strPtr(v string) *string {
	if len(d.strs) == cap(d.strs) {
		d.strs = make([]string, 0, block)
	}
	d.strs = append(d.strs, v)
	return &d.strs[len(d.strs)-1]
}

// interned returns v's string, shared with earlier equal values.
func (d *tableDecoder) interned(v *fastjson.Value, field string) (string, error) {
	if v.Type() != fastjson.TypeString {
		return str(v, field)
	}
	b, _ := v.StringBytes()
	if s, ok := d.intern[string(b)]; ok {
		return s, nil
	}
	s := string(b)
	if len(d.intern) < maxInterned {
		d.intern[s] = s
	}
	return s, nil
}

func (d *tableDecoder) row(v *fastjson.Value, r *row) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return fmt.Errorf("incident: expected an object, got %s", v.Type())
	}
	var ferr error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		k := string(key)
		switch k {
		case "id":
			r.id, ferr = i64(v, k)
		case "title":
			r.title, ferr = str(v, k)
		case "tier":
			r.tier, ferr = d.interned(v, k)
		case "state":
			r.state, ferr = d.interned(v, k)
		case "team":
			r.team, ferr = d.interned(v, k)
		case "model":
			r.model, ferr = d.interned(v, k)
		case "assignee":
			r.who, ferr = d.interned(v, k)
		case "detected_at":
			r.detected, ferr = tm(v, k)
		case "triaged_at":
			r.triaged, ferr = tm(v, k)
		case "resolved_at":
			r.resolved, ferr = tm(v, k)
		case "alerts_firing":
			r.firing, ferr = i64(v, k)
		case "sla_breached":
			r.breached, ferr = boolean(v, k)
		case "runbook_url":
			var s string
			if s, ferr = str(v, k); ferr == nil && s != "" {
				r.runbook = d.strPtr(s)
			}
		case "labels":
			ferr = d.labels(v, r)
		}
	})
	return ferr
}

// labels picks the asked-for labels and runbook_url (the runbook of a full-view incident,
// which has no runbook_url field) out of an incident's labels.
func (d *tableDecoder) labels(v *fastjson.Value, r *row) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return fmt.Errorf("labels: expected an object of strings, got %s", v.Type())
	}
	var ferr error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		var b []byte
		switch v.Type() {
		case fastjson.TypeString:
			b, _ = v.StringBytes()
		case fastjson.TypeNull:
		default:
			ferr = fmt.Errorf("labels.%s: expected a string, got %s", key, v.Type())
			return
		}
		// Only the labels used become strings.
		var s *string
		if string(key) == "runbook_url" && len(b) > 0 {
			s = d.strPtr(string(b))
			r.labelRunbook = s
		}
		for j, name := range d.t.LabelNames {
			if name == string(key) {
				if s == nil {
					s = d.strPtr(string(b))
				}
				r.labels[j] = s
			}
		}
	})
	return ferr
}
