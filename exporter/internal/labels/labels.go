// Package labels keeps predictions that wait for their ground truth, bounded by count and by
// age, and counts what falls out.
//
// Ground truth arrives by id, minutes or weeks after the prediction. The store is a hash
// index from id into an insertion-ordered list: joining a label is O(1), evicting the oldest
// is O(1), and memory is about 140 bytes per waiting prediction with 36-character ids (see the
// memory test), so 1M waiting predictions fit in well under 200 MB. The same type can hold
// labels that arrive before their prediction, for a shorter time.
//
// Storing a prediction is on the ingest hot path, so it allocates nothing for ids of up to
// inlineID bytes: the id is copied into its fixed-size node, and the index (open addressing,
// see Store.slots) holds a 32-bit hash of the id and the node's number rather than a string
// it would have to own. The full id stays in the node, and every lookup compares it, so two
// ids whose hashes collide are still told apart.
package labels

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Options bound the store. MaxCount ≤ 0 means 1,000,000; MaxAge ≤ 0 means no age limit; Now
// nil means time.Now.
type Options struct {
	MaxCount int
	MaxAge   time.Duration
	// MaxIDBytes bounds an id (default 256) so a client cannot store megabytes under one key.
	MaxIDBytes int
	Now        func() time.Time
	// Count, when set, is kept equal to the number of entries (written under the store's
	// lock), so that its owner can see the store is empty without taking the lock or reading
	// the store at all: a store that is nearly always empty (labels waiting for their
	// prediction) is asked about every prediction.
	Count *atomic.Int64
	// Budget, when set, bounds this store's bytes together with the other stores sharing it.
	Budget *Budget
}

// Prediction is what is kept per id: when it was made, the predicted class (classification) or
// value (regression, or the positive-class score).
type Prediction struct {
	At    time.Time `json:"at"`
	Class string    `json:"class,omitempty"`
	Value float64   `json:"value,omitempty"`
}

// Entry is one waiting prediction, as saved and restored.
type Entry struct {
	ID         string     `json:"id"`
	Prediction Prediction `json:"prediction"`
	Added      time.Time  `json:"added"`
}

// Stats count what happened; the integrator exports them as counters.
type Stats struct {
	Added           uint64 // predictions stored
	Joined          uint64 // taken by their label
	Duplicates      uint64 // ids already waiting: the first prediction is kept
	EvictedCapacity uint64 // dropped because the store was full (oldest first)
	EvictedAge      uint64 // dropped because older than MaxAge
	EvictedMemory   uint64 // dropped, oldest first across stores, by the shared Budget
}

const none = ^uint32(0)

const pageBits = 12

func (s *Store) node(i uint32) *node { return &s.pages[i>>pageBits][i&(1<<pageBits-1)] }

// inlineID is the longest id kept inside its node; longer ids are kept as a string of their
// own. 40 bytes hold a UUID (36) and leave the node at 120 bytes.
const inlineID = 40

type node struct {
	hash       uint64
	at, added  int64
	value      float64
	long       string // the id when longer than inlineID
	class      string
	prev, next uint32
	idLen      uint8 // length of an inline id; 0 when the id is in long
	short      [inlineID]byte
}

func (n *node) id() string {
	if n.idLen == 0 {
		return n.long
	}
	return string(n.short[:n.idLen])
}

func (n *node) hasID(id string) bool {
	if n.idLen == 0 {
		return n.long == id
	}
	return string(n.short[:n.idLen]) == id // compiled without a conversion
}

