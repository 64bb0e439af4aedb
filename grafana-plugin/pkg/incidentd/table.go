package incidentd

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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
// A range with both ends is read as two halves, newer and older, at once: incidentd
// selects and writes each (on two cores, or behind a load balancer two replicas), and the
// plugin decodes each on its own core as it arrives, then appends the older rows to the
// newer. Decoding the halves one after the other left a core idle for a third of a query.
// The older half is wasted work only when the newer half alone reaches r.Max.
func (c *Client) ListTable(ctx context.Context, r TableRequest) (*Table, bool, error) {
	t := newTable(r.LabelNames)
	d := c.newTableDecoder(t, r.Keep)
	defer c.putTableParser(d.p) // the table holds copies of what it keeps
	f := r.Filter
	mid := f.From.Add(f.To.Sub(f.From) / 2).Truncate(time.Second) // the API's times are whole seconds
	if f.From.IsZero() || f.To.IsZero() || !mid.After(f.From) || !f.To.After(mid) {
		truncated, err := c.readPages(ctx, d, r, "", TablePageLimit)
		if err != nil {
			return nil, false, err
		}
		return t, truncated, nil
	}
	newer, older := r, r
	newer.Filter.From, older.Filter.To = mid, mid
	var (
		ot         = newTable(r.LabelNames)
		od         = c.newTableDecoder(ot, r.Keep)
		olderNext  string
		olderErr   error
		olderLimit = TablePageLimit
		done       = make(chan struct{})
	)
	defer c.putTableParser(od.p)
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(done)
		// Before the newer half is read, the older one may hold all of r.Max.
		var data []byte
		if data, olderErr = c.tablePage(octx, older, &olderLimit, r.Max, ""); olderErr == nil {
			olderNext, _, olderErr = c.decodePage(od, data)
		}
	}()
	truncated, err := c.readPages(ctx, d, newer, "", TablePageLimit)
	if err != nil || truncated {
		// The older half is not needed: the newer one failed or already holds the bound.
		cancel()
		<-done
		if err != nil {
			return nil, false, err
		}
		return t, true, nil
	}
	<-done
	if olderErr != nil {
		return nil, false, olderErr
	}
	// The bound is on the incidents read in all, the newer half's first.
	t.appendTable(ot)
	if t.read > r.Max {
		t.cut(r.Max)
		return t, true, nil
	}
	if olderNext == "" {
		return t, false, nil
	}
	if ot.read == 0 {
		return nil, false, repeatedCursor()
	}
	if truncated, err = c.readPages(ctx, d, older, olderNext, olderLimit); err != nil {
		return nil, false, err
	}
	return t, truncated, nil
}

func newTable(labelNames []string) *Table {
	return &Table{LabelNames: labelNames, Labels: make([][]*string, len(labelNames))}
}

// appendTable appends o's rows, read after t's.
func (t *Table) appendTable(o *Table) {
	t.ID, t.Title, t.Tier, t.State = append(t.ID, o.ID...), append(t.Title, o.Title...), append(t.Tier, o.Tier...), append(t.State, o.State...)
	t.Team, t.Model, t.Assignee = append(t.Team, o.Team...), append(t.Model, o.Model...), append(t.Assignee, o.Assignee...)
	t.Detected, t.Triaged, t.Resolved = append(t.Detected, o.Detected...), append(t.Triaged, o.Triaged...), append(t.Resolved, o.Resolved...)
	t.AlertsFiring, t.SLABreached, t.Runbook = append(t.AlertsFiring, o.AlertsFiring...), append(t.SLABreached, o.SLABreached...), append(t.Runbook, o.Runbook...)
	for j := range t.Labels {
		t.Labels[j] = append(t.Labels[j], o.Labels[j]...)
	}
	for _, at := range o.readAt {
		t.readAt = append(t.readAt, t.read+at)
	}
	t.read += o.read
}

// warmParsers is how many table parsers a client keeps between listings: the two of a
// listing read in halves, each holding the tree of a page.
const warmParsers = 2

