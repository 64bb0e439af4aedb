package incidentd

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fastjson"
)

// contractColumns are the table view's columns in the order incidentd sends them.
var contractColumns = []string{"id", "title", "tier", "state", "team", "model", "assignee",
	"detected_at", "triaged_at", "resolved_at", "alerts_firing", "sla_breached", "runbook_url"}

// tableOf is the reference: the columns built from decodePage's incidents the way the
// plugin built them before the table view.
func tableOf(incidents []Incident, labelNames []string) *Table {
	t := &Table{LabelNames: labelNames, Labels: make([][]*string, len(labelNames))}
	opt := func(v time.Time) *time.Time {
		if v.IsZero() {
			return nil
		}
		return &v
	}
	for _, in := range incidents {
		t.ID = append(t.ID, in.ID)
		t.Title = append(t.Title, in.Title)
		t.Tier = append(t.Tier, string(in.Tier))
		t.State = append(t.State, string(in.State))
		t.Team = append(t.Team, in.Team)
		t.Model = append(t.Model, in.Model)
		t.Assignee = append(t.Assignee, in.Assignee)
		t.Detected = append(t.Detected, in.DetectedAt)
		t.Triaged = append(t.Triaged, opt(in.TriagedAt))
		t.Resolved = append(t.Resolved, opt(in.ResolvedAt))
		t.AlertsFiring = append(t.AlertsFiring, int64(in.AlertsFiring))
		t.SLABreached = append(t.SLABreached, in.SLABreached)
		var rb *string
		// The incident's runbook, or from an older incidentd the label.
		if v := cmp.Or(in.RunbookURL, in.Labels["runbook_url"]); v != "" {
			rb = &v
		}
		t.Runbook = append(t.Runbook, rb)
		for j, l := range labelNames {
			var p *string
			if v, ok := in.Labels[l]; ok {
				p = &v
			}
			t.Labels[j] = append(t.Labels[j], p)
		}
	}
	return t
}

// inMillis returns incidents with their times cut to the milliseconds the table view sends.
func inMillis(incidents []Incident) []Incident {
	out := slices.Clone(incidents)
	ms := func(t *time.Time) {
		if !t.IsZero() {
			*t = time.UnixMilli(t.UnixMilli()).UTC()
		}
	}
	for k := range out {
		ms(&out[k].DetectedAt)
		ms(&out[k].TriagedAt)
		ms(&out[k].ResolvedAt)
	}
	return out
}

// tableView writes incidents as incidentd's table view does, with encoding/json: the
// columns (in the given order; unknown names get a value of their own), then each
// incident as an array of values, times in Unix milliseconds.
func tableView(t testing.TB, incidents []Incident, columns []string, next string) []byte {
	page := struct {
		Columns    []string `json:"columns"`
		Rows       [][]any  `json:"rows"`
		NextCursor string   `json:"next_cursor,omitempty"`
	}{Columns: columns, Rows: [][]any{}, NextCursor: next}
	opt := func(v time.Time) any {
		if v.IsZero() {
			return nil
		}
		return v.UnixMilli()
	}
	for _, in := range incidents {
		row := make([]any, len(columns))
		for c, name := range columns {
			switch name {
			case "id":
				row[c] = in.ID
			case "title":
				row[c] = in.Title
			case "tier":
				row[c] = in.Tier
			case "state":
				row[c] = in.State
			case "team":
				row[c] = in.Team
			case "model":
				row[c] = in.Model
			case "assignee":
				row[c] = in.Assignee
			case "detected_at":
				row[c] = in.DetectedAt.UnixMilli()
			case "triaged_at":
				row[c] = opt(in.TriagedAt)
			case "resolved_at":
				row[c] = opt(in.ResolvedAt)
			case "alerts_firing":
				row[c] = in.AlertsFiring
			case "sla_breached":
				row[c] = in.SLABreached
			case "runbook_url":
				if rb := cmp.Or(in.RunbookURL, in.Labels["runbook_url"]); rb != "" {
					row[c] = rb
				}
			case "labels":
				row[c] = map[string]string{}
				if in.Labels != nil {
					row[c] = in.Labels
				}
			default: // a column of a newer incidentd
				row[c] = map[string]any{"name": name, "values": []any{1.5, "x", nil, true}}
			}
		}
		page.Rows = append(page.Rows, row)
	}
	b, err := json.Marshal(page)
	require.NoError(t, err)
	return b
}

