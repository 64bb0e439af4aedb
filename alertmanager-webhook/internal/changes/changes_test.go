package changes

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestNormalize(t *testing.T) {
	at := now.Add(-time.Hour)
	c, err := Normalize(Input{At: at.Format(time.RFC3339), Kind: "deploy", Model: "fraud", Version: "v2", Description: "Roll out v2\nwith new features", Link: "https://ci/1"}, "ci-bot", now)
	require.NoError(t, err)
	require.Equal(t, "Roll out v2", c.Title, "title defaults to the description's first line")
	require.Equal(t, "ci-bot", c.Actor, "the author defaults to the token subject")
	require.Equal(t, at, c.At)

	for name, tc := range map[string]struct {
		in    Input
		field string
	}{
		"kind":           {Input{Kind: "deployment", Model: "m", Title: "x"}, "kind"},
		"no scope":       {Input{Kind: "deploy", Title: "x"}, "service"},
		"no title":       {Input{Kind: "deploy", Model: "m"}, "title"},
		"both spellings": {Input{Kind: "deploy", Model: "m", Description: "a", Text: "b"}, "description"},
		"bad link":       {Input{Kind: "deploy", Model: "m", Title: "x", Link: "javascript:alert(1)"}, "link"},
		"bad label":      {Input{Kind: "deploy", Model: "m", Title: "x", Labels: map[string]string{"a-b": "1"}}, "labels"},
		// Legacy label names only: UTF-8 names would not survive PromQL selectors.
		"dotted label": {Input{Kind: "deploy", Model: "m", Title: "x", Labels: map[string]string{"team.name": "1"}}, "labels"},
		"future":       {Input{Kind: "deploy", Model: "m", Title: "x", At: now.Add(time.Hour).Format(time.RFC3339)}, "at"},
		"bad time":     {Input{Kind: "deploy", Model: "m", Title: "x", At: "soon"}, "at"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Normalize(tc.in, "ci", now)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.Equal(t, tc.field, fe.Field)
		})
	}
}

func TestRelatedRanksByClosenessWithinWindow(t *testing.T) {
	det := now
	mk := func(id int64, before time.Duration, model, team, service string) Change {
		return Change{ID: id, At: det.Add(-before), Model: model, Team: team, Service: service}
	}
	cs := []Change{
		mk(1, 23*time.Hour, "fraud", "", ""),        // in window, far
		mk(2, 25*time.Hour, "fraud", "", ""),        // outside the window
		mk(3, 10*time.Minute, "", "risk", ""),       // team match, closest
		mk(4, 2*time.Hour, "other", "", ""),         // unrelated model
		mk(5, -time.Minute, "fraud", "", ""),        // after detection
		mk(6, 10*time.Minute, "fraud", "", ""),      // model match, same time as 3: ranks first
		mk(7, time.Hour, "", "", "scoring-api"),     // service match
		mk(8, 24*time.Hour, "fraud", "", ""),        // exactly at the window's edge: excluded
		mk(9, 0, "fraud", "", ""),                   // at detection: included
		mk(10, 30*time.Minute, "other", "risk", "")} // other model but same team
	got := Related(Scope{DetectedAt: det, Model: "fraud", Team: "risk", Service: "scoring-api"}, 24*time.Hour, cs)
	var ids []int64
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	require.Equal(t, []int64{9, 6, 3, 10, 7, 1}, ids)
	require.Equal(t, "model", got[1].Match)
	require.Equal(t, "team", got[2].Match)
	require.Equal(t, "service", got[4].Match)
	require.Equal(t, 600.0, got[1].BeforeDetectionSeconds)
}

// FuzzNormalize decodes arbitrary JSON as an input: Normalize either accepts it with every
// invariant held or names a field — never panics.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"kind":"deploy","model":"m","title":"t"}`,
		`{"kind":"model_version","service":"s","description":"d\nmore","version":"v3","author":"bob","link":"https://x/y","labels":{"env":"prod"}}`,
		`{"kind":"config","team":"t","text":"x","at":"2026-11-29T11:00:00Z"}`,
		`{"kind":"other","model":"\u00e9\u00e9\u00e9"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var in Input
		if json.Unmarshal([]byte(s), &in) != nil {
			return
		}
		c, err := Normalize(in, "fuzz", now)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if c.Title == "" || c.Actor == "" || (c.Model == "" && c.Team == "" && c.Service == "") || c.At.After(now.Add(MaxFuture)) {
			t.Fatalf("accepted an invalid change: %+v", c)
		}
	})
}
