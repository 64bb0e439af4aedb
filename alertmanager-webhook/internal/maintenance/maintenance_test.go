package maintenance

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func post(t *testing.T, matchers string) (Window, error) {
	t.Helper()
	var in Input
	body := `{"matchers":` + matchers + `,"ends_at":"` + now.Add(time.Hour).Format(time.RFC3339) + `","reason":"upgrade"}`
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		return Window{}, err
	}
	return Normalize(in, "alice", now)
}

// Windows take Alertmanager matchers, with Alertmanager's semantics, as well as the
// object of label values they took before.
func TestWindowMatchers(t *testing.T) {
	for _, tc := range []struct {
		matchers string
		labels   map[string]string
		covers   bool
	}{
		{`{"team":"risk"}`, map[string]string{"team": "risk", "severity": "P2"}, true},
		{`{"team":"risk"}`, map[string]string{"team": "risky"}, false},
		{`["team=\"risk\"", "severity=~\"P2|P3\""]`, map[string]string{"team": "risk", "severity": "P3"}, true},
		{`["team=\"risk\"", "severity=~\"P2|P3\""]`, map[string]string{"team": "risk", "severity": "P1"}, false},
		{`["team=\"risk\"", "severity=~\"P2|P3\""]`, map[string]string{"team": "risk", "severity": "P33"}, false}, // anchored
		{`["model!~\"fraud-.*\"", "team=\"risk\""]`, map[string]string{"team": "risk", "model": "churn"}, true},
		{`["model!~\"fraud-.*\"", "team=\"risk\""]`, map[string]string{"team": "risk", "model": "fraud-v2"}, false},
		{`["{team=\"risk\",env!=\"dev\"}"]`, map[string]string{"team": "risk"}, true}, // env unset is not "dev"
	} {
		w, err := post(t, tc.matchers)
		require.NoError(t, err, tc.matchers)
		require.Equal(t, tc.covers, w.Covers(tc.labels, now.Add(time.Minute)), "%s on %v", tc.matchers, tc.labels)
		require.False(t, w.Covers(tc.labels, now.Add(2*time.Hour)), "after the end")
	}
}

// A window reads back, from the database's JSON, in the form it was posted and still
// matches; windows stored as objects before the list form existed keep working.
func TestWindowRoundTrip(t *testing.T) {
	for _, in := range []string{`{"team":"risk"}`, `["severity=~\"P2|P3\"","team=\"risk\""]`} {
		w, err := post(t, in)
		require.NoError(t, err)
		b, err := json.Marshal(w.Matchers)
		require.NoError(t, err)
		require.JSONEq(t, in, string(b))
		var back Window
		wb, _ := json.Marshal(w)
		require.NoError(t, json.Unmarshal(wb, &back))
		require.True(t, back.Covers(map[string]string{"team": "risk", "severity": "P2"}, now))
		require.False(t, back.Covers(map[string]string{"team": "ops", "severity": "P2"}, now))
	}
}

// Bad matchers are refused naming the field and the matcher; a window never covers
// every incident, whatever the form.
func TestWindowMatcherErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{}`:                            "matchers: at least one label matcher",
		`[]`:                            "matchers: at least one label matcher",
		`["team=~\".*\""]`:              "matchers: at least one label matcher",
		`{"team-name":"x"}`:             `matchers: "team-name" is not a valid label name`,
		`{"team":""}`:                   "matchers.team: value must not be empty",
		`["team=\"risk\"", "severity"]`: `matchers[1]: "severity": bad matcher format`,
		`["model=~\"fraud-(\""]`:        `matchers[0]: "model=~\"fraud-(\"": error parsing regexp`,
		`"team=risk"`:                   "matchers: expected an object of label values or a list",
		`[1]`:                           "matchers: expected an object of label values or a list",
	} {
		_, err := post(t, in)
		require.ErrorContains(t, err, want, in)
	}
}
