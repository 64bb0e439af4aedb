package drift

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// Embedding drift: the Euclidean distance between the mean embedding of the reference and of
// the window, one of Evidently's embedding drift methods ("distance"), and the one that needs
// only mergeable sums. Evidently judges it against a fixed 0.2 or a bootstrap quantile of
// reference resamples; a streaming window of any size needs the quantile for its own size, so
// it is computed: with no drift the window mean minus the reference mean is approximately
// normal with covariance Σ·(1/n + 1/N), and its squared norm is approximately g·χ²_h with
// g = c·tr(Σ²)/tr(Σ), h = tr(Σ)²/tr(Σ²) (Satterthwaite's matching of the first two moments).
// The threshold is the square root of that law's 95% quantile.

// Embedding limits and defaults.
const (
	// DefaultMaxEmbeddingDim bounds an event's embedding (the exporter's
	// limits.max_embedding_dim default).
	DefaultMaxEmbeddingDim = 1024
	// embeddingSampleRows bounds the reference embeddings kept to estimate tr(Σ²).
	embeddingSampleRows = 1000
	// embeddingPairs is how many random pairs of sampled embeddings estimate tr(Σ²).
	embeddingPairs = 20000
	// DefaultEmbeddingQuantile is the no-drift quantile of the distance used as threshold.
	DefaultEmbeddingQuantile = 0.95
	// minEmbeddingRows is the fewest reference embeddings a profile needs.
	minEmbeddingRows = 30
)

// EmbeddingProfile is the frozen reference of a version's embeddings.
type EmbeddingProfile struct {
	Dim  int       `json:"dim"`
	Rows float64   `json:"rows"`
	Mean []float64 `json:"mean"`
	// Trace is tr(Σ), the summed variance; TraceSq is tr(Σ²), estimated from random pairs of
	// sampled reference embeddings.
	Trace   float64 `json:"trace"`
	TraceSq float64 `json:"trace_sq"`
}

// embeddingBuilder accumulates reference embeddings: Welford means and summed variance, and a
// reservoir of rows for tr(Σ²).
type embeddingBuilder struct {
	dim    int
	rows   float64
	mean   []float64
	m2     float64
	sample [][]float64
	rng    *rand.Rand
}

// AddEmbedding adds one reference embedding; every embedding of a reference must have the
// dimension of the first, at most DefaultMaxEmbeddingDim, with finite values.
func (b *Builder) AddEmbedding(v []float64) error {
	if len(v) == 0 || len(v) > DefaultMaxEmbeddingDim {
		return fmt.Errorf("embedding: want 1 to %d values, got %d", DefaultMaxEmbeddingDim, len(v))
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > MaxMagnitude {
			return fmt.Errorf("embedding[%d]: want a finite number within ±%g, got %v", i, MaxMagnitude, x)
		}
	}
	e := b.embed
	if e == nil {
		e = &embeddingBuilder{dim: len(v), mean: make([]float64, len(v)), rng: rand.New(rand.NewPCG(b.opts.Seed, 0xe3b))}
		b.embed = e
	}
	if len(v) != e.dim {
		return fmt.Errorf("embedding: want %d values like the earlier rows, got %d", e.dim, len(v))
	}
	e.rows++
	for i, x := range v {
		d := x - e.mean[i]
		e.mean[i] += d / e.rows
		e.m2 += d * (x - e.mean[i])
	}
	switch {
	case len(e.sample) < embeddingSampleRows:
		e.sample = append(e.sample, append([]float64(nil), v...))
	default:
		if j := e.rng.IntN(int(e.rows)); j < len(e.sample) {
			copy(e.sample[j], v)
		}
	}
	return nil
}

