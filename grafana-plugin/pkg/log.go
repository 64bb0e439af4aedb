package main

import (
	"context"
	"log/slog"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// slogHandler sends slog records to the SDK's logger, whose output format (hclog JSON on
// stderr) is the one Grafana parses into its own log with the plugin id attached.
type slogHandler struct {
	l log.Logger
}

func (h slogHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	switch h.l.Level() {
	case log.Debug, log.Trace:
		return true
	case log.Info, log.NoLevel:
		return lvl >= slog.LevelInfo
	case log.Warn:
		return lvl >= slog.LevelWarn
	}
	return lvl >= slog.LevelError
}

func (h slogHandler) Handle(_ context.Context, r slog.Record) error {
	args := make([]any, 0, 2*r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, a.Key, a.Value.Any())
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		h.l.Error(r.Message, args...)
	case r.Level >= slog.LevelWarn:
		h.l.Warn(r.Message, args...)
	case r.Level >= slog.LevelInfo:
		h.l.Info(r.Message, args...)
	default:
		h.l.Debug(r.Message, args...)
	}
	return nil
}

func (h slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	args := make([]any, 0, 2*len(attrs))
	for _, a := range attrs {
		args = append(args, a.Key, a.Value.Any())
	}
	return slogHandler{h.l.With(args...)}
}

// WithGroup is not needed by the plugin's flat key/value logging; groups are flattened.
func (h slogHandler) WithGroup(string) slog.Handler { return h }
