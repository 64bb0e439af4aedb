package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/api"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/config"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/containhook"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/heartbeat"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/maintenance"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/webhook"
)

// runtime is everything derived from one load of the configuration file. It is never
// changed after it is made: a reload builds a new one and swaps it in whole, and each
// request or worker tick reads one runtime from start to end, so no reader ever mixes
// the tokens of one file with the routing or schedules of another.
type runtime struct {
	cfg  *config.Config
	auth *auth.Authenticator
	// store is the incident policy (grouping, reopen window, SLA, hook targets). The store
	// keeps its own copy for the workers (store.DB.SetConfig), handed over just before the
	// swap; requests carry their runtime's own (store.WithConfig).
	store store.Config
	// response is the escalation worker's whole configuration: routing, policies, people,
	// channels and the on-call directory they page through.
	response     *escalation.Config
	heartbeats   []heartbeat.Config
	containments *containment.Compiled
	hooks        []containhook.Config
	// api answers /api/v1 under this configuration (bound by App.install).
	api http.Handler
}

// loadRuntime reads the file (path "" means the built-in defaults) and derives the rest.
func loadRuntime(path string) (*runtime, error) {
	c := config.Default()
	cfg := &c
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, err
		}
	}
	a, err := cfg.Authenticator()
	if err != nil {
		return nil, err
	}
	return &runtime{cfg: cfg, auth: a, store: cfg.Store(), response: cfg.Response(),
		heartbeats: append([]heartbeat.Config(nil), cfg.Heartbeats...), containments: cfg.Containments(),
		hooks: append([]containhook.Config(nil), cfg.ContainmentHooks...)}, nil
}

// directory is the on-call directory: the API shows the same one the worker pages with.
func (rt *runtime) directory() *oncall.Directory { return rt.response.Directory }

// watch is the heartbeat watch with this runtime's heartbeats.
func (rt *runtime) watch(a *App) *heartbeat.Watch {
	return &heartbeat.Watch{DB: a.db, Ingest: webhook.Storing(a.db), Now: a.opts.Now, Config: func() []heartbeat.Config { return rt.heartbeats }}
}

// apiOptions wires the API for rt: every field is set (wiring_test checks it), Evidence
// only when a Prometheus is configured.
func (a *App) apiOptions(rt *runtime) api.Options {
	return api.Options{
		Store: a.apiStore, Evidence: a.evidence, Webhook: a.webhook, Logger: a.logger.With("component", "api"), Now: a.opts.Now,
		Auth:         func() *auth.Authenticator { return rt.auth },
		OnCall:       rt.directory,
		Maintenance:  maintenance.Store{DB: a.db},
		Containments: a.db,
		Deliveries: func(ctx context.Context, id int64) ([]escalation.Delivery, error) {
			ds, err := escalation.Deliveries(ctx, a.db, id)
			return rt.response.RedactDeliveries(ds), err
		},
		Escalation: func(ctx context.Context, id int64) (*escalation.Status, error) {
			return escalation.StatusOf(ctx, a.db, id)
		},
	}
}

// install binds rt's API and makes rt the configuration in force.
func (a *App) install(rt *runtime) {
	rt.api = api.New(a.apiOptions(rt))
	a.rt.Store(rt)
}

// reload re-reads the configuration file; on error the previous one stays in force.
func (a *App) reload(actor string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	rt, err := loadRuntime(a.opts.ConfigFile)
	if err != nil {
		a.reloadOK.Set(0)
		a.logger.Error("configuration reload failed; keeping the previous one", "err", err)
		return err
	}
	a.db.SetConfig(rt.store)
	a.install(rt)
	a.reloadOK.Set(1)
	a.reloadTime.SetToCurrentTime()
	warnOpen(a.logger, rt.auth)
	a.logger.Info("configuration reloaded", "file", a.opts.ConfigFile)
	return a.db.RecordAudit(context.Background(), actor, "config.reload", "config", nil, map[string]any{"file": a.opts.ConfigFile})
}

// runtimeKey carries a request's runtime in its context, so the webhook's authorizer and
// ingest chain read the same configuration the request was routed under.
type runtimeKey struct{}

// pin serves r under the runtime in force when it arrived, the store's incident policy
// included (store.WithConfig).
func (a *App) pin(r *http.Request) (*runtime, *http.Request) {
	rt := a.rt.Load()
	ctx := store.WithConfig(context.WithValue(r.Context(), runtimeKey{}, rt), rt.store)
	return rt, r.WithContext(ctx)
}

// runtimeOf is the runtime a request was pinned to, or the one in force.
func (a *App) runtimeOf(ctx context.Context) *runtime {
	if rt, ok := ctx.Value(runtimeKey{}).(*runtime); ok {
		return rt
	}
	return a.rt.Load()
}

// webhookAuthorizer checks Alertmanager's credentials against the request's runtime.
type webhookAuthorizer struct{ a *App }

func (w webhookAuthorizer) AuthorizeWebhook(r *http.Request) bool {
	return w.a.runtimeOf(r.Context()).auth.AuthorizeWebhook(r)
}

// heartbeatIngester takes the request's heartbeats out of a notification and stores the
// rest.
type heartbeatIngester struct{ a *App }

func (h heartbeatIngester) Ingest(ctx context.Context, m *webhook.Message) (webhook.Outcome, error) {
	return h.a.runtimeOf(ctx).watch(h.a).Ingester(webhook.Storing(h.a.db)).Ingest(ctx, m)
}

func warnOpen(logger *slog.Logger, a *auth.Authenticator) {
	if a.WebhookOpen() {
		logger.Warn("webhook accepts notifications without credentials; set webhook.bearer_token_sha256 or webhook.basic_auth_users")
	}
	if a.Open() {
		logger.Warn("no API tokens configured: the API is read-only for everyone")
	}
}
