package escalation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify/webhook"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/routing"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/postgres"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/sqlite"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store/storetest"
	"github.com/opscentre/opscentre/test/notifytest"
	"github.com/opscentre/opscentre/test/testbin"
)

// The team works 09:00–17:00 Europe/Berlin; alice/bob and carol/dave rotate weekly from
// Monday 2026-11-02 09:00, so from Monday 2026-11-30 09:00 alice is primary and carol
// secondary (before that hand-off, bob and dave).
const onCallYAML = `
teams:
- name: risk
  business_hours: {timezone: Europe/Berlin, start: "09:00", end: "17:00"}
  schedules:
  - {name: primary, timezone: Europe/Berlin, rotation: weekly, start: 2026-11-02, handoff: "09:00", members: [alice, bob]}
  - {name: secondary, timezone: Europe/Berlin, rotation: weekly, start: 2026-11-02, handoff: "09:00", members: [carol, dave]}
`

var channels = []string{"alice", "bob", "carol", "dave", "queue", "backlog"}

type harness struct {
	t     *testing.T
	clock *storetest.Clock
	db    *store.DB
	eng   *escalation.Engine
	srv   *notifytest.Server
	cfg   *escalation.Config
	reg   *prometheus.Registry
}

func config(t testing.TB, srv *notifytest.Server, now func() time.Time) *escalation.Config {
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(onCallYAML), &node))
	var oc oncall.Config
	require.NoError(t, node.Decode(&oc))
	dir, err := oncall.Compile(oc, node.Content[0])
	require.NoError(t, err)
	known := map[string]bool{}
	chans := map[string]notify.Notifier{}
	people := map[string][]string{}
	for _, c := range channels {
		known[c] = true
		chans[c] = webhook.New(webhook.Config{URL: srv.URL + "/" + c, Secret: "0123456789abcdef"}, nil, now)
		people[c] = []string{c}
	}
	pols, err := escalation.CompilePolicies([]escalation.PolicyConfig{{Name: "risk", Steps: []escalation.StepConfig{
		{Targets: []escalation.Target{{Schedule: "primary"}}},
		{Delay: 10 * 60e9, Targets: []escalation.Target{{Schedule: "secondary"}}},
	}}}, dir, people, known)
	require.NoError(t, err)
	rc := &routing.Config{Default: routing.Route{Team: "risk", EscalationPolicy: "risk", QueueChannel: "queue"}, BacklogChannel: "backlog"}
	require.NoError(t, rc.Compile(map[string]bool{"risk": true}, known, dir))
	return &escalation.Config{Routing: rc, Policies: pols, People: people, Directory: dir, Channels: chans,
		IncidentURL: "https://grafana.example/incidents/%d", MaxAge: time.Hour}
}

func newHarness(t *testing.T, db *store.DB, clock *storetest.Clock, srv *notifytest.Server) *harness {
	h := &harness{t: t, clock: clock, db: db, srv: srv, reg: prometheus.NewRegistry()}
	h.cfg = config(t, srv, clock.Now)
	h.eng = escalation.New(escalation.Options{Store: db, Config: func() *escalation.Config { return h.cfg }, Now: clock.Now, Registerer: h.reg})
	return h
}

func start(t *testing.T, at time.Time, statuses ...int) *harness {
	clock := storetest.NewClock(at)
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "i.db"), Config: store.DefaultConfig(), Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return newHarness(t, db, clock, notifytest.NewServer(t, statuses...))
}

func (h *harness) tick() {
	h.t.Helper()
	require.NoError(h.t, h.eng.Tick(context.Background()))
}

// fire ingests one firing alert of group g with the tier, starting at the clock's time.
func (h *harness) fire(g string, tier incident.Tier, start time.Time) int64 {
	h.t.Helper()
	m := storetest.Msg(g, storetest.A{FP: g, Start: start.Sub(storetest.T0), Labels: map[string]string{"tier": string(tier), "team": "risk"}})
	m.Status = "firing"
	m.Alerts[0].Annotations["runbook_url"] = "https://runbooks.example/" + g
	out, err := h.db.Ingest(context.Background(), m)
	require.NoError(h.t, err)
	require.Len(h.t, out.Incidents, 1)
	return out.Incidents[0]
}

