package incidentd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
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

	// readAt is, for each row, how many incidents were read before it (kept or not), and
	// read how many were read in all: what bounds a listing is what was read.
	readAt []int
	read   int
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
//
// A range with both ends is read as two halves, newer then older, and the first page of
// the older half is requested at once: incidentd selects and writes it (on another core,
// or behind a load balancer another replica) while the plugin decodes the newer half.
// The older page is wasted work only when the newer half alone reaches r.Max.
func (c *Client) ListTable(ctx context.Context, r TableRequest) (*Table, bool, error) {
	t := &Table{LabelNames: r.LabelNames, Labels: make([][]*string, len(r.LabelNames))}
	d := newTableDecoder(t, r.Keep)
	f := r.Filter
	mid := f.From.Add(f.To.Sub(f.From) / 2).Truncate(time.Second) // the API's times are whole seconds
	if f.From.IsZero() || f.To.IsZero() || !mid.After(f.From) || !f.To.After(mid) {
		truncated, err := c.readPages(ctx, d, r, nil, TablePageLimit)
		if err != nil {
			return nil, false, err
		}
		return t, truncated, nil
	}
	newer, older := r, r
	newer.Filter.From, older.Filter.To = mid, mid
	var (
		first      []byte
		firstErr   error
		olderLimit = TablePageLimit
		done       = make(chan struct{})
	)
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(done)
		first, firstErr = c.tablePage(octx, older, &olderLimit, r.Max, "")
	}()
	truncated, err := c.readPages(ctx, d, newer, nil, TablePageLimit)
	if err != nil || truncated {
		// The older half is not needed: the newer one failed or already holds the bound.
		cancel()
		<-done
		c.release(first)
		if err != nil {
			return nil, false, err
		}
		return t, true, nil
	}
	<-done
	if firstErr != nil {
		return nil, false, firstErr
	}
	// The bound is on the incidents read in all: t.read counts the newer half's.
	if truncated, err = c.readPages(ctx, d, older, first, olderLimit); err != nil {
		return nil, false, err
	}
	return t, truncated, nil
}

// tablePage fetches one page of r's table view, of at most want incidents. An incidentd
// without the table view refuses a limit above PageLimit: *pageLimit then drops to it.
func (c *Client) tablePage(ctx context.Context, r TableRequest, pageLimit *int, want int, cursor string) ([]byte, error) {
	for {
		q := r.Filter.values()
		q.Set("view", "table")
		if len(r.LabelNames) > 0 {
			q.Set("labels", "true")
		}
		q.Set("limit", strconv.Itoa(min(*pageLimit, want)))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		data, _, err := c.roundTrip(ctx, http.MethodGet, "incidents", "/api/v1/incidents", q, "", nil)
		var e *Error
		if err != nil && *pageLimit > PageLimit && want > PageLimit && errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.HasPrefix(e.Message, "limit:") {
			*pageLimit = PageLimit
			continue
		}
		return data, err
	}
}

// readPages decodes r's pages into d — the first one already fetched when first is not
// nil — until r's incidents are exhausted (truncated false) or d's table has read r.Max
// incidents in all (truncated true if more matched).
func (c *Client) readPages(ctx context.Context, d *tableDecoder, r TableRequest, first []byte, pageLimit int) (truncated bool, err error) {
	t := d.t
	cursor, data := "", first
	for {
		if t.read >= r.Max {
			c.release(data)
			return true, nil
		}
		if data == nil {
			if data, err = c.tablePage(ctx, r, &pageLimit, r.Max-t.read, cursor); err != nil {
				return false, err
			}
		}
		next, n, err := d.page(data)
		c.release(data) // the table holds copies of what it keeps
		data = nil
		if err != nil {
			return false, &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "the body is not the JSON incidentd sends; is the URL that of incidentd?", Err: fmt.Errorf("%w: %v", NotIncidentd, err)}
		}
		if t.read > r.Max {
			// A page fetched ahead, before the bound was known, read past it.
			t.cut(r.Max)
			return true, nil
		}
		if next == "" {
			return false, nil
		}
		if next == cursor || n == 0 {
			return false, &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "incidentd repeated the same cursor; stopping to avoid an endless loop"}
		}
		cursor = next
	}
}

