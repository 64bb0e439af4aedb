package gen

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite dashboards/json from the generator")

const jsonDir = "../json"

// TestCommittedJSONIsCurrent fails when someone changed the generator without
// regenerating, or edited the JSON by hand: CI runs it on every change.
func TestCommittedJSONIsCurrent(t *testing.T) {
	files, err := Render()
	require.NoError(t, err)
	if *update {
		for name, b := range files {
			require.NoError(t, os.WriteFile(filepath.Join(jsonDir, name), b, 0o644))
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(jsonDir, name))
		require.NoError(t, err, "dashboard %s is not committed; run go test ./dashboards/gen -update", name)
		require.True(t, bytes.Equal(want, got),
			"dashboards/json/%s is stale; run: go run ./dashboards/cmd/dashgen generate (or go test ./dashboards/gen -update)", name)
	}
	existing, err := filepath.Glob(filepath.Join(jsonDir, "*.json"))
	require.NoError(t, err)
	for _, path := range existing {
		require.Contains(t, files, filepath.Base(path), "%s is not generated any more; delete it", path)
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	a, err := Render()
	require.NoError(t, err)
	b, err := Render()
	require.NoError(t, err)
	require.Equal(t, a, b)
}

// TestUnescapeKeepsMeaning checks that undoing the HTML escaping changes only
// the presentation: both forms decode to the same value.
func TestUnescapeKeepsMeaning(t *testing.T) {
	ds, err := All()
	require.NoError(t, err)
	for _, d := range ds {
		raw, err := json.Marshal(d.Dashboard)
		require.NoError(t, err)
		pretty, err := Marshal(d.Dashboard)
		require.NoError(t, err)
		var x, y any
		require.NoError(t, json.Unmarshal(raw, &x))
		require.NoError(t, json.Unmarshal(pretty, &y))
		require.Equal(t, x, y, d.File)
		require.NotContains(t, string(pretty), `\u0026`, d.File)
	}
}

func TestUIDsAreStableAndUnique(t *testing.T) {
	ds, err := All()
	require.NoError(t, err)
	want := []string{UIDOverview, UIDPerformance, UIDDrift, UIDInfrastructure, UIDBusiness, UIDIncidents}
	var got []string
	for _, d := range ds {
		require.NotNil(t, d.Dashboard.Uid)
		got = append(got, *d.Dashboard.Uid)
	}
	require.Equal(t, want, got)
}

func TestIncidentsQueryRejectsUnknownQueryType(t *testing.T) {
	_, err := NewIncidentsQuery("incidnets").Build()
	require.ErrorContains(t, err, `"incidnets" is not one of incidents, counts, stats, timeline, annotations`)

	_, err = unmarshalIncidentsQueryStrict([]byte(`{"queryType":"counts","tierr":"P1"}`))
	require.ErrorContains(t, err, `unknown field "tierr"`)

	_, err = unmarshalIncidentsQueryStrict([]byte(`{"tier":"P1"}`))
	require.ErrorContains(t, err, "queryType")
}
