package labels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCollidingHashesKeepIDsApart forces hash collisions (three hash values for every id) and
// checks a random run of puts, takes and capacity evictions against a plain model: a list of
// ids in insertion order. Ids both inline and longer than a node holds are mixed in.
func TestCollidingHashesKeepIDsApart(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, hash := range map[string]func(string) uint64{
		"three values": func(id string) uint64 { return uint64(len(id) % 3) },
		"one value":    func(string) uint64 { return 42 },
	} {
		const maxCount = 50
		s := New(Options{MaxCount: maxCount})
		s.hashOf = hash
		var model []string // waiting ids, oldest first
		value := map[string]float64{}
		ids := make([]string, 120)
		for i := range ids {
			ids[i] = fmt.Sprintf("id-%d", i)
			if i%4 == 0 {
				ids[i] += "-" + string(make([]byte, inlineID)) // longer than a node holds
			}
		}
		buf := make([]byte, 0, 128)
		for step := range 5000 {
			id := ids[rng.IntN(len(ids))]
			if rng.IntN(3) > 0 {
				buf = append(buf[:0], id...)
				stored, err := s.PutBytes(buf, Prediction{Value: float64(step)})
				clear(buf) // the store must have copied what it keeps
				require.NoError(t, err)
				require.Equal(t, !slices.Contains(model, id), stored, "put %q", id)
				if stored {
					if len(model) == maxCount {
						delete(value, model[0])
						model = model[1:]
					}
					model = append(model, id)
					value[id] = float64(step)
				}
			} else {
				p, ok := s.Take(id)
				j := slices.Index(model, id)
				require.Equal(t, j >= 0, ok, "take %q", id)
				if ok {
					require.Equal(t, value[id], p.Value, "take %q", id)
					model = slices.Delete(model, j, j+1)
					delete(value, id)
				}
			}
			require.Equal(t, len(model), s.Len())
		}
		var got []string
		s.Each(func(e Entry) bool { got = append(got, e.ID); return true })
		require.Equal(t, model, got)
	}
}

// TestPutBytesDoesNotAllocate: storing a prediction with a UUID-sized id and a class seen
// before allocates nothing once the store's pages and map have grown.
func TestPutBytesDoesNotAllocate(t *testing.T) {
	s := New(Options{MaxCount: 1000})
	now := time.Unix(1e9, 0)
	id := []byte("00000000-0000-4000-8000-000000000000")
	i := 0
	put := func() {
		copy(id, fmt.Appendf(id[:0], "%08d", i%5000)) // 5000 ids through 1000 places: inserts and evictions
		i++
		if _, err := s.PutBytes(id, Prediction{At: now, Class: "fraud", Value: 0.9}); err != nil {
			t.Fatal(err)
		}
	}
	for range 20000 {
		put()
	}
	require.Zero(t, testing.AllocsPerRun(5000, put))
	require.Equal(t, 1000, s.Len())
}
