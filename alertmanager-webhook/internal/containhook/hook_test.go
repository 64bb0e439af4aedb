package containhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify/webhook"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
)

const secret = "feature-flags-hmac-0123"

type call struct {
	header http.Header
	body   []byte
}

// receiver answers with codes in turn (then 200) and records each call.
type receiver struct {
	mu    sync.Mutex
	codes []int
	calls []call
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{req.Header.Clone(), b})
	code := http.StatusOK
	if len(r.codes) > 0 {
		code, r.codes = r.codes[0], r.codes[1:]
	}
	w.WriteHeader(code)
}

func setup(t *testing.T, hooks []Config) (*store.DB, *storetest.Clock, *Dispatcher, int64) {
	t.Helper()
	require.NoError(t, Validate(hooks))
	clk := storetest.NewClock(storetest.T0.Add(time.Minute))
	cfg := store.DefaultConfig()
	cfg.ContainmentHooks = Targets(hooks)
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "i.db"), Config: cfg, Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.Ingest(context.Background(), storetest.Msg("g", storetest.A{FP: "x"}))
	require.NoError(t, err)
	d := &Dispatcher{Store: db, Hooks: func() []Config { return hooks }, Now: clk.Now}
	return db, clk, d, 1
}

// TestSignedCallPerChange: applying and lifting a fallback calls the hook twice with the
// containment as JSON, signed so that the receiver's own HMAC check passes.
func TestSignedCallPerChange(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	db, _, d, inc := setup(t, []Config{{Name: "flags", URL: srv.URL + "/flags", Secret: secret}})
	ctx := context.Background()
	c, err := containment.Request{Model: "m-g", Version: "v2", Action: "fallback", FallbackVersion: "v1", Reason: "drift", Incident: inc}.Validate(storetest.T0)
	require.NoError(t, err)
	applied, err := db.ApplyContainment(ctx, c, "alice")
	require.NoError(t, err)
	require.NoError(t, d.Tick(ctx))
	_, err = db.LiftContainment(ctx, applied.ID, "bob", "fixed")
	require.NoError(t, err)
	require.NoError(t, d.Tick(ctx))
	require.NoError(t, d.Tick(ctx))
	require.Len(t, rcv.calls, 2, "one call per change, each once")
	for i, want := range []string{"containment.applied", "containment.lifted"} {
		got := rcv.calls[i]
		require.Equal(t, want, got.header.Get("X-Incidentd-Event"))
		var p store.HookPayload
		require.NoError(t, json.Unmarshal(got.body, &p))
		require.Equal(t, want, p.Event)
		require.Equal(t, applied.ID, p.Containment.ID)
		require.Equal(t, "v1", p.Containment.FallbackVersion)
		ts, err := strconv.ParseInt(got.header.Get("X-Incidentd-Timestamp"), 10, 64)
		require.NoError(t, err)
		require.Equal(t, webhook.Sign([]byte(secret), ts, got.body), got.header.Get("X-Incidentd-Signature"))
	}
	var p store.HookPayload
	require.NoError(t, json.Unmarshal(rcv.calls[1].body, &p))
	require.Equal(t, "bob", p.Containment.LiftedBy)
	hs, err := db.ContainmentHooks(ctx, applied.ID)
	require.NoError(t, err)
	for _, h := range hs {
		require.False(t, h.DeliveredAt.IsZero())
		require.Equal(t, 1, h.Attempts)
	}
}

// TestFailuresRetriedAndVisible: 5xx are retried after their backoff until delivered; a
// refusal (4xx) is given up at once and shows on the incident's timeline, without the
// hook's secret URL.
func TestFailuresRetriedAndVisible(t *testing.T) {
	flaky := &receiver{codes: []int{http.StatusServiceUnavailable, http.StatusBadGateway}}
	fsrv := httptest.NewServer(flaky)
	defer fsrv.Close()
	refusing := &receiver{codes: []int{http.StatusForbidden}}
	rsrv := httptest.NewServer(refusing)
	defer rsrv.Close()
	db, clk, d, inc := setup(t, []Config{
		{Name: "flags", URL: fsrv.URL, Secret: secret},
		{Name: "rollback", URL: rsrv.URL + "/job?token=s3cr3t-token", Secret: secret, Actions: []string{"fallback"}},
	})
	ctx := context.Background()
	c, err := containment.Request{Model: "m-g", Action: "fallback", FallbackVersion: "v1", Reason: "drift", Incident: inc}.Validate(storetest.T0)
	require.NoError(t, err)
	applied, err := db.ApplyContainment(ctx, c, "alice")
	require.NoError(t, err)
	for i := 1; i <= 3; i++ {
		require.NoError(t, d.Tick(ctx))
		clk.Add(store.HookBackoff(i))
	}
	require.Len(t, flaky.calls, 3, "two 5xx then delivered")
	require.Len(t, refusing.calls, 1, "a 403 is not retried")
	hs, err := db.ContainmentHooks(ctx, applied.ID)
	require.NoError(t, err)
	byHook := map[string]store.HookDelivery{}
	for _, h := range hs {
		byHook[h.Hook] = h
	}
	require.False(t, byHook["flags"].DeliveredAt.IsZero())
	require.Equal(t, 3, byHook["flags"].Attempts)
	require.False(t, byHook["rollback"].GaveUpAt.IsZero())
	require.NotContains(t, byHook["rollback"].LastError, "s3cr3t-token")
	det, err := db.Get(ctx, inc)
	require.NoError(t, err)
	found := false
	for _, e := range det.Timeline {
		if e.Kind == "containment_hook_failed" {
			found = true
			require.Contains(t, e.Note, "hook rollback")
			require.NotContains(t, e.Note, "s3cr3t-token")
		}
	}
	require.True(t, found, "the failure is on the incident's timeline")
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Name: "a b", URL: "http://x", Secret: secret}, "containment_hooks[0].name"},
		{Config{Name: "a", URL: "ftp://x", Secret: secret}, "containment_hooks[0].url"},
		{Config{Name: "a", URL: "http://x", Secret: "short"}, "containment_hooks[0].secret"},
		{Config{Name: "a", URL: "http://x", Secret: secret, Actions: []string{"reroute"}}, "containment_hooks[0].actions[0]"},
		{Config{Name: "a", URL: "http://x", Secret: secret, Timeout: time.Hour}, "containment_hooks[0].timeout"},
	} {
		require.ErrorContains(t, Validate([]Config{tc.c}), tc.want)
	}
	require.ErrorContains(t, Validate([]Config{{Name: "a", URL: "http://x", Secret: secret}, {Name: "a", URL: "http://y", Secret: secret}}), "containment_hooks[1].name")
}
