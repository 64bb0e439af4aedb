package promapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/dashboards/promapi"
	"github.com/opscentre/opscentre/test/promtest"
	"github.com/opscentre/opscentre/test/testbin"
)

// TestQueryRealPrometheus reads every result type a real Prometheus gives as float
// series, and checks that its errors name the query and Prometheus' error type.
func TestQueryRealPrometheus(t *testing.T) {
	prom := promtest.Start(t, testbin.Prometheus(t, 3))
	api, err := promapi.New(prom.URL, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	at := time.Unix(1_700_000_000, 250e6)

	got, err := promapi.Query(ctx, api, `label_replace(vector(1.5), "model", "fraud", "", "")`, at)
	require.NoError(t, err)
	require.Equal(t, []promapi.Sample{{Metric: map[string]string{"model": "fraud"}, Values: []promapi.Point{{T: at, V: 1.5}}}}, got)

	got, err = promapi.Query(ctx, api, `label_replace(vector(1), "model", "a", "", "") or label_replace(vector(2), "model", "b", "", "")`, at)
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"a": 1, "b": 2}, promapi.ByLabel(got, "model"))

	got, err = promapi.Query(ctx, api, `scalar(vector(3))`, at)
	require.NoError(t, err)
	require.Equal(t, []promapi.Sample{{Metric: map[string]string{}, Values: []promapi.Point{{T: at, V: 3}}}}, got)

	got, err = promapi.Query(ctx, api, `vector(1)[3s:1s]`, at)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Len(t, got[0].Values, 3, "a range vector is a matrix")

	got, err = promapi.QueryRange(ctx, api, `time()`, v1.Range{Start: at.Add(-2 * time.Second), End: at, Step: time.Second})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, []promapi.Point{{T: at.Add(-2 * time.Second), V: 1_699_999_998.25}, {T: at.Add(-time.Second), V: 1_699_999_999.25}, {T: at, V: 1_700_000_000.25}}, got[0].Values)

	_, err = promapi.Query(ctx, api, `sum(`, at)
	require.ErrorContains(t, err, `query "sum(": bad_data: `)
	_, err = promapi.QueryRange(ctx, api, `up`, v1.Range{Start: at, End: at.Add(-time.Hour), Step: time.Second})
	require.ErrorContains(t, err, `range query "up": bad_data: `)
	_, err = promapi.Query(ctx, api, `"text"`, at)
	require.ErrorContains(t, err, `query "\"text\"": bad_response: `)
}

// TestQueryNamesHTTPStatus: a proxy in front of Prometheus that fails gives an error that
// names the query and the HTTP status, not a JSON decoding error.
func TestQueryNamesHTTPStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer srv.Close()
	api, err := promapi.New(srv.URL, srv.Client())
	require.NoError(t, err)
	_, err = promapi.Query(context.Background(), api, "up", time.Now())
	require.EqualError(t, err, `query "up": server_error: server error: 502`)
}

func TestNewRejectsBadAddress(t *testing.T) {
	_, err := promapi.New("http://[::1", nil)
	require.ErrorContains(t, err, `prometheus address "http://[::1": `)
}
