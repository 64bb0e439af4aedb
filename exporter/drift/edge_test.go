package drift

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func normal(rng *rand.Rand, n int, mean, sd float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()*sd + mean
	}
	return out
}

func TestEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	t.Run("constant feature unchanged", func(t *testing.T) {
		p := numericProfile(t, ProfileOptions{}, make([]float64, 500))
		f := p.Features[0]
		require.Zero(t, f.Std)
		require.True(t, f.PerValue)
		r, err := Compare(p, windowOf(t, p, make([]float64, 100)), Config{})
		require.NoError(t, err)
		fr := r.Features[0]
		require.Equal(t, MethodZ, fr.Method, "one distinct value counts as binary")
		require.False(t, fr.Drifted)
		for _, s := range fr.Scores {
			if !math.IsNaN(s.Value) {
				require.Zero(t, s.Value, "%s", s.Method)
			}
		}
	})
	t.Run("constant feature moves", func(t *testing.T) {
		p := numericProfile(t, ProfileOptions{}, make([]float64, 5000))
		r, err := Compare(p, windowOf(t, p, []float64{0, 0, 0, 1, 1}), Config{MinWindowRows: 1})
		require.NoError(t, err)
		fr := r.Features[0]
		require.Equal(t, MethodJS, fr.Method)
		require.True(t, fr.Drifted)
		for _, s := range fr.Scores {
			require.False(t, math.IsInf(s.Value, 0) || math.IsNaN(s.Value), "%s = %v", s.Method, s.Value)
		}
	})
	t.Run("all-null window", func(t *testing.T) {
		p := numericProfile(t, ProfileOptions{}, normal(rng, 500, 0, 1))
		w := p.NewWindow()
		for i := 0; i < 20; i++ {
			require.NoError(t, p.Features[0].AddJSON(&w.Histograms[0], nil))
			require.NoError(t, p.Features[0].AddFloat(&w.Histograms[0], math.NaN()))
		}
		r, err := Compare(p, w, Config{})
		require.NoError(t, err)
		fr := r.Features[0]
		require.False(t, fr.Judged)
		require.Equal(t, ReasonWindowEmpty, fr.Reason)
		require.Equal(t, 40.0, fr.Nulls)
		require.Zero(t, r.Judged)
		require.False(t, r.DatasetDrifted)
	})
	t.Run("all-null reference", func(t *testing.T) {
		b := NewBuilder(ProfileOptions{})
		require.NoError(t, b.Declare("x", Numeric))
		for i := 0; i < 100; i++ {
			require.NoError(t, b.AddNull("x"))
		}
		p := b.Profile()
		require.NoError(t, p.Validate())
		w := windowOf(t, p, []float64{1, 2, 3})
		require.Equal(t, 3.0, w.Histograms[0].Unbinned)
		r, err := Compare(p, w, Config{})
		require.NoError(t, err)
		require.Equal(t, ReasonReferenceEmpty, r.Features[0].Reason)
	})
	t.Run("single event", func(t *testing.T) {
		p := numericProfile(t, ProfileOptions{}, normal(rng, 5000, 0, 1))
		// By default a window of fewer than 30 values is not judged: a verdict on a handful
		// of events is noise.
		r, err := Compare(p, windowOf(t, p, []float64{0.1}), Config{})
		require.NoError(t, err)
		require.Equal(t, ReasonWindowTooSmall, r.Features[0].Reason)
		require.False(t, r.Features[0].Judged)
		r, err = Compare(p, windowOf(t, p, []float64{3, 3.1, 3.2, 2.9, 3.3, 3.0, 3.1, 2.8, 3.2, 3.0}), Config{})
		require.NoError(t, err)
		require.Equal(t, ReasonWindowTooSmall, r.Features[0].Reason, "ten shifted events are not a drift verdict")
		require.False(t, r.Features[0].Drifted)
		// Asked to, it judges a single event with finite scores.
		r, err = Compare(p, windowOf(t, p, []float64{0.1}), Config{Scores: Methods(), MinWindowRows: 1})
		require.NoError(t, err)
		fr := r.Features[0]
		require.True(t, fr.Judged)
		for _, s := range fr.Scores {
			require.False(t, math.IsInf(s.Value, 0) || math.IsNaN(s.Value), "%s = %v", s.Method, s.Value)
		}
	})
	t.Run("too few reference rows", func(t *testing.T) {
		p := numericProfile(t, ProfileOptions{}, normal(rng, 12, 0, 1))
		r, err := Compare(p, windowOf(t, p, normal(rng, 100, 3, 1)), Config{})
		require.NoError(t, err)
		require.Equal(t, ReasonReferenceTooSmall, r.Features[0].Reason)
		require.False(t, r.Features[0].Drifted)
		r, err = Compare(p, windowOf(t, p, normal(rng, 100, 3, 1)), Config{MinReferenceRows: 10})
		require.NoError(t, err)
		require.True(t, r.Features[0].Drifted)
	})
	t.Run("category never seen in the reference", func(t *testing.T) {
		b := NewBuilder(ProfileOptions{})
		for i := 0; i < 3000; i++ {
			require.NoError(t, b.AddString("c", []string{"red", "green", "blue"}[i%3]))
		}
		p := b.Profile()
		f := p.Features[0]
		w := p.NewWindow()
		for i := 0; i < 300; i++ {
			require.NoError(t, f.AddString(&w.Histograms[0], []string{"red", "green", "blue", "purple"}[i%4]))
		}
		require.Equal(t, []string{"blue", "green", "red", UnseenBin}, f.BinLabels())
		require.Equal(t, 75.0, f.OutOfRange(&w.Histograms[0]), "every fourth value is purple")
		r, err := Compare(p, w, Config{Scores: Methods()})
		require.NoError(t, err)
		fr := r.Features[0]
		require.Equal(t, MethodJS, fr.Method)
		require.True(t, fr.Drifted)
		byMethod := map[Method]Score{}
		for _, s := range fr.Scores {
			byMethod[s.Method] = s
		}
		require.False(t, math.IsInf(byMethod[MethodPSI].Value, 0), "PSI finite thanks to the fill")
		require.True(t, math.IsInf(byMethod[MethodChi2].Value, 1))
		require.Zero(t, byMethod[MethodChi2].PValue)
		// The same with the z-test asked for on a two-valued feature: switched to chi2.
		b = NewBuilder(ProfileOptions{})
		for i := 0; i < 300; i++ {
			require.NoError(t, b.AddString("c", []string{"yes", "no"}[i%2]))
		}
		p = b.Profile()
		w = p.NewWindow()
		for _, v := range []string{"yes", "no", "maybe"} {
			require.NoError(t, p.Features[0].AddString(&w.Histograms[0], v))
		}
		r, err = Compare(p, w, Config{MinWindowRows: 1})
		require.NoError(t, err)
		require.Equal(t, MethodChi2, r.Features[0].Method)
		require.Equal(t, ReasonUnseenValues, r.Features[0].Reason)
	})
	t.Run("huge samples", func(t *testing.T) {
		// 2M reference rows through the reservoir, 1M window rows: distances, asymptotic KS.
		b := NewBuilder(ProfileOptions{})
		r := rand.New(rand.NewPCG(1, 1))
		for i := 0; i < 2_000_000; i++ {
			if err := b.AddFloat("x", r.NormFloat64()); err != nil {
				t.Fatal(err)
			}
		}
		p := b.Profile()
		f := p.Features[0]
		require.True(t, f.Sampled)
		require.InDelta(t, 1, f.Std, 0.01)
		w := p.NewWindow()
		for i := 0; i < 1_000_000; i++ {
			if err := f.AddFloat(&w.Histograms[0], r.NormFloat64()+0.2); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := Compare(p, w, Config{Scores: Methods()})
		require.NoError(t, err)
		fr := rep.Features[0]
		require.Equal(t, MethodWasserstein, fr.Method)
		require.InDelta(t, 0.2, fr.Value, 0.01, "a 0.2σ shift has Wasserstein 0.2σ")
		require.True(t, fr.Drifted)
		for _, s := range fr.Scores {
			if s.Method == MethodKS {
				// The true D of N(0,1) vs N(0.2,1) is 2Φ(0.1)−1 ≈ 0.0797.
				require.InDelta(t, 0.0797, s.Value, 0.006)
				require.Less(t, s.PValue, 1e-10)
			}
		}
	})
	t.Run("wrong value type", func(t *testing.T) {
		p := numericProfile(t, ProfileOptions{}, []float64{1, 2, 3})
		w := p.NewWindow()
		err := p.Features[0].AddJSON(&w.Histograms[0], "high")
		require.ErrorContains(t, err, `feature "x": want a numeric value, got the string "high"`)
		require.Error(t, p.Features[0].AddJSON(&w.Histograms[0], []any{1}))
	})
}

