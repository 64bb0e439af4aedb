package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// CheckHealth tells the user, in the datasource settings page, whether incidentd is reached
// and the token works, and what to change when not.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	fail := func(format string, a ...any) (*backend.CheckHealthResult, error) {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: fmt.Sprintf(format, a...)}, nil
	}
	url := d.settings.URL.String()
	if err := d.client.Healthy(ctx); err != nil {
		switch st := incidentd.StatusOf(err); {
		case st == 0 && errors.Is(err, context.DeadlineExceeded):
			return fail("incidentd at %s did not answer within %s. Check the URL and the network path from the Grafana server, or raise the timeout.", url, d.settings.Timeout)
		case st == 0:
			return fail("Cannot reach incidentd at %s: %v. Check the URL (incidentd listens on :9478 by default) and that it is running and reachable from the Grafana server.", url, errors.Unwrap(err))
		case st == http.StatusNotFound:
			return fail("%s answered 404 for /-/healthy: this does not look like incidentd. Set the URL to incidentd's address, e.g. http://incidentd:9478.", url)
		default:
			return fail("incidentd at %s is not healthy: %v", url, err)
		}
	}
	since := d.o.Now().Add(-30 * 24 * time.Hour)
	page, err := d.client.ListPage(ctx, incidentdFilterSince(since), 1, "")
	if err != nil {
		switch incidentd.StatusOf(err) {
		case http.StatusUnauthorized:
			if d.settings.Token == "" {
				return fail("incidentd requires an API token: set the API token in the datasource settings (a token with role responder and delegate: true in incidentd's configuration).")
			}
			return fail("incidentd rejected the API token (401). Check that the token in the datasource settings is one listed in incidentd's configuration.")
		case http.StatusForbidden:
			return fail("incidentd refused the token (403): %v. Give it at least role viewer (responder to act on incidents).", err)
		case http.StatusNotFound:
			return fail("%s has no /api/v1/incidents: this is not incidentd, or an older version. Set the URL to incidentd's address.", url)
		}
		if errors.Is(err, incidentd.ErrNotIncidentd) {
			return fail("%s answered, but not with incidentd's JSON: %v", url, err)
		}
		return fail("Listing incidents failed: %v", err)
	}
	// Actions are sent in the Grafana user's name; a token that may not delegate can read
	// but every action would fail, so say so now rather than at the first click.
	if err := d.client.ProbeDelegation(ctx); err != nil {
		if incidentd.StatusOf(err) == http.StatusForbidden {
			return &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: fmt.Sprintf("Connected to incidentd at %s; reading works, but the token may not act for Grafana users, so acknowledging and other actions will fail. Set delegate: true (and role responder) for this token in incidentd's configuration.", url)}, nil
		}
		return fail("Checking delegation failed: %v", err)
	}
	msg := fmt.Sprintf("Connected to incidentd at %s.", url)
	if len(page.Incidents) == 0 {
		msg += " No incidents in the last 30 days."
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: msg}, nil
}

func incidentdFilterSince(t time.Time) incidentd.Filter { return incidentd.Filter{From: t} }
