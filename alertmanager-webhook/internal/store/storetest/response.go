package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

func addChange(t *testing.T, s *store.DB, now time.Time, in changes.Input) *changes.Change {
	t.Helper()
	c, err := changes.Normalize(in, "ci", now)
	require.NoError(t, err)
	out, err := s.AddChange(context.Background(), c)
	require.NoError(t, err)
	return out
}

func testChanges(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(time.Hour))
	s := open(store.DefaultConfig(), clk.Now)
	at := func(d time.Duration) string { return T0.Add(d).Format(time.RFC3339) }
	// Msg("g") gives the incident model m-g, team ml, detected at T0.
	deploy := addChange(t, s, clk.Now(), changes.Input{At: at(-2 * time.Hour), Kind: "deploy", Model: "m-g", Version: "v7", Title: "deploy v7", Link: "https://ci.example/7"})
	prompt := addChange(t, s, clk.Now(), changes.Input{At: at(-20 * time.Minute), Kind: "prompt", Team: "ml", Description: "shorter system prompt", Author: "dana"})
	addChange(t, s, clk.Now(), changes.Input{At: at(-25 * time.Hour), Kind: "deploy", Model: "m-g", Title: "too old"})
	addChange(t, s, clk.Now(), changes.Input{At: at(-time.Hour), Kind: "config", Model: "other", Title: "other model"})
	addChange(t, s, clk.Now(), changes.Input{At: at(10 * time.Minute), Kind: "rollback", Model: "m-g", Title: "rollback after detection"})

	ingest(t, s, Msg("g", A{FP: "a"}))
	d := get(t, s, all(t, s)[0].ID)
	require.Len(t, d.RelatedChanges, 2, "%+v", d.RelatedChanges)
	require.Equal(t, prompt.ID, d.RelatedChanges[0].ID, "nearest to detection first")
	require.Equal(t, "team", d.RelatedChanges[0].Match)
	require.Equal(t, "dana", d.RelatedChanges[0].Actor)
	require.Equal(t, deploy.ID, d.RelatedChanges[1].ID)
	require.Equal(t, "model", d.RelatedChanges[1].Match)
	require.Equal(t, 7200.0, d.RelatedChanges[1].BeforeDetectionSeconds)

	// A narrower window keeps only the prompt change.
	cfg := store.DefaultConfig()
	cfg.ChangeWindow = time.Hour
	s.SetConfig(cfg)
	require.Len(t, get(t, s, d.ID).RelatedChanges, 1)

	// Filters and pages.
	pg, err := s.ListChanges(ctx, store.ChangeFilter{From: T0.Add(-3 * time.Hour), To: T0})
	require.NoError(t, err)
	require.Len(t, pg.Changes, 3)
	require.Equal(t, "other model", pg.Changes[1].Title, "newest first")
	pg, err = s.ListChanges(ctx, store.ChangeFilter{Model: "m-g", Kind: "deploy"})
	require.NoError(t, err)
	require.Len(t, pg.Changes, 2)
	pg, err = s.ListChanges(ctx, store.ChangeFilter{Text: "SYSTEM prompt"})
	require.NoError(t, err)
	require.Len(t, pg.Changes, 1)
	var seen []int64
	cursor := ""
	for {
		pg, err := s.ListChanges(ctx, store.ChangeFilter{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		for _, c := range pg.Changes {
			seen = append(seen, c.ID)
		}
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	require.Len(t, seen, 5, "paging visits every change once")

	es, err := s.Audit(ctx, store.AuditFilter{Action: "change."})
	require.NoError(t, err)
	require.Len(t, es, 5, "every change is audited")
}

func testPostmortemAndActionItems(t *testing.T, open Opener) {
	ctx := context.Background()
	clk := NewClock(T0.Add(time.Hour))
	s := open(store.DefaultConfig(), clk.Now)
	ingest(t, s, Msg("g", A{FP: "a"}))
	id := all(t, s)[0].ID
	who := store.Action{Actor: "alice"}

	_, err := s.Postmortem(ctx, id)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Transition(ctx, id, incident.Resolved, who)
	require.NoError(t, err)
	_, err = s.Transition(ctx, id, incident.Reviewed, who)
	var inv *store.InvalidError
	require.True(t, errors.As(err, &inv), "reviewed needs a post-mortem: %v", err)
	require.Contains(t, err.Error(), "post-mortem")

	_, err = s.SavePostmortem(ctx, id, "  \n", who)
	require.True(t, errors.As(err, &inv), "empty text refused")
	_, err = s.SavePostmortem(ctx, 9999, "x", who)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.SavePostmortem(ctx, id, "# first", who)
	require.NoError(t, err)
	clk.Add(time.Minute)
	_, err = s.SavePostmortem(ctx, id, "# second", store.Action{Actor: "bob"})
	require.NoError(t, err)
	pm, err := s.Postmortem(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "# second", pm.Text)
	require.Equal(t, "bob", pm.UpdatedBy)
	require.Equal(t, clk.Now(), pm.UpdatedAt)

	inc, err := s.Transition(ctx, id, incident.Reviewed, who)
	require.NoError(t, err)
	require.Equal(t, incident.Reviewed, inc.State)

	_, err = s.AddActionItem(ctx, id, store.ActionItemInput{Text: "add a drift alert"}, who)
	require.True(t, errors.As(err, &inv), "owner required")
	due := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	a1, err := s.AddActionItem(ctx, id, store.ActionItemInput{Text: "add a drift alert", Owner: "carol", DueAt: due}, who)
	require.NoError(t, err)
	_, err = s.AddActionItem(ctx, id, store.ActionItemInput{Text: "runbook for rollback", Owner: "dave"}, who)
	require.NoError(t, err)
	done, err := s.SetActionItemStatus(ctx, a1.ID, store.ItemDone, who)
	require.NoError(t, err)
	require.Equal(t, store.ItemDone, done.Status)
	_, err = s.SetActionItemStatus(ctx, 9999, store.ItemDone, who)
	require.ErrorIs(t, err, store.ErrNotFound)

	items, err := s.ActionItems(ctx, store.ActionItemFilter{IncidentID: id})
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, due, items[0].DueAt)
	items, err = s.ActionItems(ctx, store.ActionItemFilter{Owner: "dave", Status: store.ItemOpen})
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, "runbook for rollback", items[0].Text)
	items, err = s.ActionItems(ctx, store.ActionItemFilter{Status: store.ItemDone})
	require.NoError(t, err)
	require.Len(t, items, 1)

	var kinds []string
	for _, e := range get(t, s, id).Timeline {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []string{"opened", "transition", "postmortem", "postmortem", "transition", "action_item", "action_item"}, kinds)
	v, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	require.True(t, v.OK)
}