func (c *Client) tableParser() *fastjson.Parser {
	select {
	case p := <-c.tableParsers:
		return p
	default:
		return new(fastjson.Parser)
	}
}

func (c *Client) putTableParser(p *fastjson.Parser) {
	select {
	case c.tableParsers <- p:
	default: // enough are kept
	}
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

// readPages decodes r's pages into d, from cursor on, until r's incidents are exhausted
// (truncated false) or d's table has read r.Max incidents in all (truncated true if more
// matched).
func (c *Client) readPages(ctx context.Context, d *tableDecoder, r TableRequest, cursor string, pageLimit int) (truncated bool, err error) {
	t := d.t
	for {
		if t.read >= r.Max {
			return true, nil
		}
		data, err := c.tablePage(ctx, r, &pageLimit, r.Max-t.read, cursor)
		if err != nil {
			return false, err
		}
		next, n, err := c.decodePage(d, data)
		if err != nil {
			return false, err
		}
		if t.read > r.Max {
			// A page asked for before the bound was known read past it.
			t.cut(r.Max)
			return true, nil
		}
		if next == "" {
			return false, nil
		}
		if next == cursor || n == 0 {
			return false, repeatedCursor()
		}
		cursor = next
	}
}

func repeatedCursor() error {
	return &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "incidentd repeated the same cursor; stopping to avoid an endless loop"}
}

// decodePage decodes a fetched page into d and gives its buffer back.
func (c *Client) decodePage(d *tableDecoder, data []byte) (next string, n int, err error) {
	next, n, err = d.page(data)
	c.release(data) // the table holds copies of what it keeps
	if err != nil {
		return "", 0, &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "the body is not the JSON incidentd sends; is the URL that of incidentd?", Err: fmt.Errorf("%w: %v", NotIncidentd, err)}
	}
	return next, n, nil
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
	// p reads the pages: one parser for all of a listing's pages, so its tree of values
	// is allocated once and reused (ListTable takes one of the client's warm ones).
	p *fastjson.Parser
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
	// utf8 holds a string whose invalid UTF-8 was replaced, reused.
	utf8 []byte
}

func newTableDecoder(t *Table, keep func(tier, team, model string) bool) *tableDecoder {
	return &tableDecoder{t: t, keep: keep, intern: map[string]string{}, labels: make([]*string, len(t.LabelNames))}
}