func (h *harness) resolve(g string, start, end time.Time) {
	h.t.Helper()
	m := storetest.Msg(g, storetest.A{FP: g, Start: start.Sub(storetest.T0), End: end.Sub(storetest.T0), Labels: map[string]string{"team": "risk"}})
	_, err := h.db.Ingest(context.Background(), m)
	require.NoError(h.t, err)
}

// sent lists what the fake server received as "channel kind [recipient step]".
func (h *harness) sent() []string {
	var out []string
	for _, r := range h.srv.Requests() {
		var m notify.Message
		require.NoError(h.t, json.Unmarshal(r.Body, &m))
		s := strings.TrimPrefix(r.Path, "/") + " " + m.Kind
		if m.Recipient != "" {
			s += fmt.Sprintf(" %s step %d", m.Recipient, m.Step)
		}
		out = append(out, s)
	}
	return out
}

func (h *harness) timeline(id int64) string {
	d, err := h.db.Get(context.Background(), id)
	require.NoError(h.t, err)
	var b strings.Builder
	for _, e := range d.Timeline {
		b.WriteString(e.Kind + ": " + e.Note + "\n")
	}
	return b.String()
}

func berlin(s string) time.Time {
	loc, _ := time.LoadLocation("Europe/Berlin")
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func TestP1AtNightPagesPrimaryThenSecondary(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	id := h.fire("db-down", incident.P1, h.clock.Now())
	h.tick()
	require.Equal(t, []string{"alice trigger alice step 1"}, h.sent(), "P1 at 03:00 pages the primary at once")
	var m notify.Message
	require.NoError(t, json.Unmarshal(h.srv.Requests()[0].Body, &m))
	require.Equal(t, "https://runbooks.example/db-down", m.RunbookURL)
	require.Equal(t, fmt.Sprintf("https://grafana.example/incidents/%d", id), m.IncidentURL)

	h.clock.Add(9*time.Minute + 59*time.Second)
	h.tick()
	require.Len(t, h.sent(), 1, "the secondary waits for the step's delay")
	h.clock.Add(time.Second)
	h.tick()
	require.Equal(t, []string{"alice trigger alice step 1", "carol trigger carol step 2"}, h.sent())
	h.clock.Add(time.Hour)
	h.tick()
	require.Len(t, h.sent(), 2, "the policy has two steps and no repeat")

	_, err := h.db.Ack(context.Background(), id, store.Action{Actor: "carol"})
	require.NoError(t, err)
	h.tick()
	h.tick()
	require.Equal(t, []string{"alice trigger alice step 1", "carol trigger carol step 2", "alice acknowledge", "carol acknowledge"}, h.sent())
	require.Contains(t, h.timeline(id), "escalation step 1 (round 1) of risk: paged alice (on call for primary) via alice")

	require.Equal(t, 1.0, metric(t, h.reg, "incidentd_pages_total", "carol"))
	require.Equal(t, 1.0, metric(t, h.reg, "incidentd_escalations_total", "2"))
}

func TestAckStopsEscalation(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	id := h.fire("db-down", incident.P1, h.clock.Now())
	h.tick()
	h.clock.Add(5 * time.Minute)
	_, err := h.db.Ack(context.Background(), id, store.Action{Actor: "alice"})
	require.NoError(t, err)
	h.tick()
	h.clock.Add(time.Hour)
	h.tick()
	require.Equal(t, []string{"alice trigger alice step 1", "alice acknowledge"}, h.sent())
	require.Contains(t, h.timeline(id), "acknowledged: escalation stopped")
}

func TestP2AtNightIsHeldUntilBusinessHours(t *testing.T) {
	h := start(t, berlin("2026-11-30 22:00"))
	id := h.fire("drift", incident.P2, h.clock.Now())
	h.tick()
	require.Empty(t, h.sent())
	require.Contains(t, h.timeline(id), "held until Tue 2026-12-01 09:00 CET")
	st, err := escalation.StatusOf(context.Background(), h.db, id)
	require.NoError(t, err)
	require.Equal(t, escalation.Status{Team: "risk", Policy: "risk", Tier: "P2", Action: store.EscalationHold, State: store.EscalationPending, Step: 1, DueAt: berlin("2026-12-01 09:00").UTC()}, *st)
	h.clock.Set(berlin("2026-12-01 08:59"))
	h.tick()
	require.Empty(t, h.sent())
	h.clock.Set(berlin("2026-12-01 09:00"))
	h.tick()
	require.Equal(t, []string{"alice trigger alice step 1"}, h.sent(), "paged when business hours start")
	sum, count := histogram(t, h.reg, "incidentd_detection_to_notification_seconds")
	require.Equal(t, uint64(1), count)
	require.Equal(t, (11 * time.Hour).Seconds(), sum, "detected 22:00, first page 09:00")
}

func histogram(t *testing.T, reg *prometheus.Registry, name string) (float64, uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleSum(), h.GetSampleCount()
		}
	}
	t.Fatalf("no %s", name)
	return 0, 0
}

