package textquality

// PromQLCorpusBLEU returns the PromQL of corpus BLEU-4 per model and version from the
// exporter's counters over a range such as "1h" (an empty range uses the counters' whole
// lifetime). Corpus BLEU is not an average of per-answer scores, but it is a function of
// summed counts, so it merges across replicas and ranges:
//
//	BLEU = min(1, exp(1 − reference words / output words)) · exp(¼ Σₙ ln(matchesₙ / n-gramsₙ))
//
// An order without a match gives ln 0 = −Inf and so BLEU 0, the unsmoothed definition.
func PromQLCorpusBLEU(window string) string {
	sel := func(metric string) string {
		if window == "" {
			return metric
		}
		return "increase(" + metric + "[" + window + "])"
	}
	const by = "sum by (model, version) "
	precision := "ln(sum by (model, version, order) (" + sel("aiops_text_bleu_ngram_matches_total") +
		") / sum by (model, version, order) (" + sel("aiops_text_bleu_ngrams_total") + "))"
	brevity := "clamp_max(exp(1 - " + by + "(" + sel(`aiops_text_words_total{text="reference"}`) + ") / " +
		by + "(" + sel(`aiops_text_words_total{text="output"}`) + ")), 1)"
	return brevity + " * exp(" + by + "(" + precision + ") / 4)"
}