// newTableDecoder returns a decoder onto t with one of the client's warm parsers, to be
// given back with putTableParser once the listing is read.
func (c *Client) newTableDecoder(t *Table, keep func(tier, team, model string) bool) *tableDecoder {
	d := newTableDecoder(t, keep)
	d.p = c.tableParser()
	return d
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
//
// What it accepts is JSON by encoding/json's rules, and its strings are encoding/json's:
// fastjson's parser is lenient where encoding/json is not (raw control characters and
// unknown escapes in strings, leading zeros, NaN), so the page is also validated — after
// parsing, which bounds the nesting the validator recurses into; and where fastjson keeps
// invalid UTF-8 and half surrogate pairs, encoding/json reads U+FFFD (see jsonString and
// loneSurrogate). incidentd writes none of these; other servers might.
func (d *tableDecoder) page(data []byte) (next string, n int, err error) {
	if d.p == nil {
		d.p = new(fastjson.Parser)
	}
	v, err := d.p.ParseBytes(data)
	if err != nil {
		return "", 0, err
	}
	if err := fastjson.ValidateBytes(data); err != nil {
		return "", 0, err
	}
	if hasControl(bytes.Trim(data, " \t\r\n")) {
		// fastjson's validator misses control characters in a string before its last
		// escape; encoding/json's finds them. incidentd writes compact JSON and a newline,
		// which has none inside: this is the path of other servers' pretty-printed pages.
		var raw json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return "", 0, fmt.Errorf("cannot parse JSON: %w", err)
		}
	}
	if at := loneSurrogate(data, 0); at >= 0 {
		// Rare: parse again a copy where each half pair reads \ufffd.
		fixed := slices.Clone(data)
		for ; at >= 0; at = loneSurrogate(fixed, at+6) {
			copy(fixed[at+2:], "fffd")
		}
		if v, err = d.p.ParseBytes(fixed); err != nil {
			return "", 0, err
		}
	}
	root, err := v.Object()
	if err != nil {
		return "", 0, fmt.Errorf("page: expected a JSON object, got %s", v.Type())
	}
	d.text, d.titles = d.text[:0], d.titles[:0]
	first, readBefore := d.t.Len(), d.t.read
	root.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		switch string(key) {
		case "next_cursor":
			var b []byte
			b, err = d.str(v, "next_cursor")
			next = string(b)
		case "incidents":
			var rows []*fastjson.Value
			switch v.Type() {
			case fastjson.TypeNull:
				return
			case fastjson.TypeArray:
				rows, _ = v.Array()
			default:
				err = fmt.Errorf("incidents: expected an array, got %s", v.Type())
				return
			}
			// A repeated key replaces the incidents read so far, as with encoding/json.
			d.t.truncate(first, readBefore)
			d.text, d.titles, n = d.text[:0], d.titles[:0], 0
			d.grow(len(rows))
			for k, v := range rows {
				clear(d.labels)
				r := row{labels: d.labels, titleAt: len(d.text)}
				if err = d.row(v, &r); err != nil {
					err = fmt.Errorf("incidents[%d].%w", k, err)
					return
				}
				d.add(&r)
				d.t.read++
				n = k + 1
			}
		}
	})
	if err != nil {
		return "", 0, err
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

// hasControl reports whether b holds a byte below 0x20, testing 8 bytes at a time.
func hasControl(b []byte) bool {
	for ; len(b) >= 8; b = b[8:] {
		// A byte below 0x20 borrows into its top bit, which it did not have.
		if x := binary.LittleEndian.Uint64(b); (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			return true
		}
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// loneSurrogate returns the offset, from from on, of the first \u escape in the valid JSON
// b that is half a UTF-16 surrogate pair without its other half, or -1. encoding/json
// reads it as U+FFFD; fastjson keeps the six characters of the escape (or, for a high half
// before another escape, reads one U+FFFD for both).
func loneSurrogate(b []byte, from int) int {
	for i := from; ; {
		k := bytes.IndexByte(b[i:], '\\')
		if k < 0 {
			return -1
		}
		// Valid JSON: a backslash starts an escape, and \u has four hex digits.
		i += k
		if b[i+1] != 'u' {
			i += 2
			continue
		}
		r := hex4(b[i+2:])
		switch {
		case !utf16.IsSurrogate(r):
			i += 6
		case r < 0xdc00 && len(b) >= i+12 && b[i+6] == '\\' && b[i+7] == 'u' && hex4(b[i+8:]) >= 0xdc00 && hex4(b[i+8:]) <= 0xdfff:
			i += 12 // a pair
		default:
			return i
		}
	}
}

// hex4 reads the four hex digits of a \u escape that fastjson validated.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
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

func (d *tableDecoder) row(v *fastjson.Value, r *row) error {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeObject:
	default:
		return fmt.Errorf("incident: expected an object, got %s", v.Type())
	}
	o, _ := v.Object()
	var err error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		var b []byte
		// A later duplicate key replaces an earlier one, as with encoding/json.
		switch string(key) {
		case "id":
			r.id, err = i64(v, "id")
		case "title":
			// Copied at once: the bytes are the parser's.
			b, err = d.str(v, "title")
			d.text = append(d.text[:r.titleAt], b...)
		case "tier":
			b, err = d.str(v, "tier")
			r.tier = d.interned(b)
		case "state":
			b, err = d.str(v, "state")
			r.state = d.interned(b)
		case "team":
			b, err = d.str(v, "team")
			r.team = d.interned(b)
		case "model":
			b, err = d.str(v, "model")
			r.model = d.interned(b)
		case "assignee":
			b, err = d.str(v, "assignee")
			r.who = d.interned(b)
		case "detected_at":
			r.detected, err = d.time(v, "detected_at")
		case "triaged_at":
			r.triaged, err = d.time(v, "triaged_at")
		case "resolved_at":
			r.resolved, err = d.time(v, "resolved_at")
		case "alerts_firing":
			r.firing, err = i64(v, "alerts_firing")
		case "sla_breached":
			r.breached, err = boolean(v, "sla_breached")
		case "runbook_url":
			if b, err = d.str(v, "runbook_url"); len(b) > 0 {
				r.runbook = d.strPtr(d.interned(b))
			} else {
				r.runbook = nil
			}
		case "labels":
			err = d.labelsOf(v, r)
		}
	})
	return err
}