func TestP2InBusinessHoursPagesAtOnce(t *testing.T) {
	h := start(t, berlin("2026-12-01 10:00"))
	h.fire("drift", incident.P2, h.clock.Now())
	h.tick()
	require.Equal(t, []string{"alice trigger alice step 1"}, h.sent())
}

func TestP3QueuedP4BacklogNeverPaged(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	p3 := h.fire("feature-drift", incident.P3, h.clock.Now())
	p4 := h.fire("nulls", incident.P4, h.clock.Now())
	for range 10 {
		h.tick()
		h.clock.Add(6 * time.Hour)
	}
	require.ElementsMatch(t, []string{"queue queue", "backlog backlog"}, h.sent())
	require.Contains(t, h.timeline(p3), "P3 goes to the team's queue")
	require.Contains(t, h.timeline(p4), "never paged; sent to backlog")
}

func TestMaintenanceWindowSuppresses(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	w, err := maintenance.Normalize(maintenance.Input{Matchers: maintenance.Matchers{Equal: map[string]string{"team": "risk"}}, End: h.clock.Now().Add(2 * time.Hour).Format(time.RFC3339), Reason: "database upgrade"}, "alice", h.clock.Now())
	require.NoError(t, err)
	_, err = maintenance.Store{DB: h.db}.Add(context.Background(), w)
	require.NoError(t, err)
	id := h.fire("db-down", incident.P1, h.clock.Now())
	h.tick()
	h.clock.Add(time.Hour)
	h.tick()
	require.Empty(t, h.sent())
	require.Contains(t, h.timeline(id), "inside maintenance window #1 (database upgrade")
	d, err := h.db.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, incident.Detected, d.State, "the incident is recorded")
}

func TestFlapReopensWithoutSecondPage(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	t0 := h.clock.Now()
	id := h.fire("db-down", incident.P1, t0)
	h.tick()
	h.clock.Add(2 * time.Minute)
	h.resolve("db-down", t0, h.clock.Now())
	h.tick()
	require.Equal(t, []string{"alice trigger alice step 1", "alice resolve"}, h.sent(), "resolve stops escalation and notifies")
	h.clock.Add(5 * time.Minute) // within the 30m reopen window
	again := h.fire("db-down", incident.P1, h.clock.Now())
	require.Equal(t, id, again, "the re-fire reopens the incident")
	for range 3 {
		h.tick()
		h.clock.Add(10 * time.Minute)
	}
	require.Equal(t, []string{"alice trigger alice step 1", "alice resolve"}, h.sent(), "no second page")
	require.Contains(t, h.timeline(id), "reopened (1 times so far) at tier P1: noted, not paged again")
}

func TestDeliveryRetriesWithBackoff(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"), http.StatusServiceUnavailable, http.StatusBadGateway)
	id := h.fire("db-down", incident.P1, h.clock.Now())
	h.tick()
	h.clock.Add(9 * time.Second)
	h.tick()
	require.Len(t, h.srv.Requests(), 1, "first retry after 10s")
	h.clock.Add(time.Second)
	h.tick()
	require.Len(t, h.srv.Requests(), 2)
	h.clock.Add(20 * time.Second)
	h.tick()
	require.Len(t, h.srv.Requests(), 3, "second retry after 20s, delivered")
	ds, err := escalation.Deliveries(context.Background(), h.db, id)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, store.OutboxSent, ds[0].Status)
	require.Equal(t, 3, ds[0].Attempts)
	require.Equal(t, 2.0, metric(t, h.reg, "incidentd_notifications_failed_total", "alice"))
	require.Equal(t, 1.0, metric(t, h.reg, "incidentd_notifications_sent_total", "alice"))
}

