// Package promapi is the one small helper over client_golang's Prometheus API
// (github.com/prometheus/client_golang/api/prometheus/v1) that the dashboards'
// snapshots and the tests share: a client whose requests are bounded in time, and
// query results read as float series (what the snapshots plot and the tests
// compare). It writes no HTTP or JSON of its own; programs that need more of the
// API (alerts, other result types) use v1.API directly.
package promapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// DefaultTimeout bounds each request of a client New makes itself.
const DefaultTimeout = 30 * time.Second

// Sample is one series of a query result: its labels and its values.
type Sample struct {
	Metric map[string]string
	Values []Point
}

// Point is a timestamped value.
type Point struct {
	T time.Time
	V float64
}

// New returns the API of the Prometheus at address (such as "http://localhost:9090").
// c makes the requests; nil means a client whose requests time out after
// DefaultTimeout, so that a Prometheus that stops answering cannot hang the caller.
func New(address string, c *http.Client) (v1.API, error) {
	if c == nil {
		c = &http.Client{Timeout: DefaultTimeout}
	}
	client, err := api.NewClient(api.Config{Address: address, Client: c})
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	return v1.NewAPI(client), nil
}

// Querier is the part of v1.API that Query and QueryRange use.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
	QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// Query evaluates expr at t: one Sample per series of a vector, one without
// labels for a scalar. An error names the query and carries Prometheus' error
// type (bad_data, server_error: 503, …) and message.
func Query(ctx context.Context, q Querier, expr string, t time.Time) ([]Sample, error) {
	v, _, _, err := q.Query(ctx, expr, t)
	return read("query", expr, v, err)
}

// QueryRange evaluates expr over r, one Sample per series, with errors as Query's.
func QueryRange(ctx context.Context, q Querier, expr string, r v1.Range) ([]Sample, error) {
	v, _, _, err := q.QueryRange(ctx, expr, r)
	return read("range query", expr, v, err)
}

// read turns a query's answer into samples, an error into one that names the query.
func read(kind, expr string, v model.Value, err error) ([]Sample, error) {
	var out []Sample
	if err == nil {
		out, err = samples(v)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, expr, err)
	}
	return out, nil
}

// samples reads a vector, matrix or scalar as float series. A native histogram
// sample is an error: it has no single float to plot or compare.
func samples(v model.Value) ([]Sample, error) {
	switch v := v.(type) {
	case model.Vector:
		out := make([]Sample, 0, len(v))
		for _, s := range v {
			if s.Histogram != nil {
				return nil, fmt.Errorf("series %s is a native histogram, want floats (wrap it in histogram_count, histogram_quantile, …)", s.Metric)
			}
			out = append(out, Sample{Metric: labels(s.Metric), Values: []Point{point(s.Timestamp, s.Value)}})
		}
		return out, nil
	case model.Matrix:
		out := make([]Sample, 0, len(v))
		for _, s := range v {
			if len(s.Histograms) > 0 {
				return nil, fmt.Errorf("series %s holds native histograms, want floats (wrap it in histogram_count, histogram_quantile, …)", s.Metric)
			}
			smp := Sample{Metric: labels(s.Metric), Values: make([]Point, len(s.Values))}
			for i, p := range s.Values {
				smp.Values[i] = point(p.Timestamp, p.Value)
			}
			out = append(out, smp)
		}
		return out, nil
	case *model.Scalar:
		return []Sample{{Metric: map[string]string{}, Values: []Point{point(v.Timestamp, v.Value)}}}, nil
	case nil:
		return nil, fmt.Errorf("no result")
	default:
		return nil, fmt.Errorf("result type %s is not vector, matrix or scalar", v.Type())
	}
}

func labels(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

func point(t model.Time, v model.SampleValue) Point {
	return Point{T: t.Time(), V: float64(v)}
}

// ByLabel is the last value of each series keyed by its value of label, for a result
// whose series that label tells apart (a feature, a model).
func ByLabel(s []Sample, label string) map[string]float64 {
	out := make(map[string]float64, len(s))
	for _, smp := range s {
		if len(smp.Values) > 0 {
			out[smp.Metric[label]] = smp.Values[len(smp.Values)-1].V
		}
	}
	return out
}