func decodeTable(data []byte, labelNames []string, keep func(tier, team, model string) bool) (*Table, string, int, error) {
	t := &Table{LabelNames: labelNames, Labels: make([][]*string, len(labelNames))}
	next, n, err := newTableDecoder(t, keep).page(data)
	return t, next, n, err
}

// normalize makes empty and nil columns equal, as the frame treats them, and leaves out
// the read counts (checked on their own).
func normalize(t *Table) *Table {
	if t.Len() == 0 {
		return &Table{LabelNames: t.LabelNames, Labels: make([][]*string, len(t.LabelNames))}
	}
	c := *t
	c.readAt, c.read = nil, 0
	return &c
}

// TestDecodeTableMatchesIncidents: a page of either view, decoded into columns, gives the
// columns of the same incidents decoded by decodePage — with the labels asked for, the
// columns in any order among unknown ones, the runbook from the table view's column or
// the full view's label, times in milliseconds, and rows filtered.
func TestDecodeTableMatchesIncidents(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var p fastjson.Parser
	labelNames := []string{"alertname", "missing", "runbook_url"}
	shuffled := append([]string{"summary"}, contractColumns...)
	shuffled = append(shuffled, "labels", "mtta_seconds")
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, n := range []int{0, 1, 7, 500} {
		full := randomPage(r, n)
		page, err := decodePage(&p, full)
		require.NoError(t, err)
		for _, tc := range []struct {
			name   string
			data   []byte
			labels []string
			want   []Incident
		}{
			{"full view", full, labelNames, page.Incidents},
			{"table view", tableView(t, page.Incidents, contractColumns, page.NextCursor), nil, inMillis(page.Incidents)},
			{"table view, labels", tableView(t, page.Incidents, append(slices.Clone(contractColumns), "labels"), page.NextCursor), labelNames, inMillis(page.Incidents)},
			{"table view, labels not asked for", tableView(t, page.Incidents, append(slices.Clone(contractColumns), "labels"), page.NextCursor), nil, inMillis(page.Incidents)},
			{"table view, columns shuffled among unknown ones", tableView(t, page.Incidents, shuffled, page.NextCursor), labelNames, inMillis(page.Incidents)},
		} {
			got, next, read, err := decodeTable(tc.data, tc.labels, nil)
			require.NoError(t, err, tc.name)
			require.Equal(t, page.NextCursor, next, tc.name)
			require.Equal(t, n, read, tc.name)
			require.Equal(t, normalize(tableOf(tc.want, tc.labels)), normalize(got), "%s n=%d", tc.name, n)

			keep := func(tier, team, model string) bool { return tier == "P1" || team == "t2" }
			got, _, read, err = decodeTable(tc.data, tc.labels, keep)
			require.NoError(t, err)
			require.Equal(t, n, read, "dropped rows still count as read")
			var kept []Incident
			readAt := []int{}
			for k, in := range tc.want {
				if keep(string(in.Tier), in.Team, in.Model) {
					kept = append(kept, in)
					readAt = append(readAt, k)
				}
			}
			require.Equal(t, normalize(tableOf(kept, tc.labels)), normalize(got), "%s n=%d kept", tc.name, n)
			require.Equal(t, n, got.read)
			require.Equal(t, readAt, append([]int{}, got.readAt...), "each kept row knows how many were read before it")
		}
	}
}

// TestDecodeTablePages: pages decoded one after the other append to the table, each page's
// titles still their own.
func TestDecodeTablePages(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var p fastjson.Parser
	var all []Incident
	tab := newTable(nil)
	d := newTableDecoder(tab, nil)
	for k, n := range []int{3, 0, 5} {
		page, err := decodePage(&p, randomPage(r, n))
		require.NoError(t, err)
		for i := range page.Incidents {
			page.Incidents[i].Title = fmt.Sprintf("page %d incident %d", k, i)
		}
		all = append(all, inMillis(page.Incidents)...)
		next, read, err := d.page(tableView(t, page.Incidents, contractColumns, ""))
		require.NoError(t, err)
		require.Empty(t, next)
		require.Equal(t, n, read)
	}
	require.Equal(t, normalize(tableOf(all, nil)), normalize(tab))
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, tab.readAt)
}

