package incidentd

import (
	"bytes"
	"cmp"
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

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/valyala/fastjson"
)

// TablePageLimit is the largest page of incidentd's table view (view=table).
const TablePageLimit = 10000

// maxNamedLabels is how many labels the table view names at most (label=…); past that the
// plugin asks for all of them (labels=true).
const maxNamedLabels = 100

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
		q := r.Filter.Values()
		q.Set("view", "table")
		// Only the labels shown as columns: the others are often most of a label set.
		if len(r.LabelNames) > maxNamedLabels {
			q.Set("labels", "true")
		} else {
			for _, n := range r.LabelNames {
				q.Add("label", n)
			}
		}
		q.Set("limit", strconv.Itoa(min(*pageLimit, want)))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		data, _, err := c.Raw(ctx, http.MethodGet, "incidents", "/api/v1/incidents", q, "", nil)
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

func repeatedCursor() error { return incidentapi.ErrRepeatedCursor }

// decodePage decodes a fetched page into d and gives its buffer back.
func (c *Client) decodePage(d *tableDecoder, data []byte) (next string, n int, err error) {
	next, n, err = d.page(data)
	c.Release(data) // the table holds copies of what it keeps
	if err != nil {
		// The message is what the user sees: it names the place in the page.
		return "", 0, &Error{Status: http.StatusOK, Path: "/api/v1/incidents", Message: "the body is not the JSON incidentd sends (" + err.Error() + "); is the URL that of incidentd?", Err: fmt.Errorf("%w: %v", ErrNotIncidentd, err)}
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
	// at is, for each column the plugin reads, its position in the current page's rows;
	// -1 for labels when no label is asked for.
	at [numColumns]int
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

// The columns of the table view the plugin reads. incidentd may send them in any order
// and add others; a page names its columns, and each row holds one value per column.
const (
	colID = iota
	colTitle
	colTier
	colState
	colTeam
	colModel
	colAssignee
	colDetected
	colTriaged
	colResolved
	colFiring
	colBreached
	colRunbook
	colLabels // sent only when labels are asked for
	numColumns
)

// columnNames names the columns above, as in a page's "columns".
var columnNames = [numColumns]string{"id", "title", "tier", "state", "team", "model", "assignee",
	"detected_at", "triaged_at", "resolved_at", "alerts_firing", "sla_breached", "runbook_url", "labels"}

// row is one incident while it is decoded, before it is kept or dropped.
type row struct {
	id, firing                    int64
	titleAt                       int // where the title starts in tableDecoder.text
	tier, state, team, model, who string
	detected                      time.Time
	triaged, resolved             *time.Time
	breached                      bool
	runbook                       *string
	labels                        []*string
}

// few returns the field of r that column c, one of few distinct values, fills.
func (r *row) few(c int) *string {
	switch c {
	case colTier:
		return &r.tier
	case colState:
		return &r.state
	case colTeam:
		return &r.team
	case colModel:
		return &r.model
	}
	return &r.who // colAssignee
}

// page decodes one page onto the table; it returns the next cursor and how many incidents
// the page held (kept or not). A page is the table view's, {"columns":[…],"rows":[[…],…]},
// or the full view's, {"incidents":[{…},…]}, which an incidentd without the table view
// sends; errors name the place in the page.
//
// What it accepts is JSON by encoding/json's rules, and its strings are encoding/json's:
// fastjson's parser is lenient where encoding/json is not (raw control characters and
// unknown escapes in strings, leading zeros, NaN), so the page is also validated — after
// parsing, which bounds the nesting the validator recurses into; and where fastjson keeps
// invalid UTF-8 and half surrogate pairs, encoding/json reads U+FFFD (see jsonString and
// loneSurrogate). incidentd writes none of these; other servers might.
func (d *tableDecoder) page(data []byte) (next string, n int, err error) {
	v, err := d.parse(data)
	if err != nil {
		return "", 0, err
	}
	root, err := v.Object()
	if err != nil {
		return "", 0, fmt.Errorf("page: expected a JSON object, got %s", v.Type())
	}
	// A later duplicate key replaces an earlier one, as with encoding/json.
	var columns, rows, incidents, cursor *fastjson.Value
	root.Visit(func(key []byte, v *fastjson.Value) {
		switch string(key) {
		case "columns":
			columns = v
		case "rows":
			rows = v
		case "incidents":
			incidents = v
		case "next_cursor":
			cursor = v
		}
	})
	if cursor != nil && cursor.Type() != fastjson.TypeNull {
		if cursor.Type() != fastjson.TypeString {
			return "", 0, fmt.Errorf("next_cursor: expected a string, got %s", cursor.Type())
		}
		next = string(d.jsonString(cursor))
	}
	if columns == nil && rows == nil {
		n, err = d.incidents(incidents)
	} else {
		n, err = d.rows(columns, rows)
	}
	if err != nil {
		return "", 0, err
	}
	return next, n, nil
}

// parse parses a page with d's parser and holds it to encoding/json's rules (see page).
func (d *tableDecoder) parse(data []byte) (*fastjson.Value, error) {
	if d.p == nil {
		d.p = new(fastjson.Parser)
	}
	v, err := d.p.ParseBytes(data)
	if err != nil {
		return nil, err
	}
	if err := fastjson.ValidateBytes(data); err != nil {
		return nil, err
	}
	if hasControl(bytes.Trim(data, " \t\r\n")) {
		// fastjson's validator misses control characters in a string before its last
		// escape; encoding/json's finds them. incidentd writes compact JSON and a newline,
		// which has none inside: this is the path of other servers' pretty-printed pages.
		var raw json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("cannot parse JSON: %w", err)
		}
	}
	if at := loneSurrogate(data, 0); at >= 0 {
		// Rare: parse again a copy where each half pair reads \ufffd.
		fixed := slices.Clone(data)
		for ; at >= 0; at = loneSurrogate(fixed, at+6) {
			copy(fixed[at+2:], "fffd")
		}
		if v, err = d.p.ParseBytes(fixed); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// columns finds the columns the plugin reads among a page's columns; it returns how many
// the page has, the length of each row.
func (d *tableDecoder) columns(v *fastjson.Value) (int, error) {
	if v == nil {
		return 0, errors.New(`columns: missing; a page of rows must name its columns`)
	}
	if v.Type() != fastjson.TypeArray {
		return 0, fmt.Errorf("columns: expected an array of column names, got %s", v.Type())
	}
	names, _ := v.Array()
	for c := range d.at {
		d.at[c] = -1
	}
	for k, v := range names {
		if v.Type() != fastjson.TypeString {
			return 0, fmt.Errorf("columns[%d]: expected a column name, got %s", k, v.Type())
		}
		name := d.jsonString(v)
		c := slices.Index(columnNames[:], string(name))
		if c < 0 {
			continue // a column of a newer incidentd
		}
		if d.at[c] >= 0 {
			return 0, fmt.Errorf("columns[%d]: %q appears twice (also columns[%d])", k, name, d.at[c])
		}
		d.at[c] = k
	}
	need := numColumns
	if len(d.t.LabelNames) == 0 {
		need, d.at[colLabels] = colLabels, -1 // not asked for: not read
	}
	for c := range need {
		if d.at[c] < 0 {
			return 0, fmt.Errorf("columns: missing %q", columnNames[c])
		}
	}
	return len(names), nil
}

// rows decodes a page of the table view.
func (d *tableDecoder) rows(columns, rows *fastjson.Value) (int, error) {
	width, err := d.columns(columns)
	if err != nil {
		return 0, err
	}
	if rows == nil {
		return 0, errors.New("rows: missing")
	}
	if rows.Type() != fastjson.TypeArray {
		return 0, fmt.Errorf("rows: expected an array, got %s", rows.Type())
	}
	list, _ := rows.Array()
	d.text, d.titles = d.text[:0], d.titles[:0]
	first := d.t.Len()
	d.grow(len(list))
	for k, v := range list {
		if v.Type() != fastjson.TypeArray {
			return 0, fmt.Errorf("rows[%d]: expected an array of %d values, one per column, got %s", k, width, v.Type())
		}
		cells, _ := v.Array()
		if len(cells) != width {
			return 0, fmt.Errorf("rows[%d]: expected %d values, one per column, got %d", k, width, len(cells))
		}
		clear(d.labels)
		r := row{labels: d.labels, titleAt: len(d.text)}
		if c, err := d.row(cells, &r); err != nil {
			return 0, fmt.Errorf("rows[%d][%d] (%s): %w", k, d.at[c], columnNames[c], err)
		}
		if d.add(&r, "") {
			d.titles = append(d.titles, len(d.text))
		} else {
			d.text = d.text[:r.titleAt]
		}
		d.t.read++
	}
	// The titles of this page's rows, as substrings of one string.
	all := string(d.text)
	start := 0
	for k, end := range d.titles {
		d.t.Title[first+k] = all[start:end]
		start = end
	}
	return len(list), nil
}

// row reads the cells of one row; on error it returns the column at fault.
func (d *tableDecoder) row(cells []*fastjson.Value, r *row) (col int, err error) {
	for c, at := range d.at {
		if at < 0 {
			continue
		}
		v := cells[at]
		var b []byte
		switch c {
		case colID:
			r.id, err = cellInt(v, "an integer")
		case colTitle:
			// Copied at once: the bytes are the parser's.
			b, err = d.str(v)
			d.text = append(d.text, b...)
		case colTier, colState, colTeam, colModel, colAssignee:
			b, err = d.str(v)
			*r.few(c) = d.interned(b)
		case colDetected:
			var ms int64
			ms, err = cellInt(v, "an integer number of milliseconds")
			r.detected = time.UnixMilli(ms).UTC()
		case colTriaged:
			r.triaged, err = d.optTime(v)
		case colResolved:
			r.resolved, err = d.optTime(v)
		case colFiring:
			r.firing, err = cellInt(v, "an integer")
		case colBreached:
			r.breached, err = cellBool(v)
		case colRunbook:
			r.runbook, err = d.optStr(v)
		case colLabels:
			err = d.labelsOf(v, r.labels)
		}
		if err != nil {
			return c, err
		}
	}
	return 0, nil
}

// incidents decodes a page of the full view (v nil: none), which an incidentd without
// the table view sends: through decodePage's decoding of incidents, then into columns.
// It is the slow path of old servers, and keeps none of the table view's economies.
func (d *tableDecoder) incidents(v *fastjson.Value) (int, error) {
	if v == nil {
		return 0, nil
	}
	incidents, err := decodeIncidents(v)
	if err != nil {
		return 0, err
	}
	d.grow(len(incidents))
	for k := range incidents {
		in := &incidents[k]
		// decodePage keeps fastjson's bytes; the table reads strings as encoding/json does.
		r := row{id: in.ID, firing: int64(in.AlertsFiring), tier: jsonText(string(in.Tier)), state: jsonText(string(in.State)), team: jsonText(in.Team),
			model: jsonText(in.Model), who: jsonText(in.Assignee), detected: in.DetectedAt, breached: in.SLABreached, labels: d.labels}
		if !in.TriagedAt.IsZero() {
			r.triaged = d.timePtr(in.TriagedAt)
		}
		if !in.ResolvedAt.IsZero() {
			r.resolved = d.timePtr(in.ResolvedAt)
		}
		// An incidentd older than the incident's runbook_url field had only the label.
		if rb := cmp.Or(in.RunbookURL, in.Labels["runbook_url"]); rb != "" {
			r.runbook = d.strPtr(jsonText(rb))
		}
		for j, name := range d.t.LabelNames {
			r.labels[j] = nil
			if l, ok := in.Labels[name]; ok {
				r.labels[j] = d.strPtr(jsonText(l))
			}
		}
		d.add(&r, jsonText(in.Title))
		d.t.read++
	}
	return len(incidents), nil
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

// add appends r to the table unless d.keep drops it, and reports whether it did.
func (d *tableDecoder) add(r *row, title string) bool {
	if d.keep != nil && !d.keep(r.tier, r.team, r.model) {
		return false
	}
	t := d.t
	t.readAt = append(t.readAt, t.read)
	t.ID = append(t.ID, r.id)
	t.Title = append(t.Title, title)
	t.Tier = append(t.Tier, r.tier)
	t.State = append(t.State, r.state)
	t.Team = append(t.Team, r.team)
	t.Model = append(t.Model, r.model)
	t.Assignee = append(t.Assignee, r.who)
	t.Detected = append(t.Detected, r.detected)
	t.Triaged = append(t.Triaged, r.triaged)
	t.Resolved = append(t.Resolved, r.resolved)
	t.AlertsFiring = append(t.AlertsFiring, r.firing)
	t.SLABreached = append(t.SLABreached, r.breached)
	t.Runbook = append(t.Runbook, r.runbook)
	for j := range t.Labels {
		t.Labels[j] = append(t.Labels[j], r.labels[j])
	}
	return true
}

const block = 1024

func (d *tableDecoder) timePtr(v time.Time) *time.Time {
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

// labelsOf reads an incident's labels, keeping the asked-for ones in labels (nil where
// the incident has no such label).
func (d *tableDecoder) labelsOf(v *fastjson.Value, labels []*string) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("expected an object of strings, got %s", v.Type())
	}
	o, _ := v.Object()
	var err error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		if v.Type() != fastjson.TypeString {
			err = fmt.Errorf("%q: expected a string, got %s", key, v.Type())
			return
		}
		// Only the labels used become strings; a later duplicate key replaces an earlier
		// one, as with encoding/json.
		var s *string
		for j, name := range d.t.LabelNames {
			if name == string(key) || !utf8.Valid(key) && name == jsonText(string(key)) {
				if s == nil {
					s = d.strPtr(d.interned(d.jsonString(v)))
				}
				labels[j] = s
			}
		}
	})
	return err
}

// The cell readers below follow the table view's contract: each value has one JSON type,
// null only where the contract allows it ("not reached", "none"). Their errors say what
// was expected and what came. Their bytes are the parser's (or d.utf8): valid until the
// next value is read.

func (d *tableDecoder) str(v *fastjson.Value) ([]byte, error) {
	if v.Type() != fastjson.TypeString {
		return nil, fmt.Errorf("expected a string, got %s", v.Type())
	}
	return d.jsonString(v), nil
}

// optStr reads a string or null; the empty string reads as null too, as a link to
// nowhere is no link.
func (d *tableDecoder) optStr(v *fastjson.Value) (*string, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, nil
	case fastjson.TypeString:
		if b := d.jsonString(v); len(b) > 0 {
			return d.strPtr(d.interned(b)), nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("expected a string or null, got %s", v.Type())
}

// optTime reads integer Unix milliseconds, or null for a time not reached.
func (d *tableDecoder) optTime(v *fastjson.Value) (*time.Time, error) {
	if v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	ms, err := cellInt(v, "an integer number of milliseconds or null")
	if err != nil {
		return nil, err
	}
	return d.timePtr(time.UnixMilli(ms).UTC()), nil
}

// cellInt reads an integer that fits an int64; what names what was expected.
func cellInt(v *fastjson.Value, what string) (int64, error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, fmt.Errorf("expected %s, got %s", what, v.Type())
	}
	n, err := v.Int64()
	if err != nil {
		return 0, fmt.Errorf("expected %s, got %s", what, v)
	}
	return n, nil
}

func cellBool(v *fastjson.Value) (bool, error) {
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, nil
	case fastjson.TypeFalse:
		return false, nil
	}
	return false, fmt.Errorf("expected true or false, got %s", v.Type())
}

// jsonString returns the string v holds as encoding/json reads it: fastjson keeps bytes
// that are not UTF-8, which encoding/json replaces one by one with U+FFFD.
func (d *tableDecoder) jsonString(v *fastjson.Value) []byte {
	b, _ := v.StringBytes()
	if utf8.Valid(b) {
		return b
	}
	d.utf8 = appendJSONText(d.utf8[:0], b)
	return d.utf8
}

// jsonText is jsonString for a string decodePage read.
func jsonText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendJSONText(nil, []byte(s)))
}

// appendJSONText appends b with each byte that is not part of valid UTF-8 replaced by
// U+FFFD, as encoding/json reads a string.
func appendJSONText(dst, b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return dst
}
