// Package window keeps sliding windows in constant memory: a ring of sub-windows, each an
// aggregate (counts, histograms, sketches) rather than a list of events. A window of
// n sub-windows of width w covers the last n·w; the oldest sub-window is reset and reused
// when time moves past it, so memory depends on n and on what a sub-window holds, never on
// how many events arrive.
package window

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Ring is a ring of sub-windows of type S. It is not safe for concurrent use; the owner
// locks around it.
type Ring[S any] struct {
	width  time.Duration
	slots  []S
	epochs []int64 // sub-window number (unix time / width) held by slot i; unused when empty
	reset  func(*S)
}

// unused marks an empty slot; epochs before 1970 are negative, so -1 would be ambiguous.
const unused = math.MinInt64

// New returns a ring of n sub-windows of the given width; reset clears a slot for reuse.
func New[S any](n int, width time.Duration, reset func(*S)) *Ring[S] {
	r := &Ring[S]{width: width, slots: make([]S, n), epochs: make([]int64, n), reset: reset}
	for i := range r.epochs {
		r.epochs[i] = unused
	}
	return r
}

// Len is the number of sub-windows; Width their duration.
func (r *Ring[S]) Len() int { return len(r.slots) }

// Width is the duration of one sub-window.
func (r *Ring[S]) Width() time.Duration { return r.width }

func (r *Ring[S]) epoch(t time.Time) int64 {
	// Floor division so times before 1970 still map to increasing epochs.
	ns, w := t.UnixNano(), int64(r.width)
	e := ns / w
	if ns%w < 0 {
		e--
	}
	return e
}

func (r *Ring[S]) index(e int64) int {
	i := int(e % int64(len(r.slots)))
	if i < 0 {
		i += len(r.slots)
	}
	return i
}

// At returns the slot for time t, resetting it if it still holds an older sub-window.
// It returns nil when the slot already holds a newer sub-window, i.e. t is older than the
// window as seen by the newest data.
func (r *Ring[S]) At(t time.Time) *S {
	e := r.epoch(t)
	i := r.index(e)
	switch {
	case r.epochs[i] == e:
	case r.epochs[i] > e:
		return nil
	default:
		r.reset(&r.slots[i])
		r.epochs[i] = e
	}
	return &r.slots[i]
}

// Each calls fn for every slot inside the window ending at now (the sub-window holding
// now and the n-1 before it).
func (r *Ring[S]) Each(now time.Time, fn func(*S)) {
	cur := r.epoch(now)
	n := int64(len(r.slots))
	for i := range r.slots {
		if e := r.epochs[i]; e != unused && e <= cur && e > cur-n {
			fn(&r.slots[i])
		}
	}
}

// ringJSON is the persisted form of a Ring.
type ringJSON[S any] struct {
	Width  time.Duration `json:"width"`
	Epochs []int64       `json:"epochs"`
	Slots  []S           `json:"slots"`
}

// MarshalJSON implements json.Marshaler.
func (r *Ring[S]) MarshalJSON() ([]byte, error) {
	return json.Marshal(ringJSON[S]{Width: r.width, Epochs: r.epochs, Slots: r.slots})
}

// Restore loads slots saved by MarshalJSON. Saved sub-windows are kept only when the saved
// width equals r's; a ring of another length is rebuilt by placing each saved sub-window
// at its epoch, which keeps whatever still falls inside the new ring.
func (r *Ring[S]) Restore(data []byte) error {
	var in ringJSON[S]
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("window: decoding saved ring: %w", err)
	}
	if len(in.Epochs) != len(in.Slots) {
		return fmt.Errorf("window: saved ring has %d epochs but %d slots", len(in.Epochs), len(in.Slots))
	}
	if in.Width != r.width {
		return nil // sub-window boundaries changed; the saved counts cannot be split
	}
	for i, e := range in.Epochs {
		if e == unused {
			continue
		}
		j := r.index(e)
		if r.epochs[j] > e {
			continue
		}
		r.slots[j] = in.Slots[i]
		r.epochs[j] = e
	}
	return nil
}

// All calls fn for every slot, live or stale (for fixing up restored slots).
func (r *Ring[S]) All(fn func(*S)) {
	for i := range r.slots {
		fn(&r.slots[i])
	}
}