// Store is safe for concurrent use.
type Store struct {
	mu   sync.Mutex
	opts Options
	// slots index the nodes by id: an open-addressing hash table with linear probing, each
	// slot the low 32 bits of hashOf(id) (which also pick the slot to start from) above the
	// node's number plus one; 0 is an empty slot. A Go map from hash to node costs more on
	// this path: capacity eviction deletes as often as put inserts, and the map's deleted
	// slots lengthen its probes until it rehashes, where removing here shifts the following
	// entries back and leaves no trace. Ids whose hashes collide are told apart by the id
	// kept in the node.
	slots  []uint64
	hashOf func(string) uint64
	count  int
	// pages hold the nodes in fixed-size pages rather than one slice, so growing never copies
	// or over-allocates by the doubling factor.
	pages [][]node
	used  uint32 // nodes ever allocated
	free  uint32 // head of the free list, linked through next
	head  uint32 // oldest
	tail  uint32 // newest
	// classes interns class names so a million predictions of "fraud" share one string;
	// lastClass skips the map when a run of predictions has the same class.
	classes   map[string]string
	lastClass string
	stats     Stats
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.MaxCount <= 0 {
		opts.MaxCount = 1_000_000
	}
	if opts.MaxIDBytes <= 0 {
		opts.MaxIDBytes = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	seed := maphash.MakeSeed()
	s := &Store{
		opts: opts, free: none, head: none, tail: none, classes: map[string]string{},
		hashOf: func(id string) uint64 { return maphash.String(seed, id) },
	}
	if opts.Budget != nil {
		opts.Budget.register(s)
	}
	return s
}

// view is b as a string without copying, for lookups and for put, which copies what it keeps.
// b must not change while the call that receives the view runs; the store never retains it.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// find returns the node holding id, or none.
func (s *Store) find(id string, h uint64) uint32 {
	if len(s.slots) == 0 {
		return none
	}
	mask, tag := uint32(len(s.slots)-1), uint32(h)
	for p := tag & mask; ; p = (p + 1) & mask {
		e := s.slots[p]
		if e == 0 {
			return none
		}
		if uint32(e>>32) == tag && s.node(uint32(e)-1).hasID(id) {
			return uint32(e) - 1
		}
	}
}

func slot(h uint64, i uint32) uint64 { return uint64(uint32(h))<<32 | uint64(i+1) }

// index adds node i, whose id hashes to h, growing the table to keep it at most 3/4 full
// (s.count does not count i yet).
func (s *Store) index(h uint64, i uint32) {
	if (s.count+1)*4 > len(s.slots)*3 {
		old := s.slots
		s.slots = make([]uint64, max(16, 2*len(old)))
		for _, e := range old {
			if e != 0 {
				s.place(e)
			}
		}
	}
	s.place(slot(h, i))
}

// place puts an entry in the first free slot from its home.
func (s *Store) place(e uint64) {
	mask := uint32(len(s.slots) - 1)
	p := uint32(e>>32) & mask
	for s.slots[p] != 0 {
		p = (p + 1) & mask
	}
	s.slots[p] = e
}

// unindex removes node i, whose id hashes to h, from the table. Each following entry of the
// probe run moves back into the hole when its home slot lies at or before the hole (going
// round), so every entry stays reachable from its home without marks for deleted slots.
func (s *Store) unindex(h uint64, i uint32) {
	mask, want := uint32(len(s.slots)-1), slot(h, i)
	p := uint32(h) & mask
	for s.slots[p] != want {
		p = (p + 1) & mask
	}
	for q := p; ; {
		s.slots[p] = 0
		for {
			q = (q + 1) & mask
			e := s.slots[q]
			if e == 0 {
				return
			}
			if home := uint32(e>>32) & mask; (q-home)&mask >= (q-p)&mask {
				s.slots[p], p = e, q
				break
			}
		}
	}
}

// ErrBadID is returned for an empty, oversized or non-UTF-8 id.
var ErrBadID = errors.New("labels: id must be 1 to MaxIDBytes bytes of UTF-8")

func (s *Store) checkID(id string) error {
	if id == "" || len(id) > s.opts.MaxIDBytes || !utf8.ValidString(id) {
		return fmt.Errorf("%w (got %d bytes)", ErrBadID, len(id))
	}
	return nil
}

// Put stores a prediction under id. It returns false when the id is already waiting (the
// first prediction wins and the duplicate is counted).
func (s *Store) Put(id string, p Prediction) (bool, error) {
	now := s.opts.Now()
	return s.put(Entry{ID: id, Prediction: p, Added: now}, now)
}

// PutBytes is Put for an id held in bytes (a request buffer): an id of up to 40 bytes is
// stored without allocating. id is not retained.
func (s *Store) PutBytes(id []byte, p Prediction) (bool, error) {
	now := s.opts.Now()
	return s.put(Entry{ID: view(id), Prediction: p, Added: now}, now)
}

// PutBytesAt is PutBytes for a caller that has read the clock already (when the event was
// received): now is when the prediction is added and what ages are measured against. Reading
// the clock costs about as much as the rest of an insert on some machines. A now before the
// newest entry's is taken as that entry's, so the entries stay in the order of their age.
func (s *Store) PutBytesAt(id []byte, p Prediction, now time.Time) (bool, error) {
	return s.put(Entry{ID: view(id), Prediction: p, Added: now}, now)
}

// Restore puts a saved entry back, keeping its original Added time so age limits still hold
// after a restart. Entries must be restored oldest first (the order Each gives).
func (s *Store) Restore(e Entry) (bool, error) { return s.put(e, s.opts.Now()) }

// put stores e, first dropping what is older than MaxAge at now. e.ID may be a view of a
// caller's buffer: what is kept is copied.
func (s *Store) put(e Entry, now time.Time) (bool, error) {
	if err := s.checkID(e.ID); err != nil {
		return false, err
	}
	stored := s.putLocked(e, now)
	// Evicting for the budget takes other stores' locks, so it runs with none held.
	if b := s.opts.Budget; stored && b != nil && b.over() {
		b.shrink()
	}
	return stored, nil
}

func (s *Store) putLocked(e Entry, now time.Time) bool {
	h := s.hashOf(e.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	if s.find(e.ID, h) != none {
		s.stats.Duplicates++
		return false
	}
	for s.count >= s.opts.MaxCount {
		s.removeLocked(s.head)
		s.stats.EvictedCapacity++
	}
	class := e.Prediction.Class
	if class == s.lastClass {
		class = s.lastClass
	} else if c, ok := s.classes[class]; ok {
		class, s.lastClass = c, c
	} else if len(s.classes) < 1024 {
		s.classes[class], s.lastClass = class, class
	}
	var i uint32
	if s.free != none {
		i = s.free
		s.free = s.node(i).next
	} else {
		i = s.used
		s.used++
		if int(i>>pageBits) == len(s.pages) {
			s.pages = append(s.pages, make([]node, 1<<pageBits))
		}
	}
	added := unixNano(e.Added)
	if s.tail != none {
		// Concurrent callers of PutBytesAt may come in another order than their clocks.
		added = max(added, s.node(s.tail).added)
	}
	n := s.node(i)
	*n = node{hash: h, class: class, at: unixNano(e.Prediction.At), added: added, value: e.Prediction.Value, prev: s.tail, next: none}
	if len(e.ID) <= inlineID {
		n.idLen = uint8(copy(n.short[:], e.ID))
	} else {
		n.long = strings.Clone(e.ID)
	}
	s.index(h, i)
	if s.tail != none {
		s.node(s.tail).next = i
	} else {
		s.head = i
	}
	s.tail = i
	s.count++
	if c := s.opts.Count; c != nil {
		c.Store(int64(s.count))
	}
	s.stats.Added++
	if b := s.opts.Budget; b != nil {
		b.used.Add(EntryBytes(len(e.ID)))
	}
	return true
}

// Take removes and returns the prediction waiting under id, for joining with its label.
func (s *Store) Take(id string) (Prediction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 {
		return Prediction{}, false // nothing to expire either; the common case of the early store
	}
	s.expireLocked(s.opts.Now())
	i := s.find(id, s.hashOf(id))
	if i == none {
		return Prediction{}, false
	}
	n := *s.node(i)
	s.removeLocked(i)
	s.stats.Joined++
	return Prediction{At: fromUnixNano(n.at), Class: n.class, Value: n.value}, true
}

// TakeBytes is Take for an id held in bytes; it does not allocate. id is not retained.
func (s *Store) TakeBytes(id []byte) (Prediction, bool) { return s.Take(view(id)) }

// Expire drops predictions older than MaxAge now; Put and Take do it too. It returns how many
// were dropped.
func (s *Store) Expire() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expireLocked(s.opts.Now())
}

func (s *Store) expireLocked(now time.Time) int {
	if s.opts.MaxAge <= 0 {
		return 0
	}
	limit := now.Add(-s.opts.MaxAge).UnixNano()
	var n int
	for s.head != none && s.node(s.head).added < limit {
		s.removeLocked(s.head)
		s.stats.EvictedAge++
		n++
	}
	return n
}

func (s *Store) removeLocked(i uint32) {
	n := s.node(i)
	if n.prev != none {
		s.node(n.prev).next = n.next
	} else {
		s.head = n.next
	}
	if n.next != none {
		s.node(n.next).prev = n.prev
	} else {
		s.tail = n.prev
	}
	s.unindex(n.hash, i)
	if b := s.opts.Budget; b != nil {
		idLen := int(n.idLen)
		if idLen == 0 {
			idLen = len(n.long)
		}
		b.used.Add(-EntryBytes(idLen))
	}
	s.count--
	if c := s.opts.Count; c != nil {
		c.Store(int64(s.count))
	}
	*n = node{next: s.free, prev: none} // drop the strings so they can be collected
	s.free = i
}

// Len is the number of waiting predictions (aiops_predictions_awaiting_label).
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Stats returns the counters so far.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Oldest returns when the oldest waiting prediction was added, and false when none waits.
func (s *Store) Oldest() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == none {
		return time.Time{}, false
	}
	return fromUnixNano(s.node(s.head).added), true
}

// Each calls fn for every waiting prediction, oldest first, until fn returns false; use it to
// save the store. The store is locked meanwhile, so fn must not call back into it.
func (s *Store) Each(fn func(Entry) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := s.head; i != none; i = s.node(i).next {
		n := *s.node(i)
		if !fn(Entry{ID: n.id(), Prediction: Prediction{At: fromUnixNano(n.at), Class: n.class, Value: n.value}, Added: fromUnixNano(n.added)}) {
			return
		}
	}
}

// unixNano keeps the zero time (a prediction without a timestamp) as 0; UnixNano of it would
// overflow.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
