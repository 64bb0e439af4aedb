package app

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const reconConfig = `
window: {sub_windows: 24, sub_window_duration: 1h}
reference: {capture_first: 0}
drift: {multivariate: true}
`

// flipRow is five standard normal features where x1 and x2 have correlation rho.
func flipRow(rng *rand.Rand, rho float64) []float64 {
	a, b := rng.NormFloat64(), rng.NormFloat64()
	return []float64{a, rho*a + math.Sqrt(1-rho*rho)*b, rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
}

// TestReconstructionDriftEndToEnd: a CSV reference whose x1 and x2 correlate at +0.8 is
// uploaded; a stream keeping every marginal but flipping the correlation to −0.8 leaves every
// univariate verdict quiet and sets aiops_reconstruction_drifted. The reconstruction survives a
// restart with the reference, and a version fed unchanged data stays quiet.
func TestReconstructionDriftEndToEnd(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	a, srv := clockApp(t, dir, reconConfig, clock)
	rng := rand.New(rand.NewPCG(5, 6))
	var csv strings.Builder
	csv.WriteString("x1,x2,x3,x4,x5\n")
	for range 5000 {
		r := flipRow(rng, 0.8)
		fmt.Fprintf(&csv, "%.6f,%.6f,%.6f,%.6f,%.6f\n", r[0], r[1], r[2], r[3], r[4])
	}
	for _, version := range []string{"flipped", "steady"} {
		status, out := request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/"+version+"/reference", "text/csv", []byte(csv.String()))
		require.Equal(t, http.StatusOK, status, "%v", out)
	}
	post := func(version string, rho float64, n int) {
		var b strings.Builder
		for range n {
			r := flipRow(rng, rho)
			fmt.Fprintf(&b, `{"model":"m","version":%q,"features":{"x1":%v,"x2":%v,"x3":%v,"x4":%v,"x5":%v}}`+"\n", version, r[0], r[1], r[2], r[3], r[4])
		}
		status, out := request(t, http.MethodPost, srv.URL+"/api/v1/events", "application/x-ndjson", []byte(b.String()))
		require.Equal(t, http.StatusOK, status, "%v", out)
	}
	post("flipped", -0.8, 2000)
	post("steady", 0.8, 2000)

	flipped := map[string]string{"model": "m", "version": "flipped"}
	steady := map[string]string{"model": "m", "version": "steady"}
	require.InDelta(t, 1, mustMetric(t, a, "aiops_reconstruction_drifted", flipped), 0)
	require.InDelta(t, 0, mustMetric(t, a, "aiops_reconstruction_drifted", steady), 0)
	require.Greater(t, mustMetric(t, a, "aiops_reconstruction_error", flipped), mustMetric(t, a, "aiops_reconstruction_error_upper_bound", flipped))
	for _, f := range []string{"x1", "x2", "x3", "x4", "x5"} {
		require.InDelta(t, 0, mustMetric(t, a, "aiops_feature_drifted", map[string]string{"version": "flipped", "feature": f}), 0, f)
	}
	require.InDelta(t, 0, mustMetric(t, a, "aiops_drifted_features_ratio", flipped), 0)

	// The reconstruction is part of the reference and is kept across a restart.
	require.NoError(t, a.Snapshot())
	require.NoError(t, a.store.Close())
	srv.Close()
	b, srv2 := clockApp(t, dir, reconConfig, clock)
	defer b.store.Close()
	require.InDelta(t, 1, mustMetric(t, b, "aiops_reconstruction_drifted", flipped), 0)
	status, out := request(t, http.MethodGet, srv2.URL+"/api/v1/models/m/versions/flipped/reference", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.NotNil(t, out["reconstruction"], "the exported profile carries the reconstruction")
}

// Off by default: without drift.multivariate no reconstruction family is exported.
func TestReconstructionOffByDefault(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a, srv := clockApp(t, t.TempDir(), "window: {sub_windows: 24, sub_window_duration: 1h}\n", clock)
	defer a.store.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	var csv strings.Builder
	csv.WriteString("x1,x2,x3,x4,x5\n")
	for range 500 {
		r := flipRow(rng, 0.8)
		fmt.Fprintf(&csv, "%v,%v,%v,%v,%v\n", r[0], r[1], r[2], r[3], r[4])
	}
	status, _ := request(t, http.MethodPut, srv.URL+"/api/v1/models/m/versions/v/reference", "text/csv", []byte(csv.String()))
	require.Equal(t, http.StatusOK, status)
	status, _ = request(t, http.MethodPost, srv.URL+"/api/v1/events", "", []byte(`{"model":"m","version":"v","features":{"x1":1,"x2":-1,"x3":0,"x4":0,"x5":0}}`))
	require.Equal(t, http.StatusOK, status)
	_, ok := metric(t, a, "aiops_reconstruction_error", map[string]string{"model": "m"})
	require.False(t, ok)
}
