// Package promapi is a minimal client for the Prometheus query API: instant
// and range queries returning float series (what the snapshots plot).
package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
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
	out, err := Decode(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query %s (HTTP %d): %w", path, resp.StatusCode, err)
	}
	return out, nil
}

// Decode reads a query API response: a vector or matrix becomes one Sample
// per series, a scalar one Sample without labels; an error response becomes
// an error carrying Prometheus' message.
func Decode(r io.Reader) ([]Sample, error) {
	var resp apiResponse
	if err := json.NewDecoder(r).Decode(&resp); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if resp.Status != "success" {
		if resp.Error == "" {
			return nil, fmt.Errorf("response status %q, want \"success\"", resp.Status)
		}
		return nil, fmt.Errorf("%s: %s", resp.ErrorType, resp.Error)
	}
	switch resp.Data.ResultType {
	case "scalar":
		var pair []any
		if err := json.Unmarshal(resp.Data.Result, &pair); err != nil {
			return nil, fmt.Errorf("decode scalar: %w", err)
		}
		pt, err := point(pair)
		if err != nil {
			return nil, err
		}
		return []Sample{{Metric: map[string]string{}, Values: []Point{pt}}}, nil
	case "vector", "matrix":
	default:
		return nil, fmt.Errorf("result type %q is not vector, matrix or scalar", resp.Data.ResultType)
	}
	var items []struct {
		Metric map[string]string `json:"metric"`
		Value  []any             `json:"value"`
		Values [][]any           `json:"values"`
	}
	if err := json.Unmarshal(resp.Data.Result, &items); err != nil {
		return nil, fmt.Errorf("decode %s: %w", resp.Data.ResultType, err)
	}
	out := make([]Sample, 0, len(items))
	for _, item := range items {
		smp := Sample{Metric: item.Metric}
		pairs := item.Values
		if item.Value != nil {
			pairs = [][]any{item.Value}
		}
		for _, p := range pairs {
			pt, err := point(p)
			if err != nil {
				return nil, err
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
