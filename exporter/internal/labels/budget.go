package labels

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"unsafe"
)

// EntryBytes is what one entry costs against a Budget: its node, its share of the index
// (8-byte slots kept at most 3/4 full) and an id too long to be kept inline. The pages of
// nodes are allocated 4096 at a time, so a store also holds up to one partly used page
// beyond this.
func EntryBytes(idLen int) int64 {
	n := int64(unsafe.Sizeof(node{})) + 16
	if idLen > inlineID {
		n += int64(idLen)
	}
	return n
}

// Budget bounds the bytes of several stores together (predictions awaiting their label in
// every model version, labels awaiting their prediction in every model): per-store counts
// alone let thousands of stores grow together. Past the bound, the oldest entries of all
// the stores go first, down to 1% below it so that evicting is not paid on every insert;
// each store counts what it lost in Stats.EvictedMemory.
type Budget struct {
	max  atomic.Int64
	used atomic.Int64

	mu     sync.Mutex // serialises eviction; guards stores
	stores []*Store
}

// NewBudget returns a budget of maxBytes (≤ 0: no bound).
func NewBudget(maxBytes int64) *Budget {
	b := &Budget{}
	b.max.Store(maxBytes)
	return b
}

// SetMax changes the bound (a configuration reload); a lower one takes effect at the next
// insert.
func (b *Budget) SetMax(maxBytes int64) { b.max.Store(maxBytes) }

// Max is the bound in bytes.
func (b *Budget) Max() int64 { return b.max.Load() }

// Used is the bytes held by the stores now.
func (b *Budget) Used() int64 { return b.used.Load() }

func (b *Budget) register(s *Store) {
	b.mu.Lock()
	b.stores = append(b.stores, s)
	b.mu.Unlock()
}

func (b *Budget) over() bool {
	m := b.max.Load()
	return m > 0 && b.used.Load() > m
}

// shrink evicts the oldest entries across the stores until the budget is 1% below its
// bound. It takes one store's lock at a time and is called with none held.
func (b *Budget) shrink() {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.max.Load()
	target := m - m/100
	if m <= 0 || b.used.Load() <= target {
		return
	}
	h := make(oldestHeap, 0, len(b.stores))
	for _, s := range b.stores {
		if at, ok := s.oldestAdded(); ok {
			h = append(h, heads{s, at})
		}
	}
	heap.Init(&h)
	for len(h) > 0 && b.used.Load() > target {
		s := h[0].s
		if at, ok := s.evictOldest(); ok {
			h[0].at = at
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
}

type heads struct {
	s  *Store
	at int64 // when its oldest entry was added
}

type oldestHeap []heads

func (h oldestHeap) Len() int           { return len(h) }
func (h oldestHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h oldestHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *oldestHeap) Push(x any)        { *h = append(*h, x.(heads)) }
func (h *oldestHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// oldestAdded is when the oldest entry was added (Unix ns).
func (s *Store) oldestAdded() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == none {
		return 0, false
	}
	return s.node(s.head).added, true
}

// evictOldest drops the oldest entry for the budget and returns when the next oldest was
// added; ok is false when the store is then empty.
func (s *Store) evictOldest() (next int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == none {
		return 0, false
	}
	s.removeLocked(s.head)
	s.stats.EvictedMemory++
	if s.head == none {
		return 0, false
	}
	return s.node(s.head).added, true
}