// cut keeps the rows read among the first max incidents.
func (t *Table) cut(max int) {
	n, _ := slices.BinarySearch(t.readAt, max)
	t.truncate(n, max)
}

// truncate keeps the first n rows, of which read were read.
func (t *Table) truncate(n, read int) {
	t.ID, t.Title, t.Tier, t.State = t.ID[:n], t.Title[:n], t.Tier[:n], t.State[:n]
	t.Team, t.Model, t.Assignee = t.Team[:n], t.Model[:n], t.Assignee[:n]
	t.Detected, t.Triaged, t.Resolved = t.Detected[:n], t.Triaged[:n], t.Resolved[:n]
	t.AlertsFiring, t.SLABreached, t.Runbook, t.readAt = t.AlertsFiring[:n], t.SLABreached[:n], t.Runbook[:n], t.readAt[:n]
	for j := range t.Labels {
		t.Labels[j] = t.Labels[j][:n]
	}
	t.read = read
}

// tableDecoder appends pages to a Table.
type tableDecoder struct {
	t    *Table
	keep func(tier, team, model string) bool
	// intern shares the strings of columns with few distinct values (tier, state, team,
	// model, assignee, runbook, label values) instead of allocating one per row.
	intern map[string]string
	// times and strs back the pointer columns, a block at a time instead of one
	// allocation per value.
	times []time.Time
	strs  []string
	// text collects a page's titles, which become substrings of one string at the end
	// of the page: one allocation per page instead of one per title.
	text   []byte
	titles []int // end offset in text of each kept row's title
	// labels is the scratch space of the row being read.
	labels []*string
	sc     scanner
}

func newTableDecoder(t *Table, keep func(tier, team, model string) bool) *tableDecoder {
	return &tableDecoder{t: t, keep: keep, intern: map[string]string{}, labels: make([]*string, len(t.LabelNames))}
}

// maxInterned bounds the intern map, so a column of all-distinct values cannot grow it
// without limit.
const maxInterned = 4096

// row is one incident while it is decoded, before it is kept or dropped.
type row struct {
	id, firing                    int64
	titleAt                       int // where the title starts in tableDecoder.text
	tier, state, team, model, who string
	detected, triaged, resolved   time.Time
	breached                      bool
	runbook, labelRunbook         *string
	labels                        []*string
}

