package sim

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/exporter/client"
)

const containScenario = `
seed: 7
duration: 60s
models:
  - name: fraud
    kind: classifier
    rate: 50
    label_delay: 1s
    versions: [{name: v1, weight: 1}, {name: v2, weight: 1}]
faults:
  - {name: v2-errors, kind: errors, model: fraud, version: v2, ratio: 0.5, at: 0s, for: 60s}
`

func playDecided(t *testing.T, cs []containment.Containment) *captureSink {
	t.Helper()
	s, err := ParseScenario("test.yaml", []byte(containScenario))
	require.NoError(t, err)
	sink := &captureSink{}
	decide := func(model, version string, features map[string]any) client.Decision {
		return containment.Decide(cs, model, version, features)
	}
	_, err = Run(context.Background(), Options{Scenario: s, Sink: sink, NoPacing: true, Start: t0, Decide: decide})
	require.NoError(t, err)
	return sink
}

// TestVersionedErrorsFault: an errors fault with a version fails only that version.
func TestVersionedErrorsFault(t *testing.T) {
	sink := playDecided(t, nil)
	errs := map[string]int{}
	for _, e := range sink.events {
		if e.Error != "" {
			errs[e.Version]++
		}
		require.Nil(t, e.Containment)
	}
	require.Zero(t, errs["v1"])
	require.Greater(t, errs["v2"], 500)
}

// TestApplicationObeysContainment: the simulated application asks the decision for every
// request — a fallback moves v2's traffic to v1 (and off the faulty version), a disable
// sends only marker events, a block drops the matching inputs' features and labels.
func TestApplicationObeysContainment(t *testing.T) {
	sink := playDecided(t, []containment.Containment{{ID: 3, Model: "fraud", Version: "v2", Action: containment.Fallback, FallbackVersion: "v1"}})
	byVersion, contained := map[string]int{}, 0
	for _, e := range sink.events {
		byVersion[e.Version]++
		require.Empty(t, e.Error, "the fallback version is healthy")
		if e.Containment != nil {
			require.Equal(t, client.EventContainment{ID: 3, Action: "fallback"}, *e.Containment)
			contained++
		}
	}
	require.Zero(t, byVersion["v2"], "no traffic on the contained version")
	require.Equal(t, len(sink.events), byVersion["v1"])
	within(t, "share of contained traffic", float64(contained)/float64(len(sink.events)), 0.5, len(sink.events))

	sink = playDecided(t, []containment.Containment{{ID: 4, Model: "fraud", Action: containment.Disable}})
	require.NotEmpty(t, sink.events)
	for _, e := range sink.events {
		require.Equal(t, &client.EventContainment{ID: 4, Action: "disable"}, e.Containment)
		require.Nil(t, e.Prediction)
		require.Nil(t, e.Features)
	}
	require.Empty(t, sink.labels, "a disabled model predicts nothing to label")

	sink = playDecided(t, []containment.Containment{{ID: 5, Model: "fraud", Action: containment.BlockInputs,
		Match: &containment.Match{Feature: "country", Value: "DE"}}})
	blocked := 0
	for _, e := range sink.events {
		if e.Containment != nil {
			blocked++
			require.Nil(t, e.Features)
			continue
		}
		require.NotEqual(t, "DE", e.Features["country"], "a blocked input reached the model")
	}
	require.Positive(t, blocked)
}
