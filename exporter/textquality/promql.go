package textquality

import "strings"

// PromQLCorpusBLEU returns the PromQL of corpus BLEU-4 from the exporter's counters, summed by
// the labels in by (e.g. "model, version"), over a range such as "1h" (an empty range uses the
// counters' whole lifetime), for the series matching the extra label matchers (e.g.
// `model=~"$model"`; empty for all). Corpus BLEU is not an average of per-answer scores, but
// it is a function of summed counts, so it merges across replicas and ranges:
//
//	BLEU = min(1, exp(1 − reference words / output words)) · exp(¼ Σₙ ln(matchesₙ / n-gramsₙ))
//
// An order without a match gives ln 0 = −Inf and so BLEU 0, the unsmoothed definition.
func PromQLCorpusBLEU(window, by, matchers string) string {
	sel := func(metric string, extra ...string) string {
		var m []string
		for _, x := range append(extra, matchers) {
			if x != "" {
				m = append(m, x)
			}
		}
		s := metric
		if len(m) > 0 {
			s += "{" + strings.Join(m, ", ") + "}"
		}
		if window == "" {
			return s
		}
		return "increase(" + s + "[" + window + "])"
	}
	sum := func(by, metric string, extra ...string) string {
		return "sum by (" + by + ") (" + sel(metric, extra...) + ")"
	}
	precision := "ln(" + sum(by+", order", "aiops_text_bleu_ngram_matches_total") + " / " + sum(by+", order", "aiops_text_bleu_ngrams_total") + ")"
	brevity := "clamp_max(exp(1 - " + sum(by, "aiops_text_words_total", `text="reference"`) + " / " + sum(by, "aiops_text_words_total", `text="output"`) + "), 1)"
	return brevity + " * exp(sum by (" + by + ") (" + precision + ") / 4)"
}
