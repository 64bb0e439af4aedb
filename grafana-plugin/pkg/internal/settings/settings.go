// Package settings reads and validates the configuration of one incidents datasource
// instance: the JSON Grafana stores for it plus the decrypted secure fields.
//
// Every problem is reported with the field name as the ConfigEditor shows it, because the
// user fixes it there, not in the plugin.
package settings

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Defaults of the optional fields.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxIncidents = 50000
	DefaultOpenLookback = 90 * 24 * time.Hour
)

// JSON is the non-secret part, as the ConfigEditor writes it to jsonData.
type JSON struct {
	// TimeoutSeconds bounds each HTTP request to incidentd.
	TimeoutSeconds float64 `json:"timeoutSeconds,omitempty"`
	// TLSSkipVerify disables certificate checks (test setups only).
	TLSSkipVerify bool `json:"tlsSkipVerify,omitempty"`
	// TLSCACert is a PEM bundle trusted in addition to the system roots.
	TLSCACert string `json:"tlsCACert,omitempty"`
	// LinkURL is the base of incident data links when users reach incidentd under another
	// address than Grafana's server does (e.g. through an ingress); empty means URL.
	LinkURL string `json:"linkUrl,omitempty"`
	// MaxIncidents caps how many incidents one query reads, so a huge range cannot
	// exhaust the plugin's memory; the frame then carries a notice.
	MaxIncidents int `json:"maxIncidents,omitempty"`
	// OpenLookbackDays is how far before the range "open incidents" counts look for
	// incidents that were detected earlier and were still open.
	OpenLookbackDays int `json:"openLookbackDays,omitempty"`
}

// Settings is a validated instance configuration.
type Settings struct {
	URL           *url.URL
	LinkURL       string
	Token         string
	Timeout       time.Duration
	TLSSkipVerify bool
	CAPool        *x509.CertPool // nil: system roots
	MaxIncidents  int
	OpenLookback  time.Duration
}

// SecureTokenKey is the secureJsonData key of the API token.
const SecureTokenKey = "apiToken"

// Load validates the instance settings Grafana passes.
func Load(s backend.DataSourceInstanceSettings) (*Settings, error) {
	var j JSON
	if len(s.JSONData) > 0 && string(s.JSONData) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(s.JSONData)))
		if err := dec.Decode(&j); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return nil, fmt.Errorf("jsonData.%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
			}
			return nil, fmt.Errorf("jsonData: not a JSON object: %w", err)
		}
	}
	out := &Settings{Token: strings.TrimSpace(s.DecryptedSecureJSONData[SecureTokenKey]), TLSSkipVerify: j.TLSSkipVerify}

	raw := strings.TrimSpace(s.URL)
	if raw == "" {
		return nil, errors.New("URL: required, the address of incidentd such as http://incidentd:9478")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("URL: expected an http(s) address such as http://incidentd:9478, got %q", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	// The API paths live under /api/v1; accept a URL that already names them.
	u.Path = strings.TrimSuffix(u.Path, "/api/v1")
	out.URL = u

	out.LinkURL = strings.TrimSuffix(strings.TrimSpace(j.LinkURL), "/")
	if out.LinkURL == "" {
		out.LinkURL = u.String()
	} else if lu, err := url.Parse(out.LinkURL); err != nil || lu.Host == "" || (lu.Scheme != "http" && lu.Scheme != "https") {
		return nil, fmt.Errorf("jsonData.linkUrl: expected an http(s) address, got %q", j.LinkURL)
	}

	switch {
	case j.TimeoutSeconds < 0:
		return nil, fmt.Errorf("jsonData.timeoutSeconds: expected a positive number of seconds, got %v", j.TimeoutSeconds)
	case j.TimeoutSeconds == 0:
		out.Timeout = DefaultTimeout
	default:
		out.Timeout = time.Duration(j.TimeoutSeconds * float64(time.Second))
	}

	if pem := strings.TrimSpace(j.TLSCACert); pem != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(pem)) {
			return nil, errors.New("jsonData.tlsCACert: expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)")
		}
		out.CAPool = pool
	}

	switch {
	case j.MaxIncidents < 0:
		return nil, fmt.Errorf("jsonData.maxIncidents: expected a positive number, got %d", j.MaxIncidents)
	case j.MaxIncidents == 0:
		out.MaxIncidents = DefaultMaxIncidents
	default:
		out.MaxIncidents = j.MaxIncidents
	}
	switch {
	case j.OpenLookbackDays < 0:
		return nil, fmt.Errorf("jsonData.openLookbackDays: expected a positive number of days, got %d", j.OpenLookbackDays)
	case j.OpenLookbackDays == 0:
		out.OpenLookback = DefaultOpenLookback
	default:
		out.OpenLookback = time.Duration(j.OpenLookbackDays) * 24 * time.Hour
	}
	return out, nil
}
