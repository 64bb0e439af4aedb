package app

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// startWorkers runs the background work until ctx ends, each loop apart so that a slow
// one never delays another: the escalation engine (routing, steps, deliveries), the
// heartbeat check, automatic containment, and the containment hooks, which call other
// systems (up to their timeout each). A negative EscalationInterval runs none of them (an
// API-only replica).
func (a *App) startWorkers(ctx context.Context, wg *sync.WaitGroup) {
	every := a.opts.EscalationInterval
	if every < 0 {
		return
	}
	wg.Go(func() { a.engine.Run(ctx, every) })
	wg.Go(func() {
		tick(ctx, every, a.logger, "heartbeat check", func(ctx context.Context) error { return a.rt.Load().watch(a).Check(ctx) })
	})
	wg.Go(func() { tick(ctx, every, a.logger, "containment tick", a.contain.Tick) })
	wg.Go(func() { tick(ctx, time.Second, a.logger, "containment hooks tick", a.hooks.Tick) })
}

// tick calls f at once and then every interval until ctx ends, logging its failures.
func tick(ctx context.Context, every time.Duration, logger *slog.Logger, what string, f func(context.Context) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := f(ctx); err != nil && ctx.Err() == nil {
			logger.Error(what+" failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
