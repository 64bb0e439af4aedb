// Package textquality scores generated text against a reference answer: ROUGE-L (longest
// common subsequence, Lin 2004) and BLEU (clipped n-gram precision with a brevity penalty,
// Papineni et al. 2002). Sentence scores feed a histogram; BLEU also has a mergeable corpus
// accumulator, since corpus BLEU is not the mean of sentence BLEU.
package textquality

import (
	"math"
	"strings"
	"unicode"
)

// Tokenize lower-cases text and splits it into runs of letters and digits, dropping
// punctuation, as the rouge-score package does (but keeping non-ASCII letters).
func Tokenize(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}

// RougeL is the ROUGE-L F1 of a candidate against a reference (token lists): with L the length
// of their longest common subsequence, precision L/len(candidate), recall L/len(reference), F1
// their harmonic mean. Two empty texts score 1, one empty text 0.
type RougeL struct{ Precision, Recall, F1 float64 }

// ScoreRougeL computes ROUGE-L in O(len(a)·len(b)) time and O(min) memory.
func ScoreRougeL(candidate, reference []string) RougeL {
	if len(candidate) == 0 && len(reference) == 0 {
		return RougeL{1, 1, 1}
	}
	if len(candidate) == 0 || len(reference) == 0 {
		return RougeL{}
	}
	l := float64(lcs(candidate, reference))
	p, r := l/float64(len(candidate)), l/float64(len(reference))
	if l == 0 {
		return RougeL{}
	}
	return RougeL{Precision: p, Recall: r, F1: 2 * p * r / (p + r)}
}

func lcs(a, b []string) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// MaxN is the longest n-gram BLEU counts (the standard BLEU-4).
const MaxN = 4

// BLEU accumulates clipped n-gram matches over sentences; it merges by adding, so a window of
// slots gives corpus BLEU.
type BLEU struct {
	Matches   [MaxN]float64 `json:"matches"`
	Totals    [MaxN]float64 `json:"totals"`
	CandLen   float64       `json:"cand_len"`
	RefLen    float64       `json:"ref_len"`
	Sentences float64       `json:"sentences"`
}

func ngrams(tokens []string, n int) map[string]float64 {
	out := map[string]float64{}
	for i := 0; i+n <= len(tokens); i++ {
		out[strings.Join(tokens[i:i+n], "\x00")]++
	}
	return out
}

// Add scores one candidate against one or more references. Each candidate n-gram counts at
// most as often as it appears in any single reference (clipping); the reference length for the
// brevity penalty is the one closest to the candidate's, the shorter on a tie.
func (b *BLEU) Add(candidate []string, references ...[]string) {
	b.Sentences++
	b.CandLen += float64(len(candidate))
	best := -1
	for _, r := range references {
		d, bd := absInt(len(r)-len(candidate)), absInt(best-len(candidate))
		if best < 0 || d < bd || (d == bd && len(r) < best) {
			best = len(r)
		}
	}
	if best > 0 {
		b.RefLen += float64(best)
	}
	for n := 1; n <= MaxN; n++ {
		cand := ngrams(candidate, n)
		maxRef := map[string]float64{}
		for _, r := range references {
			for g, c := range ngrams(r, n) {
				maxRef[g] = math.Max(maxRef[g], c)
			}
		}
		for g, c := range cand {
			b.Matches[n-1] += math.Min(c, maxRef[g])
			b.Totals[n-1] += c
		}
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Merge adds o into b.
func (b *BLEU) Merge(o *BLEU) {
	for i := range b.Matches {
		b.Matches[i] += o.Matches[i]
		b.Totals[i] += o.Totals[i]
	}
	b.CandLen += o.CandLen
	b.RefLen += o.RefLen
	b.Sentences += o.Sentences
}

// Reset empties the accumulator.
func (b *BLEU) Reset() { *b = BLEU{} }

// Precision returns the modified n-gram precision pₙ (n from 1 to MaxN); NaN without n-grams.
func (b *BLEU) Precision(n int) float64 { return b.Matches[n-1] / b.Totals[n-1] }

// Score is BLEU = BP · exp(¼ Σ ln pₙ), BP = 1 if c > r else exp(1 − r/c), without smoothing: a
// zero precision at any order gives 0, as in the original definition and NLTK's default.
func (b *BLEU) Score() float64 {
	if b.CandLen == 0 {
		return 0
	}
	var logSum float64
	for n := 1; n <= MaxN; n++ {
		if b.Matches[n-1] == 0 {
			return 0
		}
		logSum += math.Log(b.Precision(n)) / MaxN
	}
	bp := 1.0
	if b.CandLen <= b.RefLen {
		bp = math.Exp(1 - b.RefLen/b.CandLen)
	}
	return bp * math.Exp(logSum)
}

// SmoothedScore is BLEU+1 (Lin and Och 2004, NLTK's smoothing method2): one is added to the
// matches and the totals of every order above unigrams. Unsmoothed BLEU of a single short
// answer is almost always 0 (one order without a match zeroes the product), which would make a
// histogram of per-answer BLEU useless; corpus BLEU (Score over merged counts) needs no
// smoothing. Without a unigram match the score is 0, as in NLTK.
func (b *BLEU) SmoothedScore() float64 {
	if b.CandLen == 0 || b.Matches[0] == 0 {
		return 0
	}
	var logSum float64
	for n := 1; n <= MaxN; n++ {
		// NLTK divides by at least one n-gram, so a candidate shorter than n scores 0/1 (1/2
		// after smoothing) at that order.
		m, t := b.Matches[n-1], math.Max(b.Totals[n-1], 1)
		if n > 1 {
			m, t = m+1, t+1
		}
		logSum += math.Log(m/t) / MaxN
	}
	bp := 1.0
	if b.CandLen <= b.RefLen {
		bp = math.Exp(1 - b.RefLen/b.CandLen)
	}
	return bp * math.Exp(logSum)
}
