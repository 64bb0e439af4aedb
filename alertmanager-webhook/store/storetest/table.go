package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/store"
)

// tablePage is a page of the table view as a client decodes it, refusing fields the
// TableIncident does not document.
type tablePage struct {
	Incidents  []store.TableIncident `json:"incidents"`
	NextCursor string                `json:"next_cursor"`
}

func readTable(t *testing.T, s *store.DB, f store.Filter, withLabels bool) tablePage {
	t.Helper()
	b, err := s.AppendTable(context.Background(), f, withLabels, []byte("prefix"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("prefix")), "appends to the buffer")
	body := b[len("prefix"):]
	require.True(t, json.Valid(body), "%s", body)
	var p tablePage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p), "%s", body)
	require.NotNil(t, p.Incidents, "incidents is an array, never null")
	return p
}

// testListTable checks the table view against the full listing: the same incidents in the
// same order through the same cursors, each the full incident's table columns, the
// runbook from the incident's runbook_url label, the labels only when asked.
func testListTable(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(3 * time.Hour))
	s := open(store.DefaultConfig(), clk.Now)
	for i := range 24 {
		m := Msg(fmt.Sprintf("t%02d", i), A{FP: fmt.Sprintf("t%02d", i), Start: time.Duration(i/3) * time.Minute})
		m.CommonLabels["tier"] = []string{"P1", "P2", "P3", "P4"}[i%4]
		m.CommonLabels["svc"] = fmt.Sprintf("<s%d> & \"é\"", i)
		if i%2 == 0 {
			m.CommonLabels["runbook_url"] = fmt.Sprintf("https://runbooks.example/%d?a=1&b=\"q\"", i)
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

	want := make([]store.TableIncident, len(whole))
	for k, in := range whole {
		want[k] = store.TableIncident{ID: in.ID, Title: in.Title, Tier: in.Tier, State: in.State, Team: in.Team, Model: in.Model,
			Assignee: in.Assignee, DetectedAt: in.DetectedAt, TriagedAt: in.TriagedAt, ResolvedAt: in.ResolvedAt,
			AlertsFiring: in.AlertsFiring, SLABreached: in.SLABreached, RunbookURL: in.Labels["runbook_url"], Labels: in.Labels}
	}
	require.NotEmpty(t, want[0].RunbookURL+want[1].RunbookURL)
	require.Contains(t, []string{want[0].Assignee, want[1].Assignee}, "bob <ops>")

	from, to := T0.Add(time.Minute), T0.Add(7*time.Minute) // minutes 1..6: 18 incidents
	for _, withLabels := range []bool{false, true} {
		for _, limit := range []int{1, 2, 4, 7, store.MaxTablePageSize} {
			var got []store.TableIncident
			cursor := ""
			for {
				f := store.Filter{From: from, To: to, Limit: limit, Cursor: cursor}
				p := readTable(t, s, f, withLabels)
				require.LessOrEqual(t, len(p.Incidents), limit)
				if limit <= store.MaxPageSize {
					full, err := s.List(ctx, f)
					require.NoError(t, err)
					require.Equal(t, full.NextCursor, p.NextCursor, "the views share cursors")
				}
				got = append(got, p.Incidents...)
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			var exp []store.TableIncident
			for _, w := range want {
				if !w.DetectedAt.Before(from) && w.DetectedAt.Before(to) {
					if !withLabels {
						w.Labels = nil
					}
					exp = append(exp, w)
				}
			}
			require.Len(t, exp, 18)
			require.Equal(t, exp, got, "labels=%v limit=%d", withLabels, limit)
		}
	}

	// Filters are List's.
	p := readTable(t, s, store.Filter{Tier: incident.P1, States: []incident.State{incident.Detected}, Limit: 100}, false)
	for _, in := range p.Incidents {
		require.Equal(t, incident.P1, in.Tier)
		require.Equal(t, incident.Detected, in.State)
	}
	require.NotEmpty(t, p.Incidents)
	require.Len(t, readTable(t, s, store.Filter{Limit: store.MaxTablePageSize}, false).Incidents, 24)
	require.Empty(t, readTable(t, s, store.Filter{Text: "100%_"}, false).Incidents)

	var inv *store.InvalidError
	_, err = s.AppendTable(ctx, store.Filter{Limit: store.MaxTablePageSize + 1}, false, nil)
	require.True(t, errors.As(err, &inv), "%v", err)
	require.ErrorContains(t, err, "limit: at most 10000")
	_, err = s.AppendTable(ctx, store.Filter{Cursor: "garbage!"}, false, nil)
	require.True(t, errors.As(err, &inv), "%v", err)
}
