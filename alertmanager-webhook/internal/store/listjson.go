package store

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Wire is the page as the API's type: what AppendJSON writes, for the encoders that take
// a value (its labels are nil where the listing kept them raw).
func (p *Page) Wire() incidentapi.Page {
	w := incidentapi.Page{Incidents: make([]incidentapi.Incident, len(p.Incidents)), NextCursor: p.NextCursor}
	for i := range p.Incidents {
		w.Incidents[i] = p.Incidents[i].Incident
	}
	return w
}

// AppendJSON appends the page as encoding/json would encode it (plus the newline a
// json.Encoder writes), without reflection: listing pages of 500 incidents spent as much
// time in reflective encoding as in SQLite. The incident JSON tests check the bytes are the
// same as json.Marshal's.
func (p *Page) AppendJSON(b []byte) []byte {
	b = append(b, `{"incidents":[`...)
	for k := range p.Incidents {
		if k > 0 {
			b = append(b, ',')
		}
		b = p.Incidents[k].AppendJSON(b)
	}
	b = append(b, ']')
	if p.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendString(b, p.NextCursor)
	}
	return append(b, "}\n"...)
}

// AppendJSON appends the incident's JSON, byte for byte what json.Marshal gives.
func (i *Incident) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i.ID, 10)
	b = appendField(b, "group_key", i.GroupKey)
	b = appendField(b, "title", i.Title)
	b = appendField(b, "summary", i.Summary)
	b = appendField(b, "tier", string(i.Tier))
	b = appendField(b, "alert_tier", string(i.AlertTier))
	b = appendField(b, "team", i.Team)
	b = appendField(b, "model", i.Model)
	b = append(b, `,"labels":`...)
	if i.labelsJSON != nil {
		b = append(b, i.labelsJSON...)
	} else {
		l, _ := json.Marshal(i.Labels) // a map[string]string always encodes
		b = append(b, l...)
	}
	if i.RunbookURL != "" {
		b = appendField(b, "runbook_url", i.RunbookURL)
	}
	b = appendField(b, "state", string(i.State))
	b = appendField(b, "assignee", i.Assignee)
	b = appendTime(b, "detected_at", i.DetectedAt, false)
	b = appendTime(b, "triaged_at", i.TriagedAt, true)
	b = appendTime(b, "contained_at", i.ContainedAt, true)
	b = appendTime(b, "investigating_at", i.InvestigAt, true)
	b = appendTime(b, "resolved_at", i.ResolvedAt, true)
	b = appendTime(b, "reviewed_at", i.ReviewedAt, true)
	if i.ResolvedBy != "" {
		b = appendField(b, "resolved_by", i.ResolvedBy)
	}
	b = append(b, `,"alerts_firing":`...)
	b = strconv.AppendInt(b, int64(i.AlertsFiring), 10)
	b = append(b, `,"alerts_total":`...)
	b = strconv.AppendInt(b, int64(i.AlertsTotal), 10)
	b = append(b, `,"reopen_count":`...)
	b = strconv.AppendInt(b, int64(i.ReopenCount), 10)
	b = appendTime(b, "created_at", i.CreatedAt, false)
	b = appendTime(b, "updated_at", i.UpdatedAt, false)
	if i.MTTASeconds != 0 {
		b = append(b, `,"mtta_seconds":`...)
		b = appendFloat(b, i.MTTASeconds)
	}
	if i.MTTRSeconds != 0 {
		b = append(b, `,"mttr_seconds":`...)
		b = appendFloat(b, i.MTTRSeconds)
	}
	b = append(b, `,"sla_breached":`...)
	b = strconv.AppendBool(b, i.SLABreached)
	return append(b, '}')
}

