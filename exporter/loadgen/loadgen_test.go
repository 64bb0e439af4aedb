package loadgen

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/ingest"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

func TestLoadAgainstIngest(t *testing.T) {
	st := state.New(config.Default(), state.Options{})
	srv := httptest.NewServer(ingest.New(st, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for _, gz := range []bool{false, true} {
		var out bytes.Buffer
		err := Run(context.Background(), []string{"-url", srv.URL, "-duration", "1s", "-workers", "2",
			"-batch", "50", "-gzip=" + strconv.FormatBool(gz),
			"-exporter-pid", strconv.Itoa(os.Getpid())}, &out, &out)
		require.NoError(t, err)
		require.Regexp(t, `^sent [1-9][0-9]* events \(0 rejected\) in [0-9]+ requests over [0-9.]+s: [0-9]+ events/s(; exporter CPU [0-9.]+s: [0-9]+ events per exporter CPU-second)?\n$`, out.String())
	}
	var total uint64
	for _, v := range st.Versions() {
		total += v.Read(time.Now()).Counters.Events
		require.Len(t, v.Read(time.Now()).Features, 20)
	}
	require.Positive(t, total)
}

func TestBadOptions(t *testing.T) {
	_, err := Load(context.Background(), Options{})
	require.ErrorContains(t, err, "must be positive")
	_, err = cpuTime(1 << 30)
	require.ErrorContains(t, err, "reading exporter CPU time")
}
