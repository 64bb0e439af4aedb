// Package promapi is a minimal client for the Prometheus query API: instant
// and range queries returning float series (what the snapshots plot).
package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

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

type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

// Query calls a Prometheus query endpoint at base+path and decodes vector
// and matrix results.
func Query(ctx context.Context, c *http.Client, base, path string, v url.Values) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", path, err)
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: decode response (HTTP %d): %w", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s: %s", path, r.ErrorType, r.Error)
	}
	out := make([]Sample, 0, len(r.Data.Result))
	for _, raw := range r.Data.Result {
		var item struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, fmt.Errorf("query %s: decode series: %w", path, err)
		}
		smp := Sample{Metric: item.Metric}
		pairs := item.Values
		if item.Value != nil {
			pairs = [][]any{item.Value}
		}
		for _, p := range pairs {
			pt, err := point(p)
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", path, err)
			}
			smp.Values = append(smp.Values, pt)
		}
		out = append(out, smp)
	}
	return out, nil
}

func point(p []any) (Point, error) {
	if len(p) != 2 {
		return Point{}, fmt.Errorf("sample has %d fields, want 2", len(p))
	}
	ts, ok := p[0].(float64)
	if !ok {
		return Point{}, fmt.Errorf("sample time %v is not a number", p[0])
	}
	vs, ok := p[1].(string)
	if !ok {
		return Point{}, fmt.Errorf("sample value %v is not a string (native histograms are not plotted)", p[1])
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return Point{}, fmt.Errorf("sample value: %w", err)
	}
	sec := int64(ts)
	return Point{T: time.Unix(sec, int64((ts-float64(sec))*1e9)), V: v}, nil
}
