package incidentd

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fastjson"
)

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
		t.Tier = append(t.Tier, in.Tier)
		t.State = append(t.State, in.State)
		t.Team = append(t.Team, in.Team)
		t.Model = append(t.Model, in.Model)
		t.Assignee = append(t.Assignee, in.Assignee)
		t.Detected = append(t.Detected, in.DetectedAt)
		t.Triaged = append(t.Triaged, opt(in.TriagedAt))
		t.Resolved = append(t.Resolved, opt(in.ResolvedAt))
		t.AlertsFiring = append(t.AlertsFiring, int64(in.AlertsFiring))
		t.SLABreached = append(t.SLABreached, in.SLABreached)
		var rb *string
		if v := in.Labels["runbook_url"]; v != "" {
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

// tableView rewrites a full-view page as incidentd's table view writes it.
func tableView(t testing.TB, full []byte, withLabels bool) []byte {
	var page struct {
		Incidents  []map[string]any `json:"incidents"`
		NextCursor string           `json:"next_cursor,omitempty"`
	}
	require.NoError(t, json.Unmarshal(full, &page))
	for _, in := range page.Incidents {
		for _, k := range []string{"group_key", "summary", "contained_at", "reviewed_at", "alerts_total", "mtta_seconds", "mttr_seconds"} {
			delete(in, k)
		}
		if l, ok := in["labels"].(map[string]any); ok && l["runbook_url"] != nil {
			in["runbook_url"] = l["runbook_url"]
		}
		if !withLabels {
			delete(in, "labels")
		}
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

// TestDecodeTableMatchesDecodePage: a page of either view, decoded into columns, gives the
// columns the incidents decoded by decodePage give — with the labels asked for, the
// runbook from the table view's field or the full view's label, and rows filtered.
func TestDecodeTableMatchesDecodePage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var p fastjson.Parser
	labelNames := []string{"alertname", "missing", "runbook_url"}
	for _, n := range []int{0, 1, 7, 500} {
		full := randomPage(r, n)
		want, err := decodePage(&p, full)
		require.NoError(t, err)
		for name, data := range map[string][]byte{"full": full, "table": tableView(t, full, false), "table+labels": tableView(t, full, true)} {
			names := labelNames
			if name == "table" {
				names = nil
			}
			got, next, read, err := decodeTable(data, names, nil)
			require.NoError(t, err, name)
			require.Equal(t, want.NextCursor, next, name)
			require.Equal(t, n, read, name)
			require.Equal(t, normalize(tableOf(want.Incidents, names)), normalize(got), "%s n=%d", name, n)

			keep := func(tier, team, model string) bool { return tier == "P1" || team == "t2" }
			got, _, read, err = decodeTable(data, names, keep)
			require.NoError(t, err)
			require.Equal(t, n, read, "dropped rows still count as read")
			var kept []Incident
			var readAt []int
			for k, in := range want.Incidents {
				if keep(in.Tier, in.Team, in.Model) {
					kept = append(kept, in)
					readAt = append(readAt, k)
				}
			}
			require.Equal(t, normalize(tableOf(kept, names)), normalize(got), "%s n=%d kept", name, n)
			require.Equal(t, n, got.read)
			require.Equal(t, readAt, got.readAt, "each kept row knows how many were read before it")
		}
	}
}

func TestDecodeTableErrors(t *testing.T) {
	for in, want := range map[string]string{
		`[]`:                                      "page: expected a JSON object",
		`{"incidents":{}}`:                        "incidents: expected an array",
		`{"incidents":[{"id":"7"}]}`:              "incidents[0].id: expected an integer",
		`{"incidents":[{"id":1},{"title":3}]}`:    "incidents[1].title: expected a string",
		`{"incidents":[{"tier":3}]}`:              "incidents[0].tier: expected a string",
		`{"incidents":[{"detected_at":"today"}]}`: `incidents[0].detected_at: expected an RFC 3339 time, got "today"`,
		`{"incidents":[{"labels":{"a":1}}]}`:      "incidents[0].labels.a: expected a string",
		`{"incidents":[{"labels":[]}]}`:           "incidents[0].labels: expected an object of strings",
		`{"incidents":[{"runbook_url":{}}]}`:      "incidents[0].runbook_url: expected a string",
		`{"incidents":[{"sla_breached":"yes"}]}`:  "incidents[0].sla_breached: expected true or false",
		`{"incidents":[1]}`:                       "incidents[0].incident: expected an object",
		`{"next_cursor":5}`:                       "next_cursor: expected a string",
		`{"incidents":[{"id":1}]`:                 "cannot parse",
	} {
		_, _, _, err := decodeTable([]byte(in), []string{"a"}, nil)
		require.ErrorContains(t, err, want, in)
	}
}

// FuzzDecodeTable: never panics, accepts nothing that is not JSON, and a page decodePage
// accepts too gives the columns of the incidents decodePage reads. (Strings with invalid
// UTF-8 or lone surrogates are left out of that comparison: the table decoder reads them
// as encoding/json does, fastjson keeps the raw bytes.) The input, read as the inside of a
// title string, is also accepted exactly when encoding/json accepts that string, and
// decodes to the same text.
func FuzzDecodeTable(f *testing.F) {
	f.Add(randomPage(rand.New(rand.NewPCG(3, 4)), 3))
	f.Add([]byte(`{"incidents":null,"next_cursor":null}`))
	f.Add([]byte(`{"incidents":[{"labels":null,"detected_at":null,"id":null,"runbook_url":null}]}`))
	f.Add([]byte(`{"incidents":[{"id":1,"tier":"P1","labels":{"a":"x","runbook_url":"u"},"runbook_url":"v"}]}`))
	f.Add([]byte(`{"incidents":[{"id":-0,"title":"a\u00e9\"","x":[1,{"y":[true,false,null,-1.5e+3]}],"detected_at":"2026-02-29T00:00:00Z"}]}`))
	f.Add([]byte(`{"incidents":[{"id":1,"title":"gone"}],"incidents":[{"id":2,"title":"kept"}]}`))
	f.Add([]byte("{\n  \"incidents\": [\n    {\"id\": 1, \"title\": \"tab\\tnewline\\n\"}\n  ]\n}\n"))
	f.Add([]byte("{\"incidents\":[{\"id\":1,\"title\":\"raw\ttab\\n\"}]}\n"))
	for _, s := range []string{`plain`, `a\"b\\c\/d\b\f\n\r\t`, `\u00e9\u2028<>&`, `\ud83d\ude00`, `\ud83d`, `\udc00x`, `\ud83d\ud83d\ude00`, `\\ud83d`, "\xff\xfe", `\x`, `\u12`, "tab\there"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		names := []string{"a", "runbook_url"}
		got, _, _, err := decodeTable(data, names, nil)
		if err == nil {
			require.True(t, json.Valid(data), "accepted invalid JSON %q", data)
			var p fastjson.Parser
			want, werr := decodePage(&p, data)
			if werr == nil && utf8.Valid(data) && !bytes.Contains(bytes.ToLower(data), []byte(`\ud`)) {
				ref := tableOf(want.Incidents, names)
				// The table view's runbook_url field wins over the label; decodePage ignores it.
				ref.Runbook = got.Runbook
				require.Equal(t, normalize(ref), normalize(got))
			}
		}

		token := append(append([]byte{'"'}, data...), '"')
		var title string
		werr := json.Unmarshal(token, &title)
		page := append(append([]byte(`{"incidents":[{"title":`), token...), "}]}"...)
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

// BenchmarkDecodeTable compares, side by side, decoding 10,000 incidents of the full view
// into incidents (as the plugin did, then building columns) and the table view straight
// into columns, with a new parser (whose tree is allocated) and with a reused one.
func BenchmarkDecodeTable(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var full []byte
	var all []Incident
	var p fastjson.Parser
	for range 20 {
		page := randomPage(r, PageLimit)
		got, err := decodePage(&p, page)
		require.NoError(b, err)
		all = append(all, got.Incidents...)
		full = page
	}
	whole, err := json.Marshal(map[string]any{"incidents": all})
	require.NoError(b, err)
	table := tableView(b, whole, false)
	b.Run("full-20x500-decodePage", func(b *testing.B) {
		b.SetBytes(int64(20 * len(full)))
		for b.Loop() {
			var incs []Incident
			for range 20 {
				got, err := decodePage(&p, full)
				if err != nil {
					b.Fatal(err)
				}
				incs = append(incs, got.Incidents...)
			}
			_ = tableOf(incs, nil)
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
}