func TestDecodeTable(t *testing.T) {
	const row = `[42,"Drift on fraud-v3","P1","detected","ml","fraud-v3","",1764470400123,null,null,2,false,"https://runbooks.example/x"]`
	cols, _ := json.Marshal(contractColumns)
	page := func(columns, rows string) string { return `{"columns":` + columns + `,"rows":[` + rows + `]}` }
	// withCell is the page of one row whose value in column c is v.
	withCell := func(c int, v string) string {
		var cells []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(row), &cells))
		cells[c] = json.RawMessage(v)
		b, err := json.Marshal(cells)
		require.NoError(t, err)
		return page(string(cols), string(b))
	}
	withLabels := func(labels string) string {
		return page(`["id","title","tier","state","team","model","assignee","detected_at","triaged_at","resolved_at","alerts_firing","sla_breached","runbook_url","labels"]`,
			strings.TrimSuffix(row, "]")+","+labels+"]")
	}
	without := func(name string) string {
		var cells []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(row), &cells))
		k := slices.Index(contractColumns, name)
		c, _ := json.Marshal(slices.Delete(slices.Clone(contractColumns), k, k+1))
		b, _ := json.Marshal(slices.Delete(cells, k, k+1))
		return page(string(c), string(b))
	}

	t.Run("good", func(t *testing.T) {
		got, next, n, err := decodeTable([]byte(`{"columns":["id","title","tier","state","team","model","assignee","detected_at","triaged_at","resolved_at","alerts_firing","sla_breached","runbook_url"],
 "rows":[[42,"Drift on fraud-v3","P1","detected","ml","fraud-v3","",1764470400123,null,null,2,false,"https://runbooks.example/x"],
         [41,"Latency","P3","resolved","web","chat","bob",1764470000000,1764470100000,1764470200000,0,false,null]],
 "next_cursor":"MTc2"}`), nil, nil)
		require.NoError(t, err)
		require.Equal(t, "MTc2", next)
		require.Equal(t, 2, n)
		require.Equal(t, &Table{
			ID: []int64{42, 41}, Title: []string{"Drift on fraud-v3", "Latency"}, Tier: []string{"P1", "P3"}, State: []string{"detected", "resolved"},
			Team: []string{"ml", "web"}, Model: []string{"fraud-v3", "chat"}, Assignee: []string{"", "bob"},
			Detected:     []time.Time{time.Date(2025, 11, 30, 2, 40, 0, 123e6, time.UTC), time.Date(2025, 11, 30, 2, 33, 20, 0, time.UTC)},
			Triaged:      []*time.Time{nil, ptr(time.Date(2025, 11, 30, 2, 35, 0, 0, time.UTC))},
			Resolved:     []*time.Time{nil, ptr(time.Date(2025, 11, 30, 2, 36, 40, 0, time.UTC))},
			AlertsFiring: []int64{2, 0}, SLABreached: []bool{false, false}, Runbook: []*string{ptr("https://runbooks.example/x"), nil},
			Labels: [][]*string{},
		}, normalize(got))

		got, _, _, err = decodeTable([]byte(withLabels(`{"region":"eu","a":"","region":"us"}`)), []string{"region", "a", "b", "region"}, nil)
		require.NoError(t, err)
		require.Equal(t, [][]*string{{ptr("us")}, {ptr("")}, {nil}, {ptr("us")}}, got.Labels, "the last of a repeated label, as encoding/json reads it")

		// The last page: no cursor (or null), no rows.
		for _, in := range []string{page(string(cols), ""), `{"columns":` + string(cols) + `,"rows":[],"next_cursor":null}`, `{}`, `{"incidents":null}`} {
			got, next, n, err := decodeTable([]byte(in), nil, nil)
			require.NoError(t, err, in)
			require.Zero(t, got.Len())
			require.Empty(t, next)
			require.Zero(t, n)
		}
	})

	for _, tc := range []struct {
		page, want string
		labels     bool // label columns are asked for
	}{
		// The page.
		{`[]`, "page: expected a JSON object, got array", false},
		{`{"columns":` + string(cols) + `,"rows":[]`, "cannot parse JSON", false},
		{`{"columns":` + string(cols) + `,"rows":[],"x":01}`, "cannot parse number", false},
		{`{"columns":` + string(cols) + `,"rows":[],"x":nan}`, "cannot parse", false},
		{`{"columns":` + string(cols) + `,"rows":[],"x":"\x"}`, "cannot parse", false},
		{`{"columns":` + string(cols) + `,"rows":[],"x":NaN}`, "cannot parse JSON", false},
		{"{\"columns\":" + string(cols) + ",\"rows\":[],\"x\":\"a\tb\"}", "control char", false},
		{`{"columns":` + string(cols) + `,"rows":[],"x":"a\xb"}`, "cannot parse", false},
		{`{"next_cursor":5}`, "next_cursor: expected a string, got number", false},
		// The columns.
		{`{"rows":[]}`, "columns: missing", false},
		{`{"columns":{},"rows":[]}`, "columns: expected an array of column names, got object", false},
		{`{"columns":["id",7],"rows":[]}`, "columns[1]: expected a column name, got number", false},
		{page(`["id","title","id"]`, ""), `columns[2]: "id" appears twice (also columns[0])`, false},
		{without("detected_at"), `columns: missing "detected_at"`, false},
		{without("runbook_url"), `columns: missing "runbook_url"`, false},
		{without("id"), `columns: missing "id"`, false},
		{page(string(cols), row), `columns: missing "labels"`, true},
		// The rows.
		{`{"columns":` + string(cols) + `}`, "rows: missing", false},
		{`{"columns":` + string(cols) + `,"rows":null}`, "rows: expected an array, got null", false},
		{page(string(cols), row+`,{"id":1}`), "rows[1]: expected an array of 13 values, one per column, got object", false},
		{page(string(cols), row+`,null`), "rows[1]: expected an array of 13 values, one per column, got null", false},
		{page(string(cols), row+`,[1,2]`), "rows[1]: expected 13 values, one per column, got 2", false},
		{page(string(cols), strings.TrimSuffix(row, "]")+`,"extra"]`), "rows[0]: expected 13 values, one per column, got 14", false},
		// The values, named by row, column and the column's name.
		{withCell(0, `"42"`), "rows[0][0] (id): expected an integer, got string", false},
		{withCell(0, `4.2`), "rows[0][0] (id): expected an integer, got 4.2", false},
		{withCell(0, `1e3`), "rows[0][0] (id): expected an integer, got 1e3", false},
		{withCell(0, `9223372036854775808`), "rows[0][0] (id): expected an integer, got 9223372036854775808", false},
		{withCell(0, `null`), "rows[0][0] (id): expected an integer, got null", false},
		{withCell(1, `3`), "rows[0][1] (title): expected a string, got number", false},
		{withCell(2, `null`), "rows[0][2] (tier): expected a string, got null", false},
		{withCell(3, `["x"]`), "rows[0][3] (state): expected a string, got array", false},
		{withCell(4, `true`), "rows[0][4] (team): expected a string, got true", false},
		{withCell(5, `{}`), "rows[0][5] (model): expected a string, got object", false},
		{withCell(6, `null`), "rows[0][6] (assignee): expected a string, got null", false},
		{withCell(7, `"2025-11-30T02:40:00Z"`), "rows[0][7] (detected_at): expected an integer number of milliseconds, got string", false},
		{withCell(7, `1764470400.123`), "rows[0][7] (detected_at): expected an integer number of milliseconds, got 1764470400.123", false},
		{withCell(7, `null`), "rows[0][7] (detected_at): expected an integer number of milliseconds, got null", false},
		{withCell(8, `"soon"`), "rows[0][8] (triaged_at): expected an integer number of milliseconds or null, got string", false},
		{withCell(9, `false`), "rows[0][9] (resolved_at): expected an integer number of milliseconds or null, got false", false},
		{withCell(10, `"2"`), "rows[0][10] (alerts_firing): expected an integer, got string", false},
		{withCell(11, `"yes"`), "rows[0][11] (sla_breached): expected true or false, got string", false},
		{withCell(11, `null`), "rows[0][11] (sla_breached): expected true or false, got null", false},
		{withCell(12, `{"url":"x"}`), "rows[0][12] (runbook_url): expected a string or null, got object", false},
		{withLabels(`[]`), "rows[0][13] (labels): expected an object of strings, got array", true},
		{withLabels(`null`), "rows[0][13] (labels): expected an object of strings, got null", true},
		{withLabels(`{"region":"eu","team":1}`), `rows[0][13] (labels): "team": expected a string, got number`, true},
		{withLabels(`{"region":null}`), `rows[0][13] (labels): "region": expected a string, got null`, true},
		// The full view of an older incidentd.
		{`{"incidents":{}}`, "incidents: expected an array, got object", false},
		{`{"incidents":[{"id":"7"}]}`, "incidents[0].id: expected an integer", false},
		{`{"incidents":[{"id":1},{"title":3}]}`, "incidents[1].title: expected a string", false},
		{`{"incidents":[{"detected_at":"today"}]}`, `incidents[0].detected_at: expected an RFC 3339 time, got "today"`, false},
		{`{"incidents":[{"labels":{"a":1}}]}`, "incidents[0].labels.a: expected a string", false},
		{`{"incidents":[1]}`, "incidents[0].incident: expected an object", false},
	} {
		t.Run(tc.want, func(t *testing.T) {
			var names []string
			if tc.labels {
				names = []string{"region"}
			}
			_, _, _, err := decodeTable([]byte(tc.page), names, nil)
			require.ErrorContains(t, err, tc.want, tc.page)
		})
	}

	t.Run("labels column not asked for is not read", func(t *testing.T) {
		got, _, _, err := decodeTable([]byte(withLabels(`[1,2]`)), nil, nil)
		require.NoError(t, err)
		require.Equal(t, []int64{42}, got.ID)
	})
}