// labelsOf picks the asked-for labels and runbook_url (the runbook of a full-view
// incident, which has no runbook_url field) out of an incident's labels.
func (d *tableDecoder) labelsOf(v *fastjson.Value, r *row) error {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeObject:
	default:
		return fmt.Errorf("labels: expected an object of strings, got %s", v.Type())
	}
	o, _ := v.Object()
	// A labels object replaces an earlier one, as with encoding/json.
	r.labelRunbook = nil
	clear(r.labels)
	var err error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		var b []byte
		switch v.Type() {
		case fastjson.TypeString:
			b = d.jsonString(v)
		case fastjson.TypeNull:
		default:
			err = fmt.Errorf("labels.%s: expected a string, got %s", key, v.Type())
			return
		}
		// Only the labels used become strings.
		var s *string
		if string(key) == "runbook_url" {
			r.labelRunbook = nil
			if len(b) > 0 {
				s = d.strPtr(d.interned(b))
				r.labelRunbook = s
			}
		}
		for j, name := range d.t.LabelNames {
			if name == string(key) {
				if s == nil {
					s = d.strPtr(d.interned(b))
				}
				r.labels[j] = s
			}
		}
	})
	return err
}

// The typed readers below follow decodePage's rules: null leaves the zero value, any
// other type is an error naming the field. Their bytes are the parser's (or d.utf8):
// valid until the next value is read.

func (d *tableDecoder) str(v *fastjson.Value, field string) ([]byte, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, nil
	case fastjson.TypeString:
		return d.jsonString(v), nil
	}
	return nil, fmt.Errorf("%s: expected a string, got %s", field, v.Type())
}

// jsonString returns the string v holds as encoding/json reads it: fastjson keeps bytes
// that are not UTF-8, which encoding/json replaces one by one with U+FFFD.
func (d *tableDecoder) jsonString(v *fastjson.Value) []byte {
	b, _ := v.StringBytes()
	if utf8.Valid(b) {
		return b
	}
	d.utf8 = d.utf8[:0]
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			d.utf8 = utf8.AppendRune(d.utf8, utf8.RuneError)
		} else {
			d.utf8 = append(d.utf8, b[:size]...)
		}
		b = b[size:]
	}
	return d.utf8
}

func (d *tableDecoder) time(v *fastjson.Value, field string) (time.Time, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return time.Time{}, nil
	case fastjson.TypeString:
		b := d.jsonString(v)
		if t, ok := parseUTC(b); ok {
			return t, nil
		}
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: expected an RFC 3339 time, got %q", field, b)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: expected an RFC 3339 time, got %s", field, v.Type())
}

// parseUTC reads the form incidentd writes, 2006-01-02T15:04:05[.999999999]Z, without
// time.Parse's generality (a third of decoding a row went to it); ok is false for
// anything else, which time.Parse then reads (or refuses). Days past the 28th go to
// time.Parse too, so this never has to know month lengths.
func parseUTC(b []byte) (t time.Time, ok bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return t, false
	}
	num := func(from, to int) int {
		n := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return t, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return t, false
		}
		if nsec = num(20, len(b)-1); nsec < 0 {
			return t, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}
