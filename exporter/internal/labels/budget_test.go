package labels

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Stores sharing a budget stay under it together; the oldest entries go first, whichever
// store holds them, and each store counts its own evictions.
func TestBudgetEvictsOldestAcrossStores(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	per := EntryBytes(10)
	b := NewBudget(100 * per)
	old, young := New(Options{Now: clock, Budget: b}), New(Options{Now: clock, Budget: b})
	for i := range 80 {
		_, err := old.Put(fmt.Sprintf("old-%06d", i), Prediction{Class: "a"})
		require.NoError(t, err)
		now = now.Add(time.Second)
	}
	for i := range 80 {
		_, err := young.Put(fmt.Sprintf("new-%06d", i), Prediction{Class: "a"})
		require.NoError(t, err)
		now = now.Add(time.Second)
	}
	require.LessOrEqual(t, b.Used(), 100*per)
	require.Equal(t, int64(old.Len()+young.Len())*per, b.Used(), "the budget counts what the stores hold")
	require.Zero(t, young.Stats().EvictedMemory, "the younger store lost nothing while the older held entries")
	require.Equal(t, uint64(80-old.Len()), old.Stats().EvictedMemory)
	_, ok := old.Take("old-000000")
	require.False(t, ok, "the oldest went first")
	_, ok = old.Take("old-000079")
	require.True(t, ok, "the newest of the old store stayed")

	// Taking entries gives their bytes back; a long id costs its length.
	require.Greater(t, EntryBytes(300), EntryBytes(10)+250)
	used := b.Used()
	_, ok = young.Take("new-000079")
	require.True(t, ok)
	require.Equal(t, used-per, b.Used())
}

// Concurrent puts across stores sharing a budget neither deadlock nor overshoot for long
// (run with -race).
func TestBudgetConcurrent(t *testing.T) {
	b := NewBudget(1000 * EntryBytes(12))
	stores := make([]*Store, 8)
	for i := range stores {
		stores[i] = New(Options{Budget: b})
	}
	var wg sync.WaitGroup
	for w, s := range stores {
		wg.Go(func() {
			for i := range 5000 {
				_, _ = s.Put(fmt.Sprintf("w%d-%08d", w, i), Prediction{})
				if i%7 == 0 {
					stores[(w+1)%len(stores)].Take(fmt.Sprintf("w%d-%08d", (w+1)%len(stores), i/2))
				}
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, b.Used(), b.Max())
	var held int64
	for _, s := range stores {
		held += int64(s.Len()) * EntryBytes(12)
	}
	require.Equal(t, held, b.Used())
}
