package promapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	got, err := Decode(strings.NewReader(`{"status":"success","data":{"resultType":"matrix","result":[
		{"metric":{"model":"m"},"values":[[1700000000,"1.5"],[1700000001.5,"NaN"]]}]}}`))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, map[string]string{"model": "m"}, got[0].Metric)
	require.Equal(t, 1.5, got[0].Values[0].V)
	require.Equal(t, time.Unix(1700000001, 5e8), got[0].Values[1].T)

	got, err = Decode(strings.NewReader(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}`))
	require.NoError(t, err)
	require.Equal(t, 2.0, got[0].Values[0].V)

	got, err = Decode(strings.NewReader(`{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}`))
	require.NoError(t, err)
	require.Equal(t, 3.0, got[0].Values[0].V)

	for body, want := range map[string]string{
		`{"status":"error","errorType":"bad_data","error":"parse error"}`:                                "bad_data: parse error",
		`{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`:                           `result type "string" is not vector, matrix or scalar`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}}`:       "sample has 1 fields, want 2",
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}`:     "is not a string",
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["a","2"]}]}}`: "sample time a is not a number",
		`<html>`: "decode response",
		`{}`:     `response status "", want "success"`,
	} {
		_, err := Decode(strings.NewReader(body))
		require.ErrorContains(t, err, want, body)
	}
}

func TestQuerySendsFormAndReportsHTTPStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		if r.Form.Get("query") == "bad(" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"unexpected end of input"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"q":"` + r.Form.Get("query") + `"},"value":[1,"1"]}]}}`))
	}))
	defer srv.Close()
	got, err := Query(context.Background(), srv.Client(), srv.URL, "/api/v1/query", url.Values{"query": {"up"}})
	require.NoError(t, err)
	require.Equal(t, "up", got[0].Metric["q"])
	_, err = Query(context.Background(), srv.Client(), srv.URL, "/api/v1/query", url.Values{"query": {"bad("}})
	require.EqualError(t, err, "query /api/v1/query (HTTP 400): bad_data: unexpected end of input")
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"]]}]}}`)
	f.Add(`{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}`)
	f.Add(`{"status":"error","errorType":"x","error":"y"}`)
	f.Fuzz(func(t *testing.T, body string) {
		_, _ = Decode(strings.NewReader(body))
	})
}
