package labels

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func TestJoinAndBounds(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Options{MaxCount: 3, MaxAge: 7 * 24 * time.Hour, Now: clock.Now})
	at := clock.t.Add(-time.Second)
	for _, id := range []string{"a", "b", "c"} {
		ok, err := s.Put(id, Prediction{At: at, Class: "fraud", Value: 0.9})
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, err := s.Put("a", Prediction{Class: "legit"})
	require.NoError(t, err)
	require.False(t, ok, "duplicate id: the first wins")
	p, ok := s.Take("a")
	require.True(t, ok)
	require.Equal(t, "fraud", p.Class)
	require.Equal(t, 0.9, p.Value)
	require.True(t, p.At.Equal(at))
	_, ok = s.Take("a")
	require.False(t, ok, "a label joins once")

	// Capacity: d and e push out b, the oldest.
	_, _ = s.Put("d", Prediction{})
	_, _ = s.Put("e", Prediction{})
	require.Equal(t, 3, s.Len())
	_, ok = s.Take("b")
	require.False(t, ok)

	// Age: three days later f arrives (pushing out c); eight days after the start d and e are
	// too old.
	clock.t = clock.t.Add(3 * 24 * time.Hour)
	_, _ = s.Put("f", Prediction{})
	clock.t = clock.t.Add(5 * 24 * time.Hour)
	require.Equal(t, 2, s.Expire())
	require.Equal(t, 1, s.Len())
	oldest, ok := s.Oldest()
	require.True(t, ok)
	require.True(t, clock.t.Add(-5*24*time.Hour).Equal(oldest))

	require.Equal(t, Stats{Added: 6, Joined: 1, Duplicates: 1, EvictedCapacity: 2, EvictedAge: 2}, s.Stats())

	_, _ = s.Put("no-time", Prediction{Class: "x"})
	p, ok = s.Take("no-time")
	require.True(t, ok)
	require.True(t, p.At.IsZero(), "a prediction without a timestamp keeps the zero time")

	_, err = s.Put("", Prediction{})
	require.ErrorIs(t, err, ErrBadID)
	_, err = s.Put(strings.Repeat("x", 300), Prediction{})
	require.ErrorIs(t, err, ErrBadID)
	_, err = s.Put("\xff", Prediction{})
	require.ErrorIs(t, err, ErrBadID)
}

// TestSaveAndRestore saves a store through JSON and restores it into a new one, as a restart
// would: the same predictions wait, with their original ages.
// TestCountFollowsLen checks Options.Count against Len through every way an entry comes or
// goes: put, duplicate, take, capacity eviction, expiry (seen at the next put or take) and
// restore.
func TestCountFollowsLen(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	var n atomic.Int64
	s := New(Options{MaxCount: 3, MaxAge: time.Hour, Now: clock.Now, Count: &n})
	same := func(want int) {
		t.Helper()
		require.Equal(t, want, s.Len())
		require.Equal(t, int64(want), n.Load())
	}
	same(0)
	for _, id := range []string{"a", "b", "c", "a", "d"} { // a duplicate, then an eviction of a
		_, err := s.Put(id, Prediction{})
		require.NoError(t, err)
	}
	same(3)
	_, ok := s.Take("b")
	require.True(t, ok)
	same(2)
	clock.t = clock.t.Add(2 * time.Hour)
	_, ok = s.Take("c") // expired: gone, and so is d
	require.False(t, ok)
	same(0)
	_, err := s.Restore(Entry{ID: "e", Added: clock.t})
	require.NoError(t, err)
	same(1)
}

func TestSaveAndRestore(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Options{MaxAge: 2 * time.Hour, Now: clock.Now})
	for i := 0; i < 100; i++ {
		_, _ = s.Put(fmt.Sprint("id-", i), Prediction{At: clock.t, Value: float64(i)})
		clock.t = clock.t.Add(time.Minute)
	}
	for i := 0; i < 100; i += 2 {
		_, ok := s.Take(fmt.Sprint("id-", i))
		require.True(t, ok)
	}
	var saved []byte
	s.Each(func(e Entry) bool {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		saved = append(append(saved, b...), '\n')
		return true
	})
	clock.t = clock.t.Add(40 * time.Minute) // the restart takes a while
	r := New(Options{MaxAge: 2 * time.Hour, Now: clock.Now})
	for _, line := range strings.Split(strings.TrimSpace(string(saved)), "\n") {
		var e Entry
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		_, err := r.Restore(e)
		require.NoError(t, err)
	}
	// 140 minutes after the first put, id-0..19 are older than two hours and expire on restore;
	// the odd ids from 21 to 99 still wait.
	require.Equal(t, 40, r.Len())
	require.Equal(t, uint64(10), r.Stats().EvictedAge)
	p, ok := r.Take("id-99")
	require.True(t, ok)
	require.Equal(t, 99.0, p.Value)
	_, ok = r.Take("id-98")
	require.False(t, ok)
}

