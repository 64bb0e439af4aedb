package evidence

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Querier is the part of client_golang's Prometheus API that evidence uses.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Options bound and shape a gathering.
type Options struct {
	// Window is the rate window of each side; Baseline how far before the "now" window the
	// "before" window ends.
	Window, Baseline time.Duration
	// QueryTimeout bounds each query, Total the whole gathering: a slow Prometheus makes the
	// causes that need it unknown, it never holds anything else up.
	QueryTimeout, Total time.Duration
	// Parallel queries at once.
	Parallel int
	Rules    Rules
}

// DefaultOptions compare the ten minutes before detection with the ten minutes an hour
// earlier.
func DefaultOptions() Options {
	return Options{Window: 10 * time.Minute, Baseline: time.Hour, QueryTimeout: 5 * time.Second, Total: 15 * time.Second, Parallel: 4, Rules: DefaultRules()}
}

func (o *Options) defaults() {
	d := DefaultOptions()
	if o.Window <= 0 {
		o.Window = d.Window
	}
	if o.Baseline <= 0 {
		o.Baseline = d.Baseline
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = d.QueryTimeout
	}
	if o.Total <= 0 {
		o.Total = d.Total
	}
	if o.Parallel <= 0 {
		o.Parallel = d.Parallel
	}
	if o.Rules == (Rules{}) {
		o.Rules = d.Rules
	}
}

// Gather queries Prometheus for the subject at its detection time (or now, if that is
// earlier) and judges every cause. It returns within Options.Total whatever Prometheus does.
func Gather(ctx context.Context, q Querier, s Subject, o Options) Report {
	o.defaults()
	start := time.Now()
	at := s.DetectedAt
	if at.IsZero() || at.After(start) {
		at = start
	}
	ctx, cancel := context.WithTimeout(ctx, o.Total)
	defer cancel()

	obs := Observations{}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []string
	)
	sem := make(chan struct{}, o.Parallel)
	for _, spec := range querySpecs {
		query := spec.render(s, o.Window, o.Baseline)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				mu.Lock()
				obs[spec.name] = Series{Query: query, Err: ctx.Err()}
				errs = append(errs, fmt.Sprintf("%s: %v", spec.name, ctx.Err()))
				mu.Unlock()
				return
			}
			qctx, qcancel := context.WithTimeout(ctx, o.QueryTimeout)
			defer qcancel()
			v, _, _, err := q.Query(qctx, query, at)
			var ser Series
			if err == nil {
				vec, ok := v.(model.Vector)
				if !ok {
					err = fmt.Errorf("expected a vector, got %s", v.Type())
				} else {
					ser = spec.series(query, vec)
				}
			}
			if err != nil {
				ser = Series{Query: query, Err: err}
			}
			mu.Lock()
			obs[spec.name] = ser
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", spec.name, err))
			}
			mu.Unlock()
		}()
	}
	wg.Wait()

	causes := Judge(obs, s, o.Rules)
	for i := range causes {
		for j := range causes[i].Findings {
			causes[i].Findings[j].Panel = strings.ReplaceAll(causes[i].Findings[j].Panel, "{model}", url.QueryEscape(s.Model))
		}
	}
	var hints *Hints
	if !hintsEmpty(s.Hints) {
		hints = &s.Hints
	}
	return Report{
		Model: s.Model, Version: s.Version, At: at, Hints: hints,
		Window: model.Duration(o.Window).String(), Baseline: model.Duration(o.Baseline).String(),
		Causes: causes, Queries: len(querySpecs), Errors: errs,
		DurationMS: time.Since(start).Milliseconds(),
	}
}
