// Package plugin is the backend of the opscentre-incidents-datasource Grafana plugin: it
// turns incidentd's REST API into data frames (incident tables, counts over time, MTTA/MTTR
// stats usable by alerting, one incident's timeline, annotations, variable values) and
// forwards the lifecycle actions users take in Grafana to incidentd in their name.
package plugin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/settings"
)

// ID is the plugin id, as in plugin.json.
const ID = "opscentre-incidents-datasource"

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Options are shared by every datasource instance of the process.
type Options struct {
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock (tests fix it so golden frames are stable).
	Now func() time.Time
	// Transport, when set, replaces the HTTP transport (tests and benchmarks).
	Transport http.RoundTripper
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Datasource is one configured datasource instance.
type Datasource struct {
	o        Options
	settings *settings.Settings
	client   *incidentd.Client
	idle     *http.Transport
	queries  *datasource.QueryTypeMux
	resource backend.CallResourceHandler
}

// NewFactory returns the instance factory given to datasource.Manage.
func NewFactory(o Options) datasource.InstanceFactoryFunc {
	o = o.withDefaults()
	return func(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
		return New(s, o)
	}
}

// New builds a datasource instance from Grafana's instance settings.
func New(s backend.DataSourceInstanceSettings, o Options) (*Datasource, error) {
	o = o.withDefaults()
	cfg, err := settings.Load(s)
	if err != nil {
		// Settings are the user's to fix; Grafana shows this message in the health check.
		return nil, backend.DownstreamError(fmt.Errorf("datasource %q settings: %w", s.Name, err))
	}
	d := &Datasource{o: o, settings: cfg}
	rt := o.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: cfg.TLSSkipVerify, RootCAs: cfg.CAPool} //nolint:gosec // opt-in for test setups
		tr.MaxIdleConnsPerHost = 8
		d.idle = tr
		rt = tr
	}
	hc := &http.Client{Timeout: cfg.Timeout, Transport: rt}
	d.client = incidentd.New(cfg.URL.String(), cfg.Token, hc, o.Metrics.observeUpstream)

	d.queries = datasource.NewQueryTypeMux()
	d.queries.HandleFunc(QueryIncidents, d.measure(QueryIncidents, d.queryIncidents))
	d.queries.HandleFunc(QueryCounts, d.measure(QueryCounts, d.queryCounts))
	d.queries.HandleFunc(QueryStats, d.measure(QueryStats, d.queryStats))
	d.queries.HandleFunc(QueryTimeline, d.measure(QueryTimeline, d.queryTimeline))
	d.queries.HandleFunc(QueryAnnotations, d.measure(QueryAnnotations, d.queryAnnotations))
	d.queries.HandleFunc(QueryVariables, d.measure(QueryVariables, d.queryVariables))
	d.queries.HandleFunc(QueryEvidence, d.measure(QueryEvidence, d.queryEvidence))
	// The mux's "" handler also receives every unknown type: an empty type (a query saved
	// before one was picked) lists incidents, anything else is an error naming the types.
	listIncidents := d.measure(QueryIncidents, d.queryIncidents)
	d.queries.HandleFunc("", func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		var empty []backend.DataQuery
		for _, q := range req.Queries {
			if q.QueryType != "" {
				resp.Responses[q.RefID] = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
					fmt.Sprintf("queryType: unknown %q, expected incidents, counts, stats, timeline, annotations, variables or evidence", q.QueryType))
				continue
			}
			empty = append(empty, q)
		}
		if len(empty) > 0 {
			sub := *req
			sub.Queries = empty
			r, err := listIncidents(ctx, &sub)
			if err != nil {
				return nil, err
			}
			maps.Copy(resp.Responses, r.Responses)
		}
		return resp, nil
	})
	d.resource = httpadapter.New(d.resourceMux())
	return d, nil
}

// Dispose closes idle connections when Grafana replaces the instance after a settings change.
func (d *Datasource) Dispose() {
	if d.idle != nil {
		d.idle.CloseIdleConnections()
	}
}

// QueryData answers each query through the query type mux.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	return d.queries.QueryData(ctx, req)
}

// CallResource serves the resource routes (actions and option lists).
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resource.CallResource(ctx, req, sender)
}

// queryFunc answers every query of one type in a request.
type queryFunc func(ctx context.Context, req *backend.QueryDataRequest, q backend.DataQuery, p Query) backend.DataResponse

// measure turns a per-query function into a mux handler: it parses the query, answers each
// query separately (one failing query does not fail the others) and counts outcomes.
func (d *Datasource) measure(kind string, fn queryFunc) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		fromAlert := req.GetHTTPHeader(backend.FromAlertHeaderName) != ""
		for _, q := range req.Queries {
			start := d.o.Now()
			var r backend.DataResponse
			p, err := parseQuery(q.JSON, kind)
			if err != nil {
				r = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
			} else {
				r = fn(ctx, req, q, p)
			}
			for _, f := range r.Frames {
				f.RefID = q.RefID
			}
			if unknown := unknownKeys(q.JSON); len(unknown) > 0 && len(r.Frames) > 0 {
				f := r.Frames[0]
				if f.Meta == nil {
					f.Meta = &data.FrameMeta{}
				}
				f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning,
					Text: "Ignored query fields this datasource does not know: " + strings.Join(unknown, ", ")})
			}
			d.o.Metrics.observeQuery(kind, fromAlert, r, d.o.Now().Sub(start))
			resp.Responses[q.RefID] = r
		}
		return resp, nil
	}
}

// errResponse attributes an error: incidentd's answers and unreachability are downstream
// (the operator fixes incidentd, its URL or the token), anything else is the plugin's.
func errResponse(err error) backend.DataResponse {
	var ie *incidentd.Error
	if errors.As(err, &ie) {
		status := backend.Status(ie.Status)
		if ie.Status == 0 {
			status = backend.StatusBadGateway
		}
		return backend.ErrDataResponseWithSource(status, backend.ErrorSourceDownstream, err.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return backend.ErrDataResponseWithSource(backend.StatusTimeout, backend.ErrorSourceDownstream, "incidentd did not answer in time: "+err.Error())
	}
	if errors.Is(err, context.Canceled) {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "query cancelled")
	}
	return backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin, err.Error())
}

// filter is what incidentd filters itself: single values go to incidentd, several values of
// one field are filtered in the plugin by Query.match.
func (p Query) filter(from, to time.Time) incidentd.Filter {
	f := incidentd.Filter{Open: p.OpenOnly, Text: p.Text, From: from, To: to}
	for _, s := range p.States {
		f.States = append(f.States, incidentd.State(s))
	}
	if len(p.Tiers) == 1 {
		f.Tier = incidentd.Tier(p.Tiers[0])
	}
	if len(p.Teams) == 1 {
		f.Team = p.Teams[0]
	}
	if len(p.Models) == 1 {
		f.Model = p.Models[0]
	}
	return f
}