// TestMemoryMillionPredictions: 1M predictions with UUID-sized ids must stay under 200 MB.
func TestMemoryMillionPredictions(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million entries")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New(Options{MaxCount: 1_000_000})
	now := time.Now()
	classes := []string{"fraud", "legit", "review"}
	for i := 0; i < 1_000_000; i++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919)
		if _, err := s.Put(id, Prediction{At: now, Class: classes[i%3], Value: 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := after.HeapAlloc - before.HeapAlloc
	t.Logf("1M awaiting predictions: %.1f MB heap (%.0f bytes each)", float64(used)/1e6, float64(used)/1e6)
	require.Equal(t, 1_000_000, s.Len())
	require.Less(t, used, uint64(200<<20))
	runtime.KeepAlive(s)
}

func BenchmarkPutTake(b *testing.B) {
	s := New(Options{MaxCount: 100_000})
	ids := make([]string, 200_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		_, _ = s.Put(id, Prediction{Class: "a"})
		if i%2 == 0 {
			s.Take(id)
		}
		i++
	}
}

// TestConcurrentUse runs puts, takes and expiries from several goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := New(Options{MaxCount: 500, MaxAge: time.Hour})
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 2000; i++ {
				id := fmt.Sprintf("%d-%d", g, i)
				_, _ = s.Put(id, Prediction{Class: "a"})
				if i%3 == 0 {
					s.Take(id)
				}
				if i%100 == 0 {
					s.Expire()
					_ = s.Len()
					_ = s.Stats()
				}
			}
		}(g)
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	st := s.Stats()
	require.Equal(t, uint64(8000), st.Added)
	require.Equal(t, int(st.Added-st.Joined-st.EvictedCapacity-st.EvictedAge), s.Len())
	require.LessOrEqual(t, s.Len(), 500)
}

// BenchmarkPutBytesEvict is the ingest's use of the store when it is full: ids of 36 bytes
// from a request buffer, an age limit, and every insert evicting the oldest. PutBytes reads
// the real clock; PutBytesAt is given a time read once per 1000 inserts, as a request would.
func BenchmarkPutBytesEvict(b *testing.B) {
	ids := make([][]byte, 5000)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "%08x-0000-4000-8000-%012x", i, i)
	}
	for _, at := range []bool{false, true} {
		name := map[bool]string{false: "PutBytes", true: "PutBytesAt"}[at]
		b.Run(name, func(b *testing.B) {
			s := New(Options{MaxCount: 2000, MaxAge: 30 * 24 * time.Hour})
			for _, id := range ids {
				_, _ = s.PutBytes(id, Prediction{Class: "a"})
			}
			i, now := 0, time.Now()
			for b.Loop() {
				var ok bool
				var err error
				if at {
					if i%1000 == 0 {
						now = time.Now()
					}
					ok, err = s.PutBytesAt(ids[i%len(ids)], Prediction{Class: "a", Value: 0.5}, now)
				} else {
					ok, err = s.PutBytes(ids[i%len(ids)], Prediction{Class: "a", Value: 0.5})
				}
				if !ok || err != nil {
					b.Fatalf("put %d: %v %v", i, ok, err)
				}
				i++
			}
			if st := s.Stats(); st.EvictedCapacity == 0 || st.Duplicates != 0 {
				b.Fatalf("stats %+v: want evictions and no duplicates", st)
			}
		})
	}
}

// TestPutBytesAt checks that the time given is both when the prediction is added and what
// ages are measured against, and that a time earlier than the newest entry's cannot put an
// entry out of age order (it would then outlive an older one).
func TestPutBytesAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0.Add(100 * time.Hour) // the store's own clock must not be read
	s := New(Options{MaxAge: time.Hour, Now: func() time.Time { return clock }})
	put := func(id string, at time.Time) {
		t.Helper()
		ok, err := s.PutBytesAt([]byte(id), Prediction{Class: "a"}, at)
		require.NoError(t, err)
		require.True(t, ok)
	}
	put("a", t0)
	put("b", t0.Add(30*time.Minute))
	put("c", t0.Add(20*time.Minute)) // a concurrent request that read the clock earlier
	oldest, ok := s.Oldest()
	require.True(t, ok)
	require.Equal(t, t0.UnixNano(), oldest.UnixNano())
	var added []time.Time
	s.Each(func(e Entry) bool { added = append(added, e.Added); return true })
	require.Len(t, added, 3)
	require.Equal(t, t0.Add(30*time.Minute).UnixNano(), added[2].UnixNano(), "c is added no earlier than b")

	// An hour and a minute after t0, a is too old, b and c are not.
	put("d", t0.Add(61*time.Minute))
	require.Equal(t, 3, s.Len())
	require.Equal(t, uint64(1), s.Stats().EvictedAge)
	_, ok = s.TakeBytes([]byte("a"))
	require.False(t, ok)

	// Ids are checked as for PutBytes.
	_, err := s.PutBytesAt(nil, Prediction{}, t0)
	require.ErrorIs(t, err, ErrBadID)
}