// profile freezes the embeddings; nil with too few of them or no variance.
func (e *embeddingBuilder) profile() *EmbeddingProfile {
	if e == nil || e.rows < minEmbeddingRows || e.m2 <= 0 {
		return nil
	}
	p := &EmbeddingProfile{Dim: e.dim, Rows: e.rows, Mean: append([]float64(nil), e.mean...), Trace: e.m2 / e.rows}
	// E[((x−μ)·(y−μ))²] = tr(Σ²) for independent x and y: average it over random pairs.
	n := len(e.sample)
	var s float64
	for k := 0; k < embeddingPairs; k++ {
		i, j := e.rng.IntN(n), e.rng.IntN(n-1)
		if j >= i {
			j++
		}
		var dot float64
		for c := range e.dim {
			dot += (e.sample[i][c] - p.Mean[c]) * (e.sample[j][c] - p.Mean[c])
		}
		s += dot * dot
	}
	// Never below tr(Σ)²/d (all variance spread evenly), the smallest tr(Σ²) can be.
	p.TraceSq = math.Max(s/embeddingPairs, p.Trace*p.Trace/float64(e.dim))
	return p
}

func (p *EmbeddingProfile) validate() error {
	if p.Dim < 1 || p.Dim > DefaultMaxEmbeddingDim || len(p.Mean) != p.Dim {
		return fmt.Errorf("embedding: want dim in 1..%d and that many means, got dim %d and %d means", DefaultMaxEmbeddingDim, p.Dim, len(p.Mean))
	}
	for i, m := range p.Mean {
		if !finite(m) {
			return fmt.Errorf("embedding.mean[%d]: want a finite number, got %v", i, m)
		}
	}
	if !(p.Trace > 0) || !finite(p.Trace) || !(p.TraceSq > 0) || !finite(p.TraceSq) || !(p.Rows >= 1) || !finite(p.Rows) {
		return fmt.Errorf("embedding: trace, trace_sq and rows must be positive and finite, got %v, %v, %v", p.Trace, p.TraceSq, p.Rows)
	}
	return nil
}

// EmbeddingWindow sums a window's embeddings; it merges by adding.
type EmbeddingWindow struct {
	N   float64   `json:"n"`
	Sum []float64 `json:"sum"`
}

// Add records one embedding of the profile's dimension; false when the dimension differs.
func (w *EmbeddingWindow) Add(p *EmbeddingProfile, v []float64) bool {
	if len(v) != p.Dim {
		return false
	}
	if len(w.Sum) != p.Dim {
		w.Sum = make([]float64, p.Dim)
	}
	w.N++
	for i, x := range v {
		w.Sum[i] += x
	}
	return true
}

// Merge adds o into w.
func (w *EmbeddingWindow) Merge(o *EmbeddingWindow) {
	if o.N == 0 {
		return
	}
	if len(w.Sum) == 0 {
		w.Sum = make([]float64, len(o.Sum))
	}
	if len(w.Sum) != len(o.Sum) {
		return
	}
	w.N += o.N
	for i, x := range o.Sum {
		w.Sum[i] += x
	}
}

// Reset zeroes w, keeping its buffer.
func (w *EmbeddingWindow) Reset() {
	w.N = 0
	clear(w.Sum)
}

// EmbeddingResult is the verdict on a window's embeddings.
type EmbeddingResult struct {
	// Distance is ‖mean(window) − mean(reference)‖; Threshold its no-drift quantile for a
	// window of N embeddings.
	Distance, Threshold float64
	Drifted             bool
	N                   float64
}

// Judge compares a window's mean embedding with the reference's. quantile ≤ 0 or ≥ 1 means
// DefaultEmbeddingQuantile. With no embeddings the result is NaN and not drifted.
func (p *EmbeddingProfile) Judge(w *EmbeddingWindow, quantile float64) EmbeddingResult {
	if !(quantile > 0 && quantile < 1) {
		quantile = DefaultEmbeddingQuantile
	}
	r := EmbeddingResult{Distance: math.NaN(), Threshold: math.NaN(), N: w.N}
	if w.N <= 0 || len(w.Sum) != p.Dim {
		return r
	}
	var sq float64
	for i, s := range w.Sum {
		d := s/w.N - p.Mean[i]
		sq += d * d
	}
	r.Distance = math.Sqrt(sq)
	c := 1/w.N + 1/p.Rows
	g := c * p.TraceSq / p.Trace
	h := p.Trace * p.Trace / p.TraceSq
	r.Threshold = math.Sqrt(g * distuv.ChiSquared{K: h}.Quantile(quantile))
	r.Drifted = r.Distance > r.Threshold
	return r
}