func ptr[T any](v T) *T { return &v }

// referenceTable decodes a page of the table view with encoding/json, following the
// contract directly; ok is false for a page that is not the table view (no "columns" and
// no "rows"). It is the fuzz target's independent reading of the table view.
func referenceTable(data []byte, labelNames []string) (tab *Table, next string, ok bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, "", false, err
	}
	if dec.More() {
		return nil, "", false, errors.New("trailing data")
	}
	if c, ok := root["next_cursor"]; ok && c != nil {
		s, ok := c.(string)
		if !ok {
			return nil, "", false, errors.New("next_cursor")
		}
		next = s
	}
	columns, hasColumns := root["columns"]
	rows, hasRows := root["rows"]
	if !hasColumns && !hasRows {
		return nil, next, false, nil
	}
	names, ok := columns.([]any)
	if !ok {
		return nil, "", true, errors.New("columns")
	}
	at := map[string]int{}
	for k, name := range names {
		s, ok := name.(string)
		if !ok {
			return nil, "", true, errors.New("column name")
		}
		if _, dup := at[s]; dup && slices.Contains(columnNames[:], s) {
			return nil, "", true, errors.New("repeated column")
		}
		at[s] = k
	}
	need := slices.Clone(contractColumns)
	if len(labelNames) > 0 {
		need = append(need, "labels")
	}
	for _, name := range need {
		if _, ok := at[name]; !ok {
			return nil, "", true, errors.New("missing column " + name)
		}
	}
	list, ok := rows.([]any)
	if !ok {
		return nil, "", true, errors.New("rows")
	}
	integer := func(v any) (int64, error) {
		n, ok := v.(json.Number)
		if !ok {
			return 0, errors.New("not a number")
		}
		return strconv.ParseInt(string(n), 10, 64)
	}
	optTime := func(v any) (*time.Time, error) {
		if v == nil {
			return nil, nil
		}
		ms, err := integer(v)
		t := time.UnixMilli(ms).UTC()
		return &t, err
	}
	tab = &Table{LabelNames: labelNames, Labels: make([][]*string, len(labelNames))}
	for _, r := range list {
		cells, ok := r.([]any)
		if !ok || len(cells) != len(names) {
			return nil, "", true, errors.New("row")
		}
		cell := func(name string) any { return cells[at[name]] }
		str := func(name string) (string, error) {
			s, ok := cell(name).(string)
			if !ok {
				return "", errors.New(name)
			}
			return s, nil
		}
		var errs []error
		add := func(err error) { errs = append(errs, err) }
		id, err := integer(cell("id"))
		add(err)
		tab.ID = append(tab.ID, id)
		for _, c := range []struct {
			name string
			col  *[]string
		}{{"title", &tab.Title}, {"tier", &tab.Tier}, {"state", &tab.State}, {"team", &tab.Team}, {"model", &tab.Model}, {"assignee", &tab.Assignee}} {
			s, err := str(c.name)
			add(err)
			*c.col = append(*c.col, s)
		}
		ms, err := integer(cell("detected_at"))
		add(err)
		tab.Detected = append(tab.Detected, time.UnixMilli(ms).UTC())
		tri, err := optTime(cell("triaged_at"))
		add(err)
		tab.Triaged = append(tab.Triaged, tri)
		res, err := optTime(cell("resolved_at"))
		add(err)
		tab.Resolved = append(tab.Resolved, res)
		firing, err := integer(cell("alerts_firing"))
		add(err)
		tab.AlertsFiring = append(tab.AlertsFiring, firing)
		breached, ok := cell("sla_breached").(bool)
		if !ok {
			add(errors.New("sla_breached"))
		}
		tab.SLABreached = append(tab.SLABreached, breached)
		var rb *string
		switch v := cell("runbook_url").(type) {
		case nil:
		case string:
			if v != "" {
				rb = &v
			}
		default:
			add(errors.New("runbook_url"))
		}
		tab.Runbook = append(tab.Runbook, rb)
		if len(labelNames) > 0 {
			labels, ok := cell("labels").(map[string]any)
			if !ok {
				add(errors.New("labels"))
			}
			for _, v := range labels {
				if _, ok := v.(string); !ok {
					add(errors.New("label value"))
				}
			}
			for j, name := range labelNames {
				var p *string
				if v, ok := labels[name].(string); ok {
					p = &v
				}
				tab.Labels[j] = append(tab.Labels[j], p)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, "", true, err
		}
	}
	return tab, next, true, nil
}

