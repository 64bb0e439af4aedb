package textquality

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Lin (2004), section 3.1: with reference S1 "police killed the gunman", S2 "police kill the
// gunman" has ROUGE-L 3/4 and S3 "the gunman kill police" 2/4.
func TestRougeLLinExamples(t *testing.T) {
	s1 := Tokenize("Police killed the gunman.")
	require.Equal(t, []string{"police", "killed", "the", "gunman"}, s1)
	require.InDelta(t, 0.75, ScoreRougeL(Tokenize("police kill the gunman"), s1).F1, 1e-12)
	require.InDelta(t, 0.5, ScoreRougeL(Tokenize("the gunman kill police"), s1).F1, 1e-12)
	r := ScoreRougeL(Tokenize("the cat sat"), Tokenize("the cat sat on the mat"))
	require.Equal(t, RougeL{Precision: 1, Recall: 0.5, F1: 2.0 / 3}, r)
	require.Equal(t, RougeL{1, 1, 1}, ScoreRougeL(nil, nil))
	require.Equal(t, RougeL{}, ScoreRougeL(Tokenize("a"), nil))
	require.Equal(t, RougeL{}, ScoreRougeL(Tokenize("a b"), Tokenize("c d")))
}

// lcsRecursive is a second LCS, top-down with memoisation.
func lcsRecursive(a, b []string) int {
	memo := map[[2]int]int{}
	var f func(i, j int) int
	f = func(i, j int) int {
		if i == len(a) || j == len(b) {
			return 0
		}
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		v := max(f(i+1, j), f(i, j+1))
		if a[i] == b[j] {
			v = max(v, 1+f(i+1, j+1))
		}
		memo[k] = v
		return v
	}
	return f(0, 0)
}

func TestLCSAgainstRecursive(t *testing.T) {
	words := []string{"a", "b", "c", "d"}
	for seed := 0; seed < 200; seed++ {
		x := make([]string, seed%13)
		y := make([]string, (seed*7)%11)
		for i := range x {
			x[i] = words[(seed*i+3)%4]
		}
		for i := range y {
			y[i] = words[(seed+i*i)%4]
		}
		require.Equal(t, lcsRecursive(x, y), lcs(x, y), "%v %v", x, y)
	}
}

// TestBLEUAgainstNLTK checks sentence and corpus BLEU against NLTK on the examples of Papineni et
// al. (2002) and NLTK's documentation (candidate 1 scores 0.5045666840058485; "the the the …"
// has modified unigram precision 2/7).
func TestBLEUAgainstNLTK(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "bleu-vectors.json"))
	require.NoError(t, err)
	var v struct {
		Sentences []struct {
			Name       string     `json:"name"`
			Candidate  []string   `json:"candidate"`
			References [][]string `json:"references"`
			BLEU       float64    `json:"bleu"`
			Smoothed   float64    `json:"bleu_smoothed"`
			Precisions []float64  `json:"precisions"`
		} `json:"sentences"`
		Corpus struct {
			Candidates [][]string   `json:"candidates"`
			References [][][]string `json:"references"`
			BLEU       float64      `json:"bleu"`
		} `json:"corpus"`
	}
	require.NoError(t, json.Unmarshal(raw, &v))
	require.NotEmpty(t, v.Sentences)
	for _, c := range v.Sentences {
		t.Run(c.Name, func(t *testing.T) {
			var b BLEU
			b.Add(c.Candidate, c.References...)
			// NLTK reports a zero-precision case as ~1e-155 instead of 0.
			require.InDelta(t, c.BLEU, b.Score(), 1e-12)
			require.InDelta(t, c.Smoothed, b.SmoothedScore(), 1e-12, "BLEU+1")
			for n := 1; n <= MaxN; n++ {
				if b.Totals[n-1] == 0 {
					// A candidate shorter than n: NLTK reports 0/1, Precision is undefined.
					require.Zero(t, c.Precisions[n-1], "p%d", n)
					require.True(t, math.IsNaN(b.Precision(n)), "p%d", n)
					continue
				}
				require.InDelta(t, c.Precisions[n-1], b.Precision(n), 1e-12, "p%d", n)
			}
		})
	}
	// Corpus BLEU from slots merged after a trip through JSON.
	var total BLEU
	for i, cand := range v.Corpus.Candidates {
		var slot BLEU
		slot.Add(cand, v.Corpus.References[i]...)
		b, err := json.Marshal(slot)
		require.NoError(t, err)
		var back BLEU
		require.NoError(t, json.Unmarshal(b, &back))
		total.Merge(&back)
	}
	require.InDelta(t, v.Corpus.BLEU, total.Score(), 1e-12)
	total.Reset()
	require.Zero(t, total.Score())
}

func FuzzRougeBLEU(f *testing.F) {
	f.Add("the cat sat on the mat", "a cat sat on a mat")
	f.Add("", "x")
	f.Add("Ünïcode, punctuation!!", "unicode punctuation")
	f.Fuzz(func(t *testing.T, cand, ref string) {
		c, r := Tokenize(cand), Tokenize(ref)
		s := ScoreRougeL(c, r)
		if !(s.F1 >= 0 && s.F1 <= 1) {
			t.Fatalf("ROUGE-L F1 %v out of [0,1]", s.F1)
		}
		var b BLEU
		b.Add(c, r)
		if s := b.Score(); !(s >= 0 && s <= 1+1e-12) {
			t.Fatalf("BLEU %v out of [0,1]", s)
		}
		if s := b.SmoothedScore(); !(s >= 0 && s <= 1+1e-12) {
			t.Fatalf("BLEU+1 %v out of [0,1]", s)
		}
	})
}