// TestShiftedStreamCrossesThreshold feeds a stream where one feature's mean moves step by step
// while another stays put, and checks the moving one crosses the default threshold and the
// steady one never does.
func TestShiftedStreamCrossesThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	b := NewBuilder(ProfileOptions{})
	for i := 0; i < 20000; i++ {
		require.NoError(t, b.AddFloat("moving", rng.NormFloat64()*2+10))
		require.NoError(t, b.AddFloat("steady", rng.ExpFloat64()))
		require.NoError(t, b.AddString("region", []string{"eu", "us", "apac"}[rng.IntN(3)]))
	}
	p := b.Profile()
	var crossedAt float64 = -1
	for step := 0; step <= 10; step++ {
		shift := float64(step) * 0.05 // in units of the reference σ = 2
		w := p.NewWindow()
		for i := 0; i < 5000; i++ {
			require.NoError(t, p.Features[0].AddFloat(&w.Histograms[0], rng.NormFloat64()*2+10+shift*2))
			require.NoError(t, p.Features[1].AddFloat(&w.Histograms[1], rng.ExpFloat64()))
			require.NoError(t, p.Features[2].AddString(&w.Histograms[2], []string{"eu", "us", "apac"}[rng.IntN(3)]))
		}
		r, err := Compare(p, w, Config{})
		require.NoError(t, err)
		require.False(t, r.Features[1].Drifted, "steady feature at step %d: %+v", step, r.Features[1])
		require.False(t, r.Features[2].Drifted, "steady category at step %d", step)
		if r.Features[0].Drifted && crossedAt < 0 {
			crossedAt = shift
		}
		if shift <= 0.05 {
			require.False(t, r.Features[0].Drifted, "shift %.2fσ is below the 0.1 threshold", shift)
		}
	}
	// Wasserstein-normed of a pure location shift is the shift in σ: it crosses 0.1 at 0.1σ,
	// or one step later if the sampling noise keeps it just below.
	require.Contains(t, []float64{0.1, 0.15}, math.Round(crossedAt*100)/100)
}

