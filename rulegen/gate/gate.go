// Package gate evaluates a spec's deployment gates against a live Prometheus: a candidate
// model version must be no worse than the baseline and within bounds before a rollout goes
// on. Each check is one instant PromQL query; missing data fails the check, because a gate
// that passes on no data lets an unobserved version through.
package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// Client queries the Prometheus HTTP API.
type Client struct {
	URL  string
	HTTP *http.Client
}

type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// Query runs an instant query and returns the sample values of a vector result.
func (c *Client) Query(ctx context.Context, q string) ([]float64, error) {
	u := strings.TrimRight(c.URL, "/") + "/api/v1/query?" + url.Values{"query": {q}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building query: %w", err)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying Prometheus at %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading Prometheus response: %w", err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("Prometheus answered %s with non-JSON: %w", resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q failed: %s: %s", q, r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q returned %s, expected a vector", q, r.Data.ResultType)
	}
	out := make([]float64, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		str, ok := s.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %q: malformed sample value", q)
		}
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: malformed sample value %q: %w", q, str, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Target is what the gate judges.
type Target struct {
	Model, Candidate, Baseline string
}

// Check is one gate check and its verdict.
type Check struct {
	Name   string   `json:"name"`
	Query  string   `json:"query"`
	Value  *float64 `json:"value"`
	Limit  float64  `json:"limit"`
	Passed bool     `json:"passed"`
	Detail string   `json:"detail"`
}

// Report is the gate's verdict.
type Report struct {
	Model     string  `json:"model"`
	Candidate string  `json:"candidate"`
	Baseline  string  `json:"baseline"`
	Passed    bool    `json:"passed"`
	Checks    []Check `json:"checks"`
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) {
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "gate %s: model %s, candidate %s vs baseline %s\n", verdict, r.Model, r.Candidate, r.Baseline)
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  [%s] %-22s %s\n", mark, c.Name, c.Detail)
	}
}

// Evaluate runs every configured gate.
func Evaluate(ctx context.Context, c *Client, g *spec.Gates, t Target) (*Report, error) {
	rep := &Report{Model: t.Model, Candidate: t.Candidate, Baseline: t.Baseline, Passed: true}
	w := spec.FormatDuration(g.Window)
	sel := func(metric, version string, extra ...string) string {
		ms := append([]string{"model=" + strconv.Quote(t.Model), "version=" + strconv.Quote(version)}, extra...)
		return metric + "{" + strings.Join(ms, ",") + "}"
	}
	one := func(q string) (*float64, error) {
		vals, err := c.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 || math.IsNaN(vals[0]) {
			return nil, nil
		}
		if len(vals) > 1 {
			return nil, fmt.Errorf("query %q returned %d series, expected one", q, len(vals))
		}
		return &vals[0], nil
	}
	add := func(ch Check) {
		rep.Checks = append(rep.Checks, ch)
		if !ch.Passed {
			rep.Passed = false
		}
	}
	upper := func(name, q string, limit float64, unit string) error {
		v, err := one(q)
		if err != nil {
			return err
		}
		ch := Check{Name: name, Query: q, Value: v, Limit: limit}
		switch {
		case v == nil:
			ch.Detail = "no data for the candidate over " + w
		default:
			ch.Passed = *v <= limit
			ch.Detail = fmt.Sprintf("%s%s (limit %s%s)", spec.FormatNum(*v), unit, spec.FormatNum(limit), unit)
		}
		add(ch)
		return nil
	}
	if g.MaxAccuracyDropSet {
		qc := fmt.Sprintf("avg(avg_over_time(%s[%s]))", sel("aiops_model_accuracy", t.Candidate), w)
		qb := fmt.Sprintf("avg(avg_over_time(%s[%s]))", sel("aiops_model_accuracy", t.Baseline), w)
		cv, err := one(qc)
		if err != nil {
			return nil, err
		}
		bv, err := one(qb)
		if err != nil {
			return nil, err
		}
		ch := Check{Name: "accuracy_vs_baseline", Query: qc + " vs " + qb, Limit: g.MaxAccuracyDrop}
		switch {
		case cv == nil || bv == nil:
			ch.Detail = "no accuracy data for candidate or baseline over " + w
		default:
			drop := spec.RoundSig(*bv - *cv)
			ch.Value = &drop
			ch.Passed = drop <= g.MaxAccuracyDrop
			ch.Detail = fmt.Sprintf("candidate %s, baseline %s, drop %s (max %s)", spec.FormatNum(*cv), spec.FormatNum(*bv), spec.FormatNum(drop), spec.FormatNum(g.MaxAccuracyDrop))
		}
		add(ch)
	}
	if len(g.NoFiringTiers) > 0 {
		q := fmt.Sprintf(`count(ALERTS{alertstate="firing",model=%s,tier=~"%s"})`, strconv.Quote(t.Model), strings.Join(g.NoFiringTiers, "|"))
		v, err := one(q)
		if err != nil {
			return nil, err
		}
		n := 0.0
		if v != nil {
			n = *v
		}
		add(Check{Name: "no_firing_alerts", Query: q, Value: &n, Limit: 0, Passed: n == 0,
			Detail: fmt.Sprintf("%s %s alert(s) firing for %s", spec.FormatNum(n), strings.Join(g.NoFiringTiers, "/"), t.Model)})
	}
	if g.MaxDriftedShareSet {
		if err := upper("drifted_share", fmt.Sprintf("max(max_over_time(%s[%s]))", sel("aiops_drifted_features_ratio", t.Candidate), w), g.MaxDriftedShare, ""); err != nil {
			return nil, err
		}
	}
	if g.MaxP95LatencySet {
		q := fmt.Sprintf("histogram_quantile(0.95, sum by (le) (rate(%s[%s])))", sel("aiops_inference_duration_seconds_bucket", t.Candidate), w)
		if err := upper("p95_latency", q, g.MaxP95Latency, "s"); err != nil {
			return nil, err
		}
	}
	if g.MaxCostPerRequestSet {
		q := fmt.Sprintf("sum(increase(%s[%s])) / sum(increase(%s[%s]))", sel("aiops_cost_total", t.Candidate), w, sel("aiops_events_total", t.Candidate), w)
		if err := upper("cost_per_request", q, g.MaxCostPerRequest, ""); err != nil {
			return nil, err
		}
	}
	return rep, nil
}