func appendField[S ~string | ~[]byte](b []byte, name string, v S) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString quotes plain ASCII directly and leaves anything encoding/json escapes
// (quotes, backslashes, control characters, <, >, &, non-ASCII) to encoding/json.
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(string(s)) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendTime(b []byte, name string, t time.Time, omitZero bool) []byte {
	if omitZero && t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	// Stored times are int64 nanoseconds (years 1678–2262), always within RFC 3339's range.
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat formats like encoding/json: shortest representation, exponent only for
// very small or very large magnitudes.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...) // unreachable for durations; json.Marshal would fail
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// MaxTablePageSize bounds a page of the table view. Its rows are about a sixth of a full
// incident, and a dashboard's table wants a whole range at once: 10,000 incidents in one
// request instead of 20 pages of 500 (each page a query, a response and a client parse).
const MaxTablePageSize = 10000

// tableCols are the database columns the table view reads, in the order of its columns
// (sla_breached is computed); the labels are read only when asked for.
const tableCols = `id, title, tier, state, team, model, assignee, detected_at, triaged_at, resolved_at, alerts_firing, runbook_url`

// TableColumns are the columns of the table view, in the order of each row's values; with
// labels, a last column LabelsColumn holds each incident's labels as an object. The times
// (detected_at, triaged_at, resolved_at) are integer Unix milliseconds, triaged_at and
// resolved_at null until reached; runbook_url is the incident's runbook (Incident.RunbookURL)
// or null.
var TableColumns = []string{"id", "title", "tier", "state", "team", "model", "assignee",
	"detected_at", "triaged_at", "resolved_at", "alerts_firing", "sla_breached", "runbook_url"}

// LabelsColumn is the table view's column of labels, last and only when asked for.
const LabelsColumn = "labels"

// MaxTableLabels bounds how many labels a table view names (TableLabels.Names).
const MaxTableLabels = 100

// TableLabels says what the table view's labels column holds: every label (All), only
// the labels named (Names: those an incident has), or, with neither, there is no column.
// A table shows a few labels as columns; naming them leaves the others, often most of a
// label set, out of the response.
type TableLabels struct {
	All   bool
	Names []string
}

func (l TableLabels) column() bool { return l.All || len(l.Names) > 0 }

// AppendTable appends to b the page of incidents matching f in the table view, plus a
// newline:
//
//	{"columns":[TableColumns…],"rows":[[42,"title","P1",…],…],"next_cursor":"…"}
//
// each row an incident's values in the columns' order. The labels are a last column only
// when labels asks for them. Pages hold up to MaxTablePageSize incidents and share List's order and
// cursors; next_cursor is absent on the last page.
//
// The view is compact because its reader is a table: a header of names instead of keys
// repeated in every row, and times as integers, not RFC 3339 text that both sides format
// and parse three times per row (milliseconds, exact in a JavaScript number, unlike
// nanoseconds). Rows go from the database straight into b: no Incident is built, the
// driver's values are read without database/sql's conversions, and the stored labels are
// copied as the JSON they already are.
func (s *DB) AppendTable(ctx context.Context, f Filter, labels TableLabels, b []byte) ([]byte, error) {
	start := time.Now()
	defer func() { s.observe("list", time.Since(start)) }()
	withLabels := labels.column()
	cols, ncols := tableCols, 12
	if withLabels {
		cols, ncols = tableCols+", labels", 13
	}
	// The named labels' keys as the store wrote them (json.Marshal of the label set), each
	// with its colon: what labelValue looks for.
	keys := make([]string, 0, len(labels.Names))
	if !labels.All {
		for _, n := range labels.Names {
			keys = append(keys, string(appendString(nil, n))+":")
		}
	}
	q, args, err := s.listQuery(&f, cols, MaxTablePageSize)
	if err != nil {
		return b, err
	}
	var (
		lastDet, lastID int64
		n               int
		more            bool
	)
	now := s.now()
	sla := s.config(ctx).SLA
	b = append(b, `{"columns":[`...)
	for k, c := range TableColumns {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c)
	}
	if withLabels {
		b = append(b, `,"`+LabelsColumn+`"`...)
	}
	b = append(b, `],"rows":[`...)
	err = s.eachRow(ctx, q, args, ncols, func(v []driver.Value) (bool, error) {
		if n == f.Limit {
			more = true
			return false, nil
		}
		id, det, tri, res, firing := asInt(v[0]), asInt(v[7]), asInt(v[8]), asInt(v[9]), asInt(v[10])
		tier := asString(v[2])
		var lb string
		if withLabels {
			if lb = asString(v[12]); lb == "null" || lb == "" {
				lb = "{}"
			} else if labels.All && !json.Valid([]byte(lb)) {
				// Labels copied into the response must be JSON.
				return false, fmt.Errorf("incident %d labels: stored value is not JSON", id)
			}
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		lastDet, lastID = det, id
		b = append(b, '[')
		b = strconv.AppendInt(b, id, 10)
		for _, c := range v[1:7] { // title, tier, state, team, model, assignee
			b = append(b, ',')
			b = appendString(b, asString(c))
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, fromNanos(det).UnixMilli(), 10)
		b = appendMillis(b, tri)
		b = appendMillis(b, res)
		b = append(b, ',')
		b = strconv.AppendInt(b, firing, 10)
		b = append(b, ',')
		b = strconv.AppendBool(b, sla.Breached(incident.Tier(tier), fromNanos(det), fromNanos(tri), now))
		b = append(b, ',')
		if rb := asString(v[11]); rb != "" {
			b = appendString(b, rb)
		} else {
			b = append(b, "null"...)
		}
		switch {
		case labels.All:
			b = append(b, ',')
			b = append(b, lb...)
		case withLabels:
			b = append(b, ",{"...)
			first := true
			for _, k := range keys {
				val := labelValue(lb, k)
				if val == "" {
					continue
				}
				if !json.Valid([]byte(val)) {
					return false, fmt.Errorf("incident %d labels: stored value is not JSON", id)
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				b = append(b, k...)
				b = append(b, val...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
		return true, nil
	})
	if err != nil {
		return b, s.unavailable(err)
	}
	b = append(b, ']')
	if more {
		b = append(b, `,"next_cursor":`...)
		b = appendString(b, encodeCursor(lastDet, lastID))
	}
	return append(b, "}\n"...), nil
}

// appendMillis appends a comma and a stored time (integer nanoseconds, 0 for none) as
// integer Unix milliseconds, or null.
func appendMillis(b []byte, n int64) []byte {
	b = append(b, ',')
	if n == 0 {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, fromNanos(n).UnixMilli(), 10)
}

// eachRow runs q and calls row with each row's values (int64, string or []byte, nil) until
// it answers false. It reads through the driver directly when it can: database/sql's
// locking and conversions per row were a seventh of the table view's cost. The values are
// only valid during the call.
func (s *DB) eachRow(ctx context.Context, q string, args []any, cols int, row func(v []driver.Value) (bool, error)) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	direct := false
	err = conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return nil
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			if n, ok := a.(int); ok {
				a = int64(n)
			}
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := qc.QueryContext(ctx, q, named)
		if errors.Is(err, driver.ErrSkip) {
			return nil
		}
		direct = true
		if err != nil {
			return err
		}
		defer rows.Close()
		v := make([]driver.Value, cols)
		for {
			if err := rows.Next(v); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if more, err := row(v); err != nil || !more {
				return err
			}
		}
	})
	if direct || err != nil {
		return err
	}
	// The driver cannot query on its own; the same through database/sql.
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	v := make([]driver.Value, cols)
	ptrs := make([]any, cols)
	for i := range v {
		ptrs[i] = &v[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if more, err := row(v); err != nil || !more {
			return err
		}
	}
	return rows.Err()
}

func asInt(v driver.Value) int64 {
	n, _ := v.(int64) // the table view's integer columns are NOT NULL integers
	return n
}

// asString returns a text value (the SQLite and PostgreSQL drivers hand text over as a
// string; a []byte is copied).
func asString(v driver.Value) string {
	switch t := v.(type) {
	case string:
		return t
	case []byte:
		return string(t)
	}
	return ""
}

// labelValue returns the JSON string token of a label in stored labels JSON (what
// json.Marshal of a map[string]string wrote), or "". key is the label's name as
// json.Marshal quotes it, with its colon: `"name":`. Inside a JSON string a quote is
// escaped, so an unescaped key after { or , can only be the label's key.
func labelValue(labels, key string) string {
	k := strings.Index(labels, key)
	if k <= 0 || (labels[k-1] != '{' && labels[k-1] != ',') {
		return ""
	}
	v := labels[k+len(key):]
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	for e := 1; e < len(v); e++ {
		switch v[e] {
		case '\\':
			e++
		case '"':
			return v[:e+1]
		}
	}
	return ""
}