func TestDatasetShare(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b := NewBuilder(ProfileOptions{})
	for i := 0; i < 3000; i++ {
		for j := 0; j < 4; j++ {
			require.NoError(t, b.AddFloat("f"+strconv.Itoa(j), rng.NormFloat64()))
		}
		require.NoError(t, b.AddFloat("prediction", rng.NormFloat64()))
	}
	p := b.Profile()
	build := func(drifted int) *Window {
		w := p.NewWindow()
		for i := 0; i < 2000; i++ {
			for j := 0; j < 5; j++ {
				shift := 0.0
				if j < drifted || j == 4 {
					shift = 1
				}
				require.NoError(t, p.Features[j].AddFloat(&w.Histograms[j], rng.NormFloat64()+shift))
			}
		}
		return w
	}
	for drifted, want := range []bool{false, false, true, true, true} {
		r, err := Compare(p, build(drifted), Config{Outputs: []string{"prediction"}})
		require.NoError(t, err)
		require.Equal(t, 4, r.Judged)
		require.Equal(t, drifted, r.Drifted)
		require.Equal(t, want, r.DatasetDrifted, "%d of 4 drifted", drifted)
		require.True(t, r.Features[4].Drifted, "the prediction is still scored")
	}
}

// TestProfileSize freezes 1M rows × 100 features and checks the serialised profile stays a few
// megabytes: the reference keeps statistics, not rows.
func TestProfileSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1M × 100 reference")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	b := NewBuilder(ProfileOptions{})
	names := make([]string, 100)
	for j := range names {
		names[j] = "feature_" + strconv.Itoa(j)
	}
	cats := []string{"a", "b", "c", "d", "e", "f", "g"}
	for i := 0; i < 1_000_000; i++ {
		for j, n := range names {
			var err error
			switch {
			case j < 80:
				err = b.AddFloat(n, rng.NormFloat64()*float64(j+1))
			case j < 95:
				err = b.AddString(n, cats[rng.IntN(len(cats))])
			default:
				err = b.AddBool(n, rng.IntN(3) == 0)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	raw, err := json.Marshal(b.Profile())
	require.NoError(t, err)
	t.Logf("profile of 1M rows × 100 features: %d bytes of JSON", len(raw))
	require.Less(t, len(raw), 4<<20)
}

// TestBuilderAddJSON captures a reference from decoded events, as the exporter does when it
// takes the first N events as the baseline.
func TestBuilderAddJSON(t *testing.T) {
	b := NewBuilder(ProfileOptions{})
	events := []map[string]any{
		{"age": nil, "zip": "75001", "vip": true, "only_null": nil},
		{"age": 31.0, "zip": "10115", "vip": false, "only_null": nil},
		{"age": 45.0, "zip": nil, "vip": true},
	}
	for _, ev := range events {
		for _, k := range []string{"age", "zip", "vip", "only_null"} {
			if v, ok := ev[k]; ok {
				require.NoError(t, b.AddJSON(k, v))
			}
		}
	}
	require.NoError(t, b.AddJSON("zip", 12345.0), "a number in a categorical feature is a category")
	p := b.Profile()
	require.NoError(t, p.Validate())
	age, _ := p.Feature("age")
	require.Equal(t, Numeric, age.Kind)
	require.Equal(t, 2.0, age.Rows)
	require.Equal(t, 1.0, age.Nulls, "the null before the first value is kept")
	zip, _ := p.Feature("zip")
	require.Equal(t, []string{"10115", "12345", "75001"}, zip.Categories)
	empty, _ := p.Feature("only_null")
	require.NotNil(t, empty)
	require.Equal(t, 2.0, empty.Nulls)
	r, err := Compare(p, p.NewWindow(), Config{})
	require.NoError(t, err)
	_, i := p.Feature("only_null")
	require.Equal(t, ReasonReferenceEmpty, r.Features[i].Reason)

	require.ErrorContains(t, b.AddJSON("age", "old"), `feature "age": want a numeric value like the earlier rows, got a categorical value`)
	require.ErrorContains(t, b.AddJSON("vip", 1.0), `feature "vip": want a boolean value`)
	require.ErrorContains(t, b.AddJSON("x", map[string]any{}), "got an object")
	require.ErrorContains(t, b.AddJSON("x", []any{}), "got an array")
	require.Error(t, b.AddNull(""))
}

func TestProfileWarnings(t *testing.T) {
	b := NewBuilder(ProfileOptions{MaxCategories: 3, MaxSample: 100})
	for i := 0; i < 500; i++ {
		require.NoError(t, b.AddString("city", strconv.Itoa(i%10)))
		require.NoError(t, b.AddFloat("big", float64(i)))
	}
	for i := 0; i < 12; i++ {
		require.NoError(t, b.AddFloat("few", float64(i)))
	}
	require.NoError(t, b.AddNull("none"))
	w := b.Profile().Warnings(Config{})
	require.Equal(t, []string{
		`feature "city": 10 reference categories, only the 3 most frequent are kept; the rest share bin __unseen__`,
		`feature "big": 500 reference rows; bins and KS/Wasserstein cells come from a uniform sample of them`,
		`feature "few": 12 reference rows, fewer than the 30 needed; it will not be judged (reason reference_too_small)`,
		`feature "none": no non-null reference value; it will not be judged (reason reference_empty)`,
	}, w)
}

// AddCategory bins bytes as AddString bins the same text, invalid UTF-8 included.
func TestAddCategoryMatchesAddString(t *testing.T) {
	b := NewBuilder(ProfileOptions{})
	for _, c := range []string{"a", "b", "b", "\xff"} {
		require.NoError(t, b.AddString("c", c))
	}
	f := b.Profile().Features[0]
	h1, h2 := f.NewHistogram(), f.NewHistogram()
	for _, c := range []string{"a", "b", "zz", "\xff", "\xfe"} {
		require.NoError(t, f.AddString(&h1, c))
		require.NoError(t, f.AddCategory(&h2, []byte(c)))
	}
	require.Equal(t, h1, h2)
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = f.AddCategory(&h2, []byte("b")) }))
}
