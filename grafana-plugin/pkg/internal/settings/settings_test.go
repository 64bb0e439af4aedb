package settings

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	s, err := Load(backend.DataSourceInstanceSettings{
		URL:                     "http://incidentd:9478/api/v1/",
		JSONData:                json.RawMessage(`{"timeoutSeconds":2.5,"tlsSkipVerify":true,"maxIncidents":10,"openLookbackDays":7}`),
		DecryptedSecureJSONData: map[string]string{"apiToken": " tok \n"},
	})
	require.NoError(t, err)
	require.Equal(t, "http://incidentd:9478", s.URL.String())
	require.Equal(t, "http://incidentd:9478", s.LinkURL)
	require.Equal(t, "tok", s.Token)
	require.Equal(t, 2500*time.Millisecond, s.Timeout)
	require.True(t, s.TLSSkipVerify)
	require.Equal(t, 10, s.MaxIncidents)
	require.Equal(t, 7*24*time.Hour, s.OpenLookback)

	s, err = Load(backend.DataSourceInstanceSettings{URL: "https://incidentd.example"})
	require.NoError(t, err)
	require.Equal(t, DefaultTimeout, s.Timeout)
	require.Equal(t, DefaultMaxIncidents, s.MaxIncidents)
	require.Equal(t, DefaultOpenLookback, s.OpenLookback)
	require.Nil(t, s.CAPool)
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		url, json, want string
	}{
		{"", `{}`, "URL: required"},
		{"incidentd:9478", `{}`, `URL: expected an http(s) address such as http://incidentd:9478, got "incidentd:9478"`},
		{"http://", `{}`, "URL: expected an http(s) address"},
		{"http://x", `{"timeoutSeconds":"30"}`, "jsonData.timeoutSeconds: expected float64, got JSON string"},
		{"http://x", `{"timeoutSeconds":-1}`, "jsonData.timeoutSeconds: expected a positive number of seconds"},
		{"http://x", `{"maxIncidents":-5}`, "jsonData.maxIncidents: expected a positive number"},
		{"http://x", `{"openLookbackDays":-5}`, "jsonData.openLookbackDays: expected a positive number of days"},
		{"http://x", `{"tlsCACert":"not pem"}`, "jsonData.tlsCACert: expected one or more PEM certificates"},
		{"http://x", `{"linkUrl":"/relative"}`, `jsonData.linkUrl: expected an http(s) address, got "/relative"`},
		{"http://x", `[1]`, "jsonData: not a JSON object"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Load(backend.DataSourceInstanceSettings{URL: tc.url, JSONData: json.RawMessage(tc.json)})
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("http://incidentd:9478", `{"timeoutSeconds":3}`)
	f.Add("https://x/api/v1", `{"tlsCACert":"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"}`)
	f.Add("", `null`)
	f.Fuzz(func(t *testing.T, url, j string) {
		s, err := Load(backend.DataSourceInstanceSettings{URL: url, JSONData: json.RawMessage(j)})
		if err != nil {
			return
		}
		if s.URL == nil || s.URL.Host == "" || s.Timeout <= 0 || s.MaxIncidents <= 0 || s.OpenLookback <= 0 {
			t.Fatalf("accepted settings are incomplete: %+v", s)
		}
	})
}