// FuzzDecodeTable: never panics and accepts nothing that is not JSON. A page of the table
// view is accepted exactly when referenceTable, encoding/json's reading of the contract,
// accepts it, into the same columns; a page of the full view gives the columns of the
// incidents decodePage reads. (Strings with invalid UTF-8 or lone surrogates are left out
// of that last comparison: the table decoder reads them as encoding/json does, decodePage
// keeps fastjson's bytes.) The input, read as the inside of a title string, is also
// accepted exactly when encoding/json accepts that string, and decodes to the same text.
func FuzzDecodeTable(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	full := randomPage(r, 3)
	f.Add(full)
	var p fastjson.Parser
	page, err := decodePage(&p, full)
	require.NoError(f, err)
	f.Add(tableView(f, page.Incidents, append(slices.Clone(contractColumns), "labels"), "c1"))
	f.Add(tableView(f, page.Incidents, []string{"labels", "runbook_url", "x", "sla_breached", "alerts_firing", "resolved_at", "triaged_at", "detected_at", "assignee", "model", "team", "state", "tier", "title", "id"}, ""))
	f.Add([]byte(`{"incidents":null,"next_cursor":null}`))
	f.Add([]byte(`{"incidents":[{"labels":null,"detected_at":null,"id":null,"runbook_url":null}]}`))
	f.Add([]byte(`{"incidents":[{"id":1,"tier":"P1","labels":{"a":"x","runbook_url":"u"},"runbook_url":"v"}]}`))
	f.Add([]byte(`{"incidents":[{"id":-0,"title":"a\u00e9\"","x":[1,{"y":[true,false,null,-1.5e+3]}],"detected_at":"2026-02-29T00:00:00Z"}]}`))
	f.Add([]byte(`{"columns":["id","title","tier","state","team","model","assignee","detected_at","triaged_at","resolved_at","alerts_firing","sla_breached","runbook_url","labels"],"rows":[[-0,"a\u00e9\"","P1","","","","",-1,null,9223372036854775807,0,true,"",{"a":"x","a":"y"}]],"rows":[]}`))
	f.Add([]byte("{\n  \"columns\": [\"id\", \"title\"],\n  \"rows\": [\n    [1, \"tab\\tnewline\\n\"]\n  ]\n}\n"))
	f.Add([]byte("{\"columns\":[],\"rows\":[[\"raw\ttab\\n\"]]}\n"))
	for _, s := range []string{`plain`, `a\"b\\c\/d\b\f\n\r\t`, `\u00e9\u2028<>&`, `\ud83d\ude00`, `\ud83d`, `\udc00x`, `\ud83d\ud83d\ude00`, `\\ud83d`, "\xff\xfe", `\x`, `\u12`, "tab\there"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		names := []string{"a", "runbook_url"}
		got, next, _, err := decodeTable(data, names, nil)
		if err == nil {
			require.True(t, json.Valid(data), "accepted invalid JSON %q", data)
		}
		ref, refNext, table, refErr := referenceTable(data, names)
		if table {
			require.Equal(t, refErr == nil, err == nil, "decoder: %v; encoding/json's reading of the contract: %v", err, refErr)
			if err == nil {
				require.Equal(t, refNext, next)
				require.Equal(t, normalize(ref), normalize(got))
			}
		} else if err == nil {
			var p fastjson.Parser
			want, werr := decodePage(&p, data)
			require.NoError(t, werr, "a full-view page decodePage refuses")
			if utf8.Valid(data) && !bytes.Contains(bytes.ToLower(data), []byte(`\ud`)) {
				require.Equal(t, normalize(tableOf(want.Incidents, names)), normalize(got))
			}
		}

		token := append(append([]byte{'"'}, data...), '"')
		var title string
		werr := json.Unmarshal(token, &title)
		row := `[1,` + string(token) + `,"P1","detected","t","m","",0,null,null,0,false,null]`
		page := []byte(`{"columns":["id","title","tier","state","team","model","assignee","detected_at","triaged_at","resolved_at","alerts_firing","sla_breached","runbook_url"],"rows":[` + row + `]}`)
		got, _, _, err = decodeTable(page, nil, nil)
		if werr != nil {
			// Unless a quote in data ended the string and the page is still JSON.
			if !json.Valid(page) {
				require.Error(t, err, "accepted the string %q, which encoding/json refuses: %v", token, werr)
			}
			return
		}
		require.NoError(t, err, "%q", token)
		require.Equal(t, []string{title}, got.Title, "%q", token)
	})
}

