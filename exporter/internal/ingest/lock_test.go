package ingest

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// A long answer's text scores (ROUGE-L is quadratic) are computed outside the version's lock:
// while one event of a version is being scored, another event of the same version is applied.
// The scoring is held open by the test hook, so the test does not depend on timing: with the
// scoring under the lock, the short event could not finish until the hook is released.
func TestScoringDoesNotHoldTheVersion(t *testing.T) {
	st := state.New(config.Default(), state.Options{Now: func() time.Time { return t0 }})
	in := New(st, slog.New(slog.DiscardHandler))
	scoring, release := make(chan struct{}), make(chan struct{})
	in.scored = func() {
		close(scoring)
		<-release
	}
	answer := strings.Repeat("the password is reset from the account settings page ", 100)
	long := `{"model":"chat","version":"v1","latency_seconds":2,"output_text":"` + answer + `","reference_answer":"` + answer + `"}`
	longDone := make(chan Result, 1)
	go func() {
		res, _ := in.Ingest([]byte(long), false)
		longDone <- res
	}()
	<-scoring

	shortDone := make(chan Result, 1)
	go func() {
		res, _ := in.Ingest([]byte(`{"model":"chat","version":"v1","latency_seconds":0.1,"features":{"x":1}}`), false)
		shortDone <- res
	}()
	select {
	case res := <-shortDone:
		require.Equal(t, 1, res.Accepted, "%+v", res.Rejected)
	case <-time.After(30 * time.Second):
		close(release)
		t.Fatal("the short event waited for the long answer's scoring: it is scored under the version's lock")
	}
	// The short event is in the version's counters before the long one is applied.
	v := st.Lookup("chat", "v1")
	require.NotNil(t, v)
	r := v.Read(t0)
	require.Equal(t, uint64(1), r.Counters.Events)
	require.Zero(t, r.Counters.Text.RougeL.Count)

	close(release)
	res := <-longDone
	require.Equal(t, 1, res.Accepted, "%+v", res.Rejected)
	r = v.Read(t0)
	require.Equal(t, uint64(2), r.Counters.Events)
	require.Equal(t, uint64(1), r.Counters.Text.RougeL.Count)
	require.Equal(t, 1.0, r.Counters.Text.RougeL.Sum) // the answer is its reference
}

// With the features checked after the other fields, the error reported is still the first in
// the event's order: a features error before a later field's, that field's before a features
// error after it, any field's before the text scores' and those before a missing required
// feature.
func TestFirstErrorInEventOrder(t *testing.T) {
	f := newFixture(t, schema)
	for _, tc := range []struct{ name, body, field, reason string }{
		{"features then latency", `{"model":"fraud","version":"v1","features":{"amount":-1},"latency_seconds":-1}`, "features.amount", ReasonOutOfRange},
		{"latency then features", `{"model":"fraud","version":"v1","latency_seconds":-1,"features":{"amount":-1}}`, "latency_seconds", ReasonNegativeValue},
		{"good features then latency", `{"model":"fraud","version":"v1","features":{"amount":1},"latency_seconds":-1}`, "latency_seconds", ReasonNegativeValue},
		{"features then text", `{"model":"fraud","version":"v1","reference_answer":"a","features":{"amount":-1}}`, "features.amount", ReasonOutOfRange},
		{"unknown feature then field", `{"model":"fraud","version":"v1","features":{"amount":1,"nope":1},"cost":"x"}`, "features.nope", ReasonUnknownFeature},
		{"text then required", `{"model":"fraud","version":"v1","reference_answer":"a","features":{}}`, "output_text", ReasonMissingRequired},
		{"required", `{"model":"fraud","version":"v1","features":{"country":"US"}}`, "features.amount", ReasonMissingRequired},
		{"repeated features key", `{"model":"fraud","version":"v1","features":{"amount":-1},"features":{"amount":1}}`, "features.amount", ReasonOutOfRange},
		{"field without features then required", `{"model":"fraud","version":"v1","cost":-1}`, "cost", ReasonNegativeValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.post(t, []byte(tc.body), nil)
			require.Equal(t, 0, r.Accepted)
			require.Len(t, r.Rejected, 1)
			require.Equal(t, tc.field, r.Rejected[0].Field, r.Rejected[0].Message)
			require.Equal(t, tc.reason, r.Rejected[0].Reason)
		})
	}
}