// Two replicas share one PostgreSQL database and tick concurrently while time passes:
// every escalation step is sent exactly once.
func TestTwoReplicasSendEachStepOnce(t *testing.T) {
	dsn := testbin.PostgresDatabase(t)
	clock := storetest.NewClock(berlin("2026-12-01 03:00"))
	srv := notifytest.NewServer(t)
	var hs []*harness
	for range 2 {
		db, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn, Config: store.DefaultConfig(), Now: clock.Now, MaxConns: 4})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		hs = append(hs, newHarness(t, db, clock, srv))
	}
	const n = 12
	for i := range n {
		hs[i%2].fire(fmt.Sprintf("g%d", i), incident.P1, clock.Now())
	}
	for range 15 {
		var wg sync.WaitGroup
		for _, h := range hs {
			for range 2 {
				wg.Add(1)
				go func() { defer wg.Done(); require.NoError(t, h.eng.Tick(context.Background())) }()
			}
		}
		wg.Wait()
		clock.Add(time.Minute)
	}
	got := hs[0].sent()
	sort.Strings(got)
	var want []string
	for range n {
		want = append(want, "alice trigger alice step 1", "carol trigger carol step 2")
	}
	sort.Strings(want)
	require.Equal(t, want, got)
}

// metric sums the samples of a family whose first label has the value.
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == label {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}

func TestReopenAtHigherTierPagesAgain(t *testing.T) {
	h := start(t, berlin("2026-12-01 10:00"))
	t0 := h.clock.Now()
	id := h.fire("drift", incident.P2, t0)
	h.tick()
	h.clock.Add(2 * time.Minute)
	h.resolve("drift", t0, h.clock.Now())
	h.tick()
	h.clock.Add(5 * time.Minute)
	require.Equal(t, id, h.fire("drift", incident.P1, h.clock.Now()), "reopened, now P1")
	h.tick() // notices the reopen
	h.tick() // runs the first step
	require.Equal(t, []string{"alice trigger alice step 1", "alice resolve", "alice trigger alice step 1"}, h.sent())
	require.Contains(t, h.timeline(id), "reopened at a higher tier (P2 → P1): escalating again")
}

func TestRepeatRunsTheStepsAgain(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	pol := h.cfg.Policies["risk"]
	pol.Repeat, pol.RepeatAfter = 2, 15*time.Minute
	h.cfg.Policies["risk"] = pol
	h.fire("db-down", incident.P1, h.clock.Now())
	for range 8 {
		h.tick()
		h.clock.Add(5 * time.Minute)
	}
	require.Equal(t, []string{"alice trigger alice step 1", "carol trigger carol step 2", "alice trigger alice step 1", "carol trigger carol step 2"}, h.sent(),
		"0m, 10m, then again at 25m and 35m")
	ds, err := escalation.Deliveries(context.Background(), h.db, 1)
	require.NoError(t, err)
	require.Equal(t, berlin("2026-12-01 03:25").UTC(), ds[2].CreatedAt)
}

// TestUnreadableOutboxRowBlocksNothing: a queued message whose payload cannot be read (a
// hand edit, a write from a newer version) is reported on every round, and every other
// notification is still delivered. It used to fail the claim of the whole batch, so one
// bad row stopped every page.
func TestUnreadableOutboxRowBlocksNothing(t *testing.T) {
	h := start(t, berlin("2026-12-01 03:00"))
	first := h.fire("db-down", incident.P1, h.clock.Now())
	require.NoError(t, h.db.UpdateEscalations(context.Background(), "test", func(ctx context.Context, tx *store.EscalationTx) error {
		_, err := tx.Enqueue(ctx, store.OutboxMessage{IncidentID: first, Channel: "alice", Kind: notify.KindTrigger, Payload: []byte(`{"kind":`), Dedup: "broken", At: h.clock.Now()})
		return err
	}))
	h.fire("api-down", incident.P1, h.clock.Now())
	err := h.eng.Tick(context.Background())
	require.ErrorContains(t, err, "payload")
	require.ElementsMatch(t, []string{"alice trigger alice step 1", "alice trigger alice step 1"}, h.sent(), "both incidents paged despite the unreadable row")
}
