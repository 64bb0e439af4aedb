package labels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/internal/labels"
	"github.com/opscentre/opscentre/exporter/internal/performance"
)

// TestDelayedLabelsShowDecay simulates ten days of a fraud model on a fake clock: 200
// predictions an hour, each labelled three days later, and a model that is right 90% of the time
// until day 5 and 60% after. Accuracy over the last 24 hours of labels (24 hourly slots, by label
// time) stays high until the labels of day 5 arrive on day 8, then falls.
func TestDelayedLabelsShowDecay(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := start
	store := labels.New(labels.Options{MaxAge: 7 * 24 * time.Hour, Now: func() time.Time { return now }})
	rng := rand.New(rand.NewPCG(1, 2))
	type pendingLabel struct {
		id     string
		due    time.Time
		actual string
	}
	var queue []pendingLabel
	slots := make([]*performance.Classification, 24)
	for i := range slots {
		slots[i] = performance.NewClassification(4)
	}
	accuracyByDay := map[int]float64{}
	for hour := 0; hour < 10*24; hour++ {
		now = start.Add(time.Duration(hour) * time.Hour)
		slot := slots[hour%24]
		slot.Reset() // the slot now holds the labels of this hour only
		// Labels due by now arrive and join their predictions.
		for len(queue) > 0 && !queue[0].due.After(now) {
			l := queue[0]
			queue = queue[1:]
			p, ok := store.Take(l.id)
			require.True(t, ok, "prediction %s waits for its label", l.id)
			require.NoError(t, slot.Add(l.actual, p.Class))
		}
		// New predictions.
		right := 0.9
		if now.Sub(start) >= 5*24*time.Hour {
			right = 0.6
		}
		for i := 0; i < 200; i++ {
			id := fmt.Sprintf("%d-%d", hour, i)
			actual := "legit"
			if rng.IntN(10) == 0 {
				actual = "fraud"
			}
			predicted := actual
			if rng.Float64() >= right {
				predicted = map[string]string{"legit": "fraud", "fraud": "legit"}[actual]
			}
			ok, err := store.Put(id, labels.Prediction{At: now, Class: predicted})
			require.NoError(t, err)
			require.True(t, ok)
			queue = append(queue, pendingLabel{id: id, due: now.Add(72 * time.Hour), actual: actual})
		}
		if hour%24 == 23 {
			window := performance.NewClassification(4)
			for _, s := range slots {
				require.NoError(t, window.Merge(s))
			}
			accuracyByDay[hour/24] = window.Metrics().Accuracy
		}
	}
	t.Logf("accuracy over the last day of labels, by day: %v", accuracyByDay)
	for day := 3; day <= 7; day++ {
		require.InDelta(t, 0.9, accuracyByDay[day], 0.03, "day %d still sees labels of the good model", day)
	}
	for day := 8; day <= 9; day++ {
		require.InDelta(t, 0.6, accuracyByDay[day], 0.03, "day %d sees the decay", day)
	}
	// Nothing was evicted: three days of delay fit the seven-day age limit, and the backlog is
	// the last three days of predictions.
	st := store.Stats()
	require.Zero(t, st.EvictedAge+st.EvictedCapacity)
	require.Equal(t, 3*24*200, store.Len())
}
