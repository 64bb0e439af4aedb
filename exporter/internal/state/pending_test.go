package state

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/reference"
)

// TestPendingDriftReadsLikeImmediateBinning checks that numeric drift values queued for
// binning (pendingDrift) are never missed by a reader: a version read only now and then,
// a version read after every event (so nothing ever stays queued), a restart from a snapshot
// taken with values queued, and histograms filled value by value with drift.AddFloat all agree,
// across sub-window changes, slots leaving the ring (with values still queued), and more values than a queue holds.
func TestPendingDriftReadsLikeImmediateBinning(t *testing.T) {
	c := &clock{t0}
	cfgText := "window: {sub_windows: 3, sub_window_duration: 1m}\nreference: {capture_first: 40}\n"
	s := newState(t, cfgText, c)
	lazy, eager := resolve(t, s, "m", "lazy"), resolve(t, s, "m", "eager")
	// Each event also predicts a class, counted in pendingDrift as c's categories are
	// (c's "unseen" values take the histogram path).
	classes := []string{"fraud", "ok"}
	apply := func(v *Version, at time.Time, feats map[string]any) {
		i := int(feats["z"].(float64)) // z cycles through 0…4 and is never null below
		v.mu.Lock()
		defer v.mu.Unlock()
		e := Event{Time: at, Outcome: -1, Feedback: -1, Prediction: PredictionValue{Present: true, Type: config.Categorical, Str: []byte(classes[i%2])}}
		for name, val := range feats {
			fv := FeatureValue{Feature: v.features[name], Name: []byte(name)}
			switch x := val.(type) {
			case float64:
				fv.Type, fv.Num = config.Numeric, x
			case string:
				fv.Type, fv.Str = config.Categorical, []byte(x)
			}
			e.Features = append(e.Features, fv)
		}
		v.apply(&e)
	}
	event := func(i int) map[string]any {
		// Integers and quarters: every sum is exact whatever the order of addition.
		ev := map[string]any{"x": float64((i * 7) % 53), "y": float64((i*13)%101) / 4, "z": float64(i % 5), "c": []string{"a", "b", "c"}[i%3]}
		if i >= 40 && i%11 == 0 {
			ev["c"] = "unseen" // not a category of the reference
		}
		if i >= 40 && i < 45 {
			ev["w"] = nil // a numeric feature whose first values after the capture are null
		} else {
			ev["w"] = float64(i % 3)
		}
		return ev
	}
	for i := range 40 {
		apply(lazy, c.t, event(i))
		apply(eager, c.t, event(i))
	}
	// The two references hold the same values, in an order that may differ (apply's map).
	profiles := map[*Version]*drift.Profile{lazy: lazy.Reference(), eager: eager.Reference()}
	require.NotNil(t, profiles[lazy], "reference captured")
	require.NotNil(t, profiles[eager], "reference captured")

	// want[k] holds the values of minutes[k], binned one by one as the drift package defines
	// it. Minute 7 reuses minute 4's slot while minute 4's values may still be queued.
	minutes := []int{0, 1, 2, 3, 4, 7}
	want := map[*Version][]*drift.Window{}
	// expect is what like's (lazy's or eager's) window and total hold at minute m.
	expect := func(like *Version, m int) (window, total *drift.Window) {
		p := profiles[like]
		window, total = p.NewWindow(), p.NewWindow()
		for k, w := range want[like] {
			require.NoError(t, total.Merge(w))
			if minutes[k] > m-3 { // a window of 3 sub-windows of a minute
				require.NoError(t, window.Merge(w))
			}
		}
		return window, total
	}
	i := 40
	for _, minute := range minutes {
		c.t = t0.Add(time.Duration(minute) * time.Minute)
		for v, p := range profiles {
			want[v] = append(want[v], p.NewWindow())
		}
		n := 3*pendingPerFeature + 17 // several full queues and a partial one
		switch minute {
		case 1:
			n = 2 * pendingPerFeature // the minute's last event fills the queues
		case 7:
			n = 5
		}
		for range n {
			ev := event(i)
			apply(lazy, c.t, ev)
			apply(eager, c.t, ev)
			_, ok := eager.ReadDrift(c.t)
			require.True(t, ok)
			for v, p := range profiles {
				w := want[v][len(want[v])-1]
				for name, val := range ev {
					fp, j := p.Feature(name)
					switch x := val.(type) {
					case float64:
						require.NoError(t, fp.AddFloat(&w.Histograms[j], x))
					case string:
						require.NoError(t, fp.AddString(&w.Histograms[j], x))
					case nil:
						fp.AddNull(&w.Histograms[j])
					}
				}
				fp, j := p.Feature(reference.PredictionFeature)
				require.NotNil(t, fp)
				require.NoError(t, fp.AddString(&w.Histograms[j], classes[int(ev["z"].(float64))%2]))
				w.Events++
			}
			i++
		}
		if minute == 1 || minute == 2 {
			// Readings mid-way see everything, and change nothing that follows. Minute 1
			// ended with a full queue binned and the last prediction still counted.
			r, ok := lazy.ReadDrift(c.t)
			require.True(t, ok)
			wantWindow, _ := expect(lazy, minute)
			require.Equal(t, wantWindow, r.Window, "lazy: window at minute %d", minute)
		}
	}

	// Restart from a snapshot taken while values are queued.
	snap, err := s.Snapshot()
	require.NoError(t, err)
	data, err := json.Marshal(snap)
	require.NoError(t, err)
	var back Snapshot
	require.NoError(t, json.Unmarshal(data, &back))
	s2 := newState(t, cfgText, c)
	require.NoError(t, s2.Restore(&back))
	restored := resolve(t, s2, "m", "lazy")

	for name, v := range map[string]*Version{"lazy": lazy, "eager": eager, "restored": restored} {
		like := v
		if v == restored {
			like = lazy
		}
		wantWindow, wantTotal := expect(like, 7)
		r, ok := v.ReadDrift(c.t)
		require.True(t, ok, name)
		require.Equal(t, wantWindow, r.Window, "%s: window", name)
		require.Equal(t, wantTotal, r.Total, "%s: total since the reference", name)
	}
}
