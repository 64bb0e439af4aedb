package evidence

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// funcQuerier answers with a function and records what it was asked.
type funcQuerier struct {
	mu      sync.Mutex
	queries []string
	at      []time.Time
	answer  func(ctx context.Context, q string) (model.Value, error)
}

func (f *funcQuerier) Query(ctx context.Context, q string, ts time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.at = append(f.at, ts)
	f.mu.Unlock()
	v, err := f.answer(ctx, q)
	return v, nil, nil, err
}

func TestGatherBoundsQueriesAndTime(t *testing.T) {
	det := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	q := &funcQuerier{answer: func(context.Context, string) (model.Value, error) { return model.Vector{}, nil }}
	r := Gather(context.Background(), q, Subject{Model: `fr"aud`, Version: "v3", DetectedAt: det}, Options{})
	require.LessOrEqual(t, len(q.queries), 20, "a bounded number of queries per incident")
	require.Equal(t, len(q.queries), r.Queries)
	for i, query := range q.queries {
		require.Equal(t, det, q.at[i], "evaluated at detection")
		if !strings.Contains(query, "node_cpu") {
			require.Contains(t, query, `model="fr\"aud"`, "the model is escaped")
		}
	}
	require.Len(t, r.Causes, len(Causes))
}

// A Prometheus that hangs makes the causes unknown — never not supported — and the gathering
// returns within its budget.
func TestGatherSlowPrometheusIsUnknown(t *testing.T) {
	q := &funcQuerier{answer: func(ctx context.Context, _ string) (model.Value, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	start := time.Now()
	r := Gather(context.Background(), q, Subject{Model: "fraud"}, Options{QueryTimeout: 50 * time.Millisecond, Total: 300 * time.Millisecond})
	require.Less(t, time.Since(start), 2*time.Second)
	for _, c := range r.Causes {
		require.Equal(t, Unknown, c.Verdict, "%s: %s", c.Name, c.Reason)
	}
	require.NotEmpty(t, r.Errors)
}

func TestGatherFailingPrometheus(t *testing.T) {
	q := &funcQuerier{answer: func(context.Context, string) (model.Value, error) { return nil, errors.New("connection refused") }}
	r := Gather(context.Background(), q, Subject{Model: "fraud"}, Options{})
	for _, c := range r.Causes {
		require.Equal(t, Unknown, c.Verdict, c.Name)
	}
	require.Contains(t, strings.Join(r.Errors, "\n"), "connection refused")
}