// page decodes one page onto the table; it returns the next cursor and how many incidents
// the page held (kept or not). It accepts both the table and the full view, a page
// decodePage accepts, and reports errors naming the field like it.
func (d *tableDecoder) page(data []byte) (next string, n int, err error) {
	s := &d.sc
	*s = scanner{b: data}
	d.text, d.titles = d.text[:0], d.titles[:0]
	first, readBefore := d.t.Len(), d.t.read
	if c := s.peek(); c != '{' {
		if c == 0 {
			return "", 0, errEnd
		}
		if err := s.skip(0); err != nil {
			return "", 0, err
		}
		return "", 0, fmt.Errorf("page: expected a JSON object, got %s", typeName(c))
	}
	err = s.object(func(key []byte) error {
		switch string(key) {
		case "next_cursor":
			b, err := s.str("next_cursor")
			next = string(b)
			return err
		case "incidents":
			switch c := s.peek(); c {
			case 'n':
				return s.literal("null")
			case '[':
			default:
				if err := s.skip(0); err != nil {
					return err
				}
				return fmt.Errorf("incidents: expected an array, got %s", typeName(c))
			}
			// A repeated key replaces the incidents read so far, as with encoding/json.
			d.t.truncate(first, readBefore)
			d.text, d.titles, n = d.text[:0], d.titles[:0], 0
			// Room for every incident of the page at once: one object each, plus labels.
			d.grow(bytes.Count(data, []byte{'{'}))
			return s.array(func(k int) error {
				clear(d.labels)
				r := row{labels: d.labels, titleAt: len(d.text)}
				if err := d.row(&r); err != nil {
					return fmt.Errorf("incidents[%d].%w", k, err)
				}
				d.add(&r)
				d.t.read++
				n = k + 1
				return nil
			})
		default:
			return s.skip(0)
		}
	})
	if err != nil {
		return "", 0, err
	}
	if s.ws(); s.i != len(s.b) {
		return "", 0, s.syntax("unexpected data after the page")
	}
	// The titles of this page's rows, as substrings of one string.
	all := string(d.text)
	start := 0
	for k, end := range d.titles {
		d.t.Title[first+k] = all[start:end]
		start = end
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
	t.readAt = grow(t.readAt, size)
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
		d.text = d.text[:r.titleAt]
		return
	}
	t := d.t
	t.readAt = append(t.readAt, t.read)
	t.ID = append(t.ID, r.id)
	d.titles = append(d.titles, len(d.text))
	t.Title = append(t.Title, "") // set at the end of the page
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

// interned returns b as a string shared with earlier equal values.
func (d *tableDecoder) interned(b []byte) string {
	if len(b) == 0 {
		return "" // an unassigned incident, mostly
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < maxInterned {
		d.intern[s] = s
	}
	return s
}

func (d *tableDecoder) row(r *row) error {
	s := &d.sc
	switch c := s.peek(); c {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		if err := s.skip(0); err != nil {
			return err
		}
		return fmt.Errorf("incident: expected an object, got %s", typeName(c))
	}
	return s.object(func(key []byte) error {
		var err error
		var b []byte
		switch string(key) {
		case "id":
			r.id, err = s.i64("id")
		case "title":
			// Copied at once: the bytes may be the scanner's buffer. A later duplicate
			// key replaces it, as with encoding/json.
			b, err = s.str("title")
			d.text = append(d.text[:r.titleAt], b...)
		case "tier":
			b, err = s.str("tier")
			r.tier = d.interned(b)
		case "state":
			b, err = s.str("state")
			r.state = d.interned(b)
		case "team":
			b, err = s.str("team")
			r.team = d.interned(b)
		case "model":
			b, err = s.str("model")
			r.model = d.interned(b)
		case "assignee":
			b, err = s.str("assignee")
			r.who = d.interned(b)
		case "detected_at":
			r.detected, err = s.time("detected_at")
		case "triaged_at":
			r.triaged, err = s.time("triaged_at")
		case "resolved_at":
			r.resolved, err = s.time("resolved_at")
		case "alerts_firing":
			r.firing, err = s.i64("alerts_firing")
		case "sla_breached":
			r.breached, err = s.boolean("sla_breached")
		case "runbook_url":
			// A later duplicate key wins, as with encoding/json.
			if b, err = s.str("runbook_url"); len(b) > 0 {
				r.runbook = d.strPtr(d.interned(b))
			} else {
				r.runbook = nil
			}
		case "labels":
			err = d.labelsOf(r)
		default:
			err = s.skip(0)
		}
		return err
	})
}

// labelsOf picks the asked-for labels and runbook_url (the runbook of a full-view
// incident, which has no runbook_url field) out of an incident's labels.
func (d *tableDecoder) labelsOf(r *row) error {
	s := &d.sc
	switch c := s.peek(); c {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		if err := s.skip(0); err != nil {
			return err
		}
		return fmt.Errorf("labels: expected an object of strings, got %s", typeName(c))
	}
	// A labels object replaces an earlier one, as with encoding/json.
	r.labelRunbook = nil
	clear(r.labels)
	return s.object(func(key []byte) error {
		var b []byte
		switch c := s.peek(); c {
		case '"':
			var err error
			if b, err = s.stringBytes(); err != nil {
				return err
			}
		case 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			name := string(key) // skipping may read other keys into the same buffer
			if err := s.skip(0); err != nil {
				return err
			}
			return fmt.Errorf("labels.%s: expected a string, got %s", name, typeName(c))
		}
		// Only the labels used become strings.
		var v *string
		if string(key) == "runbook_url" {
			r.labelRunbook = nil
			if len(b) > 0 {
				v = d.strPtr(d.interned(b))
				r.labelRunbook = v
			}
		}
		for j, name := range d.t.LabelNames {
			if name == string(key) {
				if v == nil {
					v = d.strPtr(d.interned(b))
				}
				r.labels[j] = v
			}
		}
		return nil
	})
}
