// Package notifytest holds the checks every notification channel's tests share.
package notifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// NoSecret fails the test if any of the secrets appears in the error, in what the
// channel logged, or in its configuration as the API would show it (JSON and fmt).
func NoSecret(t *testing.T, secrets []string, err error, logs *bytes.Buffer, cfg any) {
	t.Helper()
	var texts []string
	if err != nil {
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	}
	if logs != nil {
		texts = append(texts, logs.String())
	}
	if cfg != nil {
		j, jerr := json.Marshal(cfg)
		require.NoError(t, jerr)
		texts = append(texts, string(j), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg))
	}
	for _, s := range secrets {
		require.NotEmpty(t, s)
		for _, text := range texts {
			require.False(t, strings.Contains(text, s), "secret %q leaked in %q", s, text)
		}
	}
}

// Logger returns a logger writing text into a buffer the test can check.
func Logger() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}