// BenchmarkDecodeTable compares, side by side on the same 10,000 incidents: the table
// view (one page) decoded into columns with a warm parser, as ListTable does, and with a
// new one (whose tree is allocated); the full view (20 pages of 500) decoded into columns,
// as ListTable does against an older incidentd; and the full view decoded into incidents
// then columns, as the plugin did before the table view.
func BenchmarkDecodeTable(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var fulls [][]byte
	var all []Incident
	var p fastjson.Parser
	for range 20 {
		page := randomPage(r, PageLimit)
		got, err := decodePage(&p, page)
		require.NoError(b, err)
		all = append(all, got.Incidents...)
		fulls = append(fulls, page)
	}
	table := tableView(b, all, contractColumns, "")
	fullBytes := 0
	for _, page := range fulls {
		fullBytes += len(page)
	}
	b.Run("table-10000-columns", func(b *testing.B) {
		b.SetBytes(int64(len(table)))
		// As ListTable does: a warm parser, kept by the client.
		var p fastjson.Parser
		for b.Loop() {
			d := newTableDecoder(&Table{}, nil)
			d.p = &p
			if _, _, err := d.page(table); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("table-10000-columns-cold-parser", func(b *testing.B) {
		b.SetBytes(int64(len(table)))
		for b.Loop() {
			if _, _, _, err := decodeTable(table, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full-20x500-columns", func(b *testing.B) {
		b.SetBytes(int64(fullBytes))
		var p fastjson.Parser
		for b.Loop() {
			d := newTableDecoder(&Table{}, nil)
			d.p = &p
			for _, page := range fulls {
				if _, _, err := d.page(page); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("full-20x500-decodePage", func(b *testing.B) {
		b.SetBytes(int64(fullBytes))
		for b.Loop() {
			var incs []Incident
			for _, page := range fulls {
				got, err := decodePage(&p, page)
				if err != nil {
					b.Fatal(err)
				}
				incs = append(incs, got.Incidents...)
			}
			_ = tableOf(incs, nil)
		}
	})
}
