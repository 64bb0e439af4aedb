package app

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const onCallConfig = `oncall:
  teams:
  - name: ml-platform
    business_hours: {timezone: Europe/Berlin, start: "09:00", end: "17:00"}
    schedules:
    - {name: primary, timezone: Europe/Berlin, rotation: weekly, start: 2026-11-02, handoff: "09:00", members: [alice, bob]}
    - {name: secondary, timezone: Europe/Berlin, rotation: weekly, start: 2026-11-02, handoff: "09:00", members: [bob, alice]}
`

func TestOnCallAPIAndReload(t *testing.T) {
	h := start(t)
	cfgPath := filepath.Join(h.dir, "incidentd.yml")
	code, out := h.do("GET", "/api/v1/oncall", "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	require.Contains(t, string(out), `"teams":[]`)

	require.NoError(t, os.WriteFile(cfgPath, []byte(testConfig(onCallConfig)), 0o600))
	code, out = h.do("POST", "/-/reload", "admin-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))

	// Monday 2026-11-30 is the fifth week since 2026-11-02: alice (weeks 0, 2, 4) is primary.
	code, out = h.do("GET", "/api/v1/oncall?team=ml-platform&at=2026-11-30T08:30:00Z", "view-token", nil)
	require.Equal(t, http.StatusOK, code, string(out))
	require.JSONEq(t, `{"at":"2026-11-30T08:30:00Z","teams":[{"team":"ml-platform","business_hours":true,"shifts":[
		{"schedule":"primary","member":"alice","start":"2026-11-30T08:00:00Z","end":"2026-12-07T08:00:00Z","override":false},
		{"schedule":"secondary","member":"bob","start":"2026-11-30T08:00:00Z","end":"2026-12-07T08:00:00Z","override":false}]}]}`, string(out))
	code, out = h.do("GET", "/api/v1/oncall?team=ml-platform&at=2026-11-30T07:30:00Z", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"business_hours":false,"next_business_hours":"2026-11-30T08:00:00Z"`)
	require.Contains(t, string(out), `"member":"bob"`)

	code, out = h.do("GET", "/api/v1/oncall?team=nope", "view-token", nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, string(out), `team \"nope\"`)
	code, out = h.do("GET", "/api/v1/oncall?at=monday", "view-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "at: expected an RFC 3339 time")

	// A bad zone is refused with its line, and the previous schedules stay in force.
	bad := strings.Replace(testConfig(onCallConfig), "timezone: Europe/Berlin, rotation", "timezone: Europe/Berlim, rotation", 1)
	require.NoError(t, os.WriteFile(cfgPath, []byte(bad), 0o600))
	code, out = h.do("POST", "/-/reload", "admin-token", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(out), "oncall.teams[0].schedules[0].timezone (line 18)")
	code, out = h.do("GET", "/api/v1/oncall?team=ml-platform&at=2026-11-30T08:30:00Z", "view-token", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"member":"alice"`)
}
