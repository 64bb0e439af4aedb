package drift

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// cluster draws a 32-dimensional embedding around centre with isotropic noise of std 1 in every
// dimension, and a few dimensions of larger spread, as embeddings have.
func cluster(rng *rand.Rand, centre []float64) []float64 {
	v := make([]float64, len(centre))
	for i := range v {
		sd := 1.0
		if i < 4 {
			sd = 3
		}
		v[i] = centre[i] + sd*rng.NormFloat64()
	}
	return v
}

func embeddingProfile(t *testing.T, rng *rand.Rand, centre []float64, n int) *Profile {
	t.Helper()
	b := NewBuilder(ProfileOptions{})
	for range n {
		if err := b.AddEmbedding(cluster(rng, centre)); err != nil {
			t.Fatal(err)
		}
	}
	p := b.Profile()
	if p.Embedding == nil {
		t.Fatal("no embedding profile")
	}
	return p
}

// TestEmbeddingDriftRotatedCluster: the reference cluster sits at distance 2 from the origin
// along one axis; the window's is the same cluster rotated by 90° about the origin (same
// spread, same distance from the origin). The distance between the means (2√2) must fire,
// and windows drawn from the reference's own cluster must stay near the 5% false-alarm rate of
// the computed threshold, at several window sizes, where a fixed threshold cannot.
func TestEmbeddingDriftRotatedCluster(t *testing.T) {
	const dim = 32
	rng := rand.New(rand.NewPCG(4, 4))
	centre := make([]float64, dim)
	centre[10] = 2
	rotated := make([]float64, dim)
	rotated[11] = 2
	p := embeddingProfile(t, rng, centre, 5000)
	e := p.Embedding
	// tr(Σ) = 4·9 + 28·1 = 64, tr(Σ²) = 4·81 + 28 = 352.
	if math.Abs(e.Trace-64)/64 > 0.05 || math.Abs(e.TraceSq-352)/352 > 0.15 {
		t.Fatalf("trace %v (want 64), trace_sq %v (want 352)", e.Trace, e.TraceSq)
	}
	window := func(c []float64, n int) *EmbeddingWindow {
		var w EmbeddingWindow
		for range n {
			if !w.Add(e, cluster(rng, c)) {
				t.Fatal("dimension refused")
			}
		}
		return &w
	}
	for _, n := range []int{50, 500, 5000} {
		alarms, fixed := 0, 0
		const trials = 200
		for range trials {
			r := e.Judge(window(centre, n), 0)
			if r.Drifted {
				alarms++
			}
			if r.Distance >= 0.2 { // Evidently's fixed default threshold for "distance"
				fixed++
			}
		}
		rate := float64(alarms) / trials
		t.Logf("window %5d: no-drift alarms %3d/%d with the computed threshold, %3d/%d with a fixed 0.2", n, alarms, trials, fixed, trials)
		if rate > 0.05+3*math.Sqrt(0.05*0.95/trials) || rate < 0.005 {
			t.Errorf("window %d: false-alarm rate %.3f, want near 0.05", n, rate)
		}
		r := e.Judge(window(rotated, n), 0)
		t.Logf("window %5d: rotated cluster distance %.3f against threshold %.3f", n, r.Distance, r.Threshold)
		if !r.Drifted {
			t.Errorf("window %d: the rotated cluster was not detected (distance %.3f, threshold %.3f)", n, r.Distance, r.Threshold)
		}
	}
}

// TestEmbeddingProfileErrors: dimensions must agree, values must be finite, and a corrupt saved
// profile is refused naming the field; the profile survives JSON.
func TestEmbeddingProfileErrors(t *testing.T) {
	b := NewBuilder(ProfileOptions{})
	if err := b.AddEmbedding([]float64{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddEmbedding([]float64{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "want 2 values") {
		t.Errorf("a dimension change: %v", err)
	}
	if err := b.AddEmbedding([]float64{1, math.NaN()}); err == nil || !strings.Contains(err.Error(), "embedding[1]") {
		t.Errorf("NaN: %v", err)
	}
	if err := b.AddEmbedding(make([]float64, DefaultMaxEmbeddingDim+1)); err == nil {
		t.Error("an embedding beyond the limit must be refused")
	}
	p := embeddingProfile(t, rand.New(rand.NewPCG(1, 1)), make([]float64, 8), 100)
	raw, _ := json.Marshal(p)
	var q Profile
	if err := json.Unmarshal(raw, &q); err != nil || q.Validate() != nil || q.Embedding.Dim != 8 {
		t.Fatalf("round trip: %v", err)
	}
	q.Embedding.Mean = q.Embedding.Mean[:3]
	if err := q.Validate(); err == nil || !strings.Contains(err.Error(), "embedding") {
		t.Errorf("corrupt profile: %v", err)
	}
	var w EmbeddingWindow
	if w.Add(p.Embedding, []float64{1}) {
		t.Error("a window embedding of another dimension must be refused")
	}
	if r := p.Embedding.Judge(&w, 0); r.Drifted || !math.IsNaN(r.Distance) {
		t.Errorf("empty window judged %+v", r)
	}
}
