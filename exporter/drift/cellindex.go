package drift

import "math"

// cellIndex finds where a value falls among a feature's sorted fine-grid edges without a full
// binary search: the span of the edges is cut into equal-width buckets, and each bucket knows
// which edges it holds. A value's bucket is one subtraction and one multiplication, and the
// search then runs over that bucket's edges only (usually none or one).
//
// It is exact, not approximate: bucketOf is a composition of monotone operations (IEEE
// subtraction and multiplication round monotonically, and truncation and clamping are
// monotone), so an edge in an earlier bucket than v is below v and an edge in a later bucket
// is above it. The first edge ≥ v therefore lies in [start[b], start[b+1]] for v's bucket b,
// whatever rounding did to v and to the edges.
type cellIndex struct {
	lo, scale float64
	last      int // the last bucket
	// start[b] is the number of edges whose bucket is below b; start[last+1] is len(edges).
	// uint16 keeps the table of a 256-cell grid within a few cache lines: on the ingest path
	// the table load, not the arithmetic, is what costs.
	start []uint16
}

// bucketsPerEdge trades memory (2 bytes per bucket, so cache misses) for fewer edges per
// bucket; with evenly spread edges most buckets hold one or two.
const bucketsPerEdge = 2

// newCellIndex returns the zero cellIndex (no table; see ok) when a plain binary search must
// do: fewer than two edges, more than the table can count, or edges spread over more than the
// float range or within a few subnormals (the scale would be infinite or zero).
func newCellIndex(edges []float64) cellIndex {
	m := len(edges)
	k := bucketsPerEdge * m
	if m < 2 || k >= math.MaxUint16 {
		return cellIndex{}
	}
	span := edges[m-1] - edges[0]
	scale := float64(k) / span
	if math.IsInf(span, 0) || !(scale > 0) || math.IsInf(scale, 0) {
		return cellIndex{}
	}
	ci := cellIndex{lo: edges[0], scale: scale, last: k - 1, start: make([]uint16, k+1)}
	for _, e := range edges {
		ci.start[ci.bucket(e)+1]++
	}
	for b := 1; b <= k; b++ {
		ci.start[b] += ci.start[b-1]
	}
	return ci
}

// ok says whether the index has a table; without one, search the edges.
func (ci *cellIndex) ok() bool { return len(ci.start) > 0 }

// bucket is monotone non-decreasing in v for every non-NaN v, ±Inf included.
func (ci *cellIndex) bucket(v float64) int {
	x := (v - ci.lo) * ci.scale
	if !(x > 0) { // also NaN, which the search below then places as the plain search does
		return 0
	}
	if x >= float64(ci.last) {
		return ci.last
	}
	return int(x)
}

// lowerBound is the first index i with edges[i] ≥ v (len(edges) when none), as a binary search
// over all of edges would return it.
func (ci *cellIndex) lowerBound(edges []float64, v float64) int {
	lo, _ := ci.lowerBoundExact(edges, v)
	return lo
}

// lowerBoundExact is lowerBound, and whether v equals edges[lo]. When v's bucket holds no
// edge, v equals none and the edges are not read at all: one cache miss fewer on the ingest
// path, where the edges of many features compete for the cache.
//
// A bucket usually holds no edge or one, and a run of values (a flush of queued values)
// falls in buckets of either kind at random, so that case is decided without branches the
// processor would mispredict: edges[lo] is read whatever (clamped into range) and counted
// only when the bucket holds it.
func (ci *cellIndex) lowerBoundExact(edges []float64, v float64) (int, bool) {
	b := ci.bucket(v)
	lo, hi := int(ci.start[b]), int(ci.start[b+1])
	if n := hi - lo; n <= 1 {
		e := edges[min(lo, len(edges)-1)]
		return lo + n&b2i(e < v), n&b2i(e == v) == 1
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if edges[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(edges) && edges[lo] == v
}

// b2i is 1 for true and 0 for false, compiled to a flag read rather than a branch.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addAll bins values into counts and sums, each in the cell lowerBoundExact gives it, with
// the table's fields held in registers and the common case inlined, rather than a call per
// value (BenchmarkAddFloats measures the two side by side). It stops at the first value that is NaN or beyond ±MaxMagnitude, which
// AddFloat must judge, and returns how many it binned.
func (ci *cellIndex) addAll(edges, vs, counts, sums []float64) int {
	lo0, scale, last, start := ci.lo, ci.scale, ci.last, ci.start
	flast, m := float64(last), len(edges)-1
	sums = sums[:len(counts)]
	for i, v := range vs {
		if !(math.Abs(v) <= MaxMagnitude) {
			return i
		}
		// bucket, inlined.
		x, b := (v-lo0)*scale, 0
		if x > 0 {
			b = last
			if x < flast {
				b = int(x)
			}
		}
		lo, hi := int(start[b]), int(start[b+1])
		var c int
		if n := hi - lo; n <= 1 {
			e := edges[min(lo, m)]
			c = 2*(lo+n&b2i(e < v)) + n&b2i(e == v)
		} else {
			l, exact := ci.lowerBoundExact(edges, v)
			c = 2*l + b2i(exact)
		}
		counts[c]++
		sums[c] += v
	}
	return len(vs)
}
