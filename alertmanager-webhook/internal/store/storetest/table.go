package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// tablePage is a page of the table view as a client reads it: each row's values found by
// their column's name.
type tablePage struct {
	Rows       []tableRow
	NextCursor string
}

// tableRow is a row of the table view; times are Unix milliseconds, nil where null.
type tableRow struct {
	ID                                        int64
	Title, Tier, State, Team, Model, Assignee string
	DetectedAt                                int64
	TriagedAt, ResolvedAt                     *int64
	AlertsFiring                              int
	SLABreached                               bool
	RunbookURL                                *string
	Labels                                    map[string]string
}

func readTable(t *testing.T, s *store.DB, f store.Filter, labels store.TableLabels) tablePage {
	t.Helper()
	withLabels := labels.All || len(labels.Names) > 0
	b, err := s.AppendTable(context.Background(), f, labels, []byte("prefix"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("prefix")), "appends to the buffer")
	body := b[len("prefix"):]
	require.True(t, json.Valid(body), "%s", body)
	var raw struct {
		Columns    []string            `json:"columns"`
		Rows       [][]json.RawMessage `json:"rows"`
		NextCursor string              `json:"next_cursor"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&raw), "%s", body)
	require.NotNil(t, raw.Rows, "rows is an array, never null")
	cols := store.TableColumns
	if withLabels {
		cols = append(slices.Clone(cols), store.LabelsColumn)
	}
	require.Equal(t, cols, raw.Columns)
	p := tablePage{Rows: make([]tableRow, len(raw.Rows)), NextCursor: raw.NextCursor}
	for k, values := range raw.Rows {
		require.Len(t, values, len(cols), "row %d", k)
		r := &p.Rows[k]
		fields := map[string]any{"id": &r.ID, "title": &r.Title, "tier": &r.Tier, "state": &r.State, "team": &r.Team,
			"model": &r.Model, "assignee": &r.Assignee, "detected_at": &r.DetectedAt, "triaged_at": &r.TriagedAt,
			"resolved_at": &r.ResolvedAt, "alerts_firing": &r.AlertsFiring, "sla_breached": &r.SLABreached,
			"runbook_url": &r.RunbookURL, "labels": &r.Labels}
		for j, c := range cols {
			if c != "triaged_at" && c != "resolved_at" && c != "runbook_url" {
				require.NotEqual(t, "null", string(values[j]), "row %d: %s is never null", k, c)
			}
			require.NoError(t, json.Unmarshal(values[j], fields[c]), "row %d %s: %s", k, c, values[j])
		}
	}
	return p
}

// testListTable checks the table view against the full listing: the same incidents in the
// same order through the same cursors, each the full incident's table columns, the
// runbook from the opening alert's runbook_url annotation or else the label, the labels
// only when asked.
func testListTable(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(3 * time.Hour))
	s := open(store.DefaultConfig(), clk.Now)
	for i := range 24 {
		m := Msg(fmt.Sprintf("t%02d", i), A{FP: fmt.Sprintf("t%02d", i), Start: time.Duration(i/3) * time.Minute})
		m.CommonLabels["tier"] = []string{"P1", "P2", "P3", "P4"}[i%4]
		m.CommonLabels["svc"] = fmt.Sprintf("<s%d> & \"é\"", i)
		if i%2 == 0 {
			m.CommonLabels[`odd "<key>"`] = fmt.Sprintf(`v%d\`, i) // a key json.Marshal escapes, a value ending in a backslash
		}
		// Prometheus rules put the runbook in an annotation; some teams put it in a label.
		switch i % 3 {
		case 0:
			m.Alerts[0].Annotations["runbook_url"] = fmt.Sprintf("https://runbooks.example/%d?a=1&b=\"q\"", i)
			m.CommonLabels["runbook_url"] = "https://ignored.example" // the annotation wins
		case 1:
			m.CommonLabels["runbook_url"] = fmt.Sprintf("https://runbooks.example/label/%d", i)
		}
		ingest(t, s, m)
	}
	whole := all(t, s)
	_, err := s.Ack(ctx, whole[0].ID, store.Action{Actor: "alice"})
	require.NoError(t, err)
	_, err = s.Assign(ctx, whole[1].ID, "bob <ops>", store.Action{Actor: "alice"})
	require.NoError(t, err)
	_, err = s.Transition(ctx, whole[2].ID, incident.Resolved, store.Action{Actor: "alice"})
	require.NoError(t, err)
	whole = all(t, s)

	want := make([]tableRow, len(whole))
	for k, in := range whole {
		want[k] = tableRow{ID: in.ID, Title: in.Title, Tier: string(in.Tier), State: string(in.State), Team: in.Team, Model: in.Model,
			Assignee: in.Assignee, DetectedAt: in.DetectedAt.UnixMilli(), TriagedAt: millis(in.TriagedAt), ResolvedAt: millis(in.ResolvedAt),
			AlertsFiring: in.AlertsFiring, SLABreached: in.SLABreached, Labels: in.Labels}
		if in.RunbookURL != "" {
			want[k].RunbookURL = &in.RunbookURL
		}
		// The full view's runbook_url is the first alert's annotation, else the label.
		n, err := strconv.Atoi(strings.TrimPrefix(in.GroupKey, "t"))
		require.NoError(t, err, in.GroupKey)
		switch n % 3 {
		case 0:
			require.Equal(t, fmt.Sprintf("https://runbooks.example/%d?a=1&b=\"q\"", n), in.RunbookURL)
		case 1:
			require.Equal(t, fmt.Sprintf("https://runbooks.example/label/%d", n), in.RunbookURL)
		default:
			require.Empty(t, in.RunbookURL)
		}
	}
	require.NotNil(t, want[0].TriagedAt, "acknowledged")
	require.NotNil(t, want[2].ResolvedAt, "resolved")
	require.NotNil(t, cmp.Or(want[0].RunbookURL, want[1].RunbookURL))
	require.Contains(t, []string{want[0].Assignee, want[1].Assignee}, "bob <ops>")

	from, to := T0.Add(time.Minute), T0.Add(7*time.Minute) // minutes 1..6: 18 incidents
	named := []string{"svc", `odd "<key>"`, "missing", "runbook_url", "alertname"}
	for _, labels := range []store.TableLabels{{}, {All: true}, {Names: named}} {
		for _, limit := range []int{1, 2, 4, 7, store.MaxTablePageSize} {
			var got []tableRow
			cursor := ""
			for {
				f := store.Filter{From: from, To: to, Limit: limit, Cursor: cursor}
				p := readTable(t, s, f, labels)
				require.LessOrEqual(t, len(p.Rows), limit)
				if limit <= store.MaxPageSize {
					full, err := s.List(ctx, f)
					require.NoError(t, err)
					require.Equal(t, full.NextCursor, p.NextCursor, "the views share cursors")
				}
				got = append(got, p.Rows...)
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			var exp []tableRow
			for _, w := range want {
				if det := time.UnixMilli(w.DetectedAt); !det.Before(from) && det.Before(to) {
					switch {
					case len(labels.Names) > 0:
						w.Labels = subset(whole, w.ID, labels.Names)
					case !labels.All:
						w.Labels = nil
					}
					exp = append(exp, w)
				}
			}
			require.Len(t, exp, 18)
			require.Equal(t, exp, got, "labels=%+v limit=%d", labels, limit)
		}
	}

	// Filters are List's.
	p := readTable(t, s, store.Filter{Tier: incident.P1, States: []incident.State{incident.Detected}, Limit: 100}, store.TableLabels{})
	for _, in := range p.Rows {
		require.Equal(t, "P1", in.Tier)
		require.Equal(t, "detected", in.State)
	}
	require.NotEmpty(t, p.Rows)
	require.Len(t, readTable(t, s, store.Filter{Limit: store.MaxTablePageSize}, store.TableLabels{}).Rows, 24)
	require.Empty(t, readTable(t, s, store.Filter{Text: "100%_"}, store.TableLabels{}).Rows)

	var inv *store.InvalidError
	_, err = s.AppendTable(ctx, store.Filter{Limit: store.MaxTablePageSize + 1}, store.TableLabels{}, nil)
	require.True(t, errors.As(err, &inv), "%v", err)
	require.ErrorContains(t, err, "limit: at most 10000")
	_, err = s.AppendTable(ctx, store.Filter{Cursor: "garbage!"}, store.TableLabels{}, nil)
	require.True(t, errors.As(err, &inv), "%v", err)
}

// millis is a time as the table view writes it: Unix milliseconds, nil for none.
func millis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// subset is the labels of incident id among names, as the table view's labels column
// holds them when it names labels.
func subset(incidents []store.Incident, id int64, names []string) map[string]string {
	out := map[string]string{}
	for _, in := range incidents {
		if in.ID != id {
			continue
		}
		for _, n := range names {
			if v, ok := in.Labels[n]; ok {
				out[n] = v
			}
		}
	}
	return out
}
