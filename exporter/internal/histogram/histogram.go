// Package histogram is a mergeable, persistable histogram that exposes classic buckets and a
// Prometheus native (sparse, exponential) histogram in the same metric.
//
// client_golang's Histogram cannot be restored from saved state, and the exporter must keep
// its counts across restarts; so the exporter keeps its own counts and writes them with the
// same bucket layout client_golang uses (checked against it in the tests).
package histogram

import (
	"math"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// NativeSchema 3 gives a bucket growth factor of 2^(1/8) ≈ 1.09, which is what client_golang
// picks for NativeHistogramBucketFactor 1.1.
const NativeSchema = 3

// MaxNativeBuckets bounds the native buckets of one histogram. Values spread over a very
// wide range (say 1e-9 to 1e9 seconds) would otherwise create thousands; past the bound the
// resolution halves (schema − 1, merging neighbouring buckets), as client_golang does with
// NativeHistogramMaxBucketNumber.
const MaxNativeBuckets = 160

// minSchema is the coarsest resolution (growth factor 2^16) Prometheus accepts.
const minSchema = -4

// ZeroThreshold is client_golang's default native-histogram zero bucket width.
const ZeroThreshold = prometheus.DefNativeHistogramZeroThreshold

// nativeBounds are the upper bounds of the schema's buckets within one power of two,
// expressed as the fraction returned by math.Frexp.
var nativeBounds = func() []float64 {
	n := 1 << NativeSchema
	b := make([]float64, n)
	for i := range n {
		b[i] = math.Exp2(float64(i)/float64(n) - 1)
	}
	return b
}()

// Histogram is a set of counts. The zero value is empty; Bounds is shared with the family
// and not persisted. Observe only finite values >= 0 (the exporter rejects the others).
type Histogram struct {
	Counts    []uint64         `json:"counts"` // per classic bucket, non-cumulative, +Inf last
	Count     uint64           `json:"count"`
	Sum       float64          `json:"sum"`
	ZeroCount uint64           `json:"zero_count"`
	Native    map[int32]uint64 `json:"native,omitempty"` // positive native bucket index → count
	// Reduction is how many times the resolution was halved: the schema is
	// NativeSchema − Reduction.
	Reduction int32 `json:"reduction,omitempty"`
}

// Schema is the histogram's native schema.
func (h *Histogram) Schema() int32 { return NativeSchema - h.Reduction }

// Observe adds one value, given the family's classic bounds (sorted, without +Inf).
func (h *Histogram) Observe(bounds []float64, v float64) {
	if len(h.Counts) != len(bounds)+1 {
		h.Counts = make([]uint64, len(bounds)+1)
	}
	h.Counts[search(bounds, v)]++
	h.Count++
	h.Sum += v
	if v <= ZeroThreshold {
		h.ZeroCount++
		return
	}
	if h.Native == nil {
		h.Native = make(map[int32]uint64, 16)
	}
	h.Native[reduce(nativeIndex(v), h.Reduction)]++
	for len(h.Native) > MaxNativeBuckets && h.Schema() > minSchema {
		h.halve()
	}
}

// reduce maps a bucket index at NativeSchema to the schema `by` steps coarser: bucket i
// covers (base^(i-1), base^i], and at base² it falls in bucket ceil(i/2).
func reduce(i, by int32) int32 {
	if by == 0 {
		return i
	}
	return ((i - 1) >> by) + 1
}

// halve merges neighbouring buckets: the schema drops by one.
func (h *Histogram) halve() {
	merged := make(map[int32]uint64, len(h.Native)/2+1)
	for i, c := range h.Native {
		merged[((i-1)>>1)+1] += c
	}
	h.Native = merged
	h.Reduction++
}

// nativeIndex is the index of the native bucket holding v > 0: bucket i covers
// (base^(i-1), base^i] with base = 2^(2^-schema).
func nativeIndex(v float64) int32 {
	frac, exp := math.Frexp(v)
	return int32(search(nativeBounds, frac) + (exp-1)*len(nativeBounds))
}

// search is sort.SearchFloat64s (the first index with bounds[i] >= v) as a plain loop: the
// bound lists are short and this runs once per observation on the ingest hot path.
func search(bounds []float64, v float64) int {
	i := 0
	for i < len(bounds) && bounds[i] < v {
		i++
	}
	return i
}

// Merge adds other's counts to h, at the coarser of the two resolutions.
func (h *Histogram) Merge(o *Histogram) {
	for h.Reduction < o.Reduction {
		h.halve()
	}
	delta := h.Reduction - o.Reduction
	if len(o.Counts) > 0 && len(h.Counts) != len(o.Counts) {
		h.Counts = make([]uint64, len(o.Counts))
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.Count += o.Count
	h.Sum += o.Sum
	h.ZeroCount += o.ZeroCount
	for k, c := range o.Native {
		if h.Native == nil {
			h.Native = make(map[int32]uint64, len(o.Native))
		}
		h.Native[reduce(k, delta)] += c
	}
	for len(h.Native) > MaxNativeBuckets && h.Schema() > minSchema {
		h.halve()
	}
}

// Metric returns a const metric holding both the classic and the native representation.
func (h *Histogram) Metric(desc *prometheus.Desc, bounds []float64, labelValues ...string) prometheus.Metric {
	return &metric{desc: desc, labels: prometheus.MakeLabelPairs(desc, labelValues), h: h.write(bounds)}
}

func (h *Histogram) write(bounds []float64) *dto.Histogram {
	out := &dto.Histogram{
		SampleCount:   proto.Uint64(h.Count),
		SampleSum:     proto.Float64(h.Sum),
		Schema:        proto.Int32(h.Schema()),
		ZeroThreshold: proto.Float64(ZeroThreshold),
		ZeroCount:     proto.Uint64(h.ZeroCount),
		Bucket:        make([]*dto.Bucket, len(bounds)),
	}
	var cum uint64
	for i, b := range bounds {
		if i < len(h.Counts) {
			cum += h.Counts[i]
		}
		out.Bucket[i] = &dto.Bucket{UpperBound: proto.Float64(b), CumulativeCount: proto.Uint64(cum)}
	}
	if len(h.Native) == 0 {
		// The schema and zero threshold already mark it native (as client_golang leaves it).
		return out
	}
	keys := make([]int32, 0, len(h.Native))
	for k := range h.Native {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	// Spans of consecutive buckets; gaps of up to two empty buckets are cheaper to fill with
	// zero deltas than to open a new span (client_golang does the same).
	var (
		prevKey   int32
		prevCount int64
		span      *dto.BucketSpan
	)
	for n, k := range keys {
		c := int64(h.Native[k])
		switch gap := k - prevKey - 1; {
		case n == 0:
			span = &dto.BucketSpan{Offset: proto.Int32(k), Length: proto.Uint32(0)}
			out.PositiveSpan = append(out.PositiveSpan, span)
		case gap <= 2:
			for range gap {
				out.PositiveDelta = append(out.PositiveDelta, -prevCount)
				prevCount = 0
				*span.Length++
			}
		default:
			span = &dto.BucketSpan{Offset: proto.Int32(gap), Length: proto.Uint32(0)}
			out.PositiveSpan = append(out.PositiveSpan, span)
		}
		out.PositiveDelta = append(out.PositiveDelta, c-prevCount)
		*span.Length++
		prevKey, prevCount = k, c
	}
	return out
}

type metric struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	h      *dto.Histogram
}

func (m *metric) Desc() *prometheus.Desc { return m.desc }

func (m *metric) Write(out *dto.Metric) error {
	out.Label = m.labels
	out.Histogram = m.h
	return nil
}

// ExponentialBuckets returns n bounds start, start·factor, …; it panics on bad arguments
// like prometheus.ExponentialBuckets, since bounds are program constants.
func ExponentialBuckets(start, factor float64, n int) []float64 {
	return prometheus.ExponentialBuckets(start, factor, n)
}
