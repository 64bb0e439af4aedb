package collector

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/state"
	"github.com/opscentre/opscentre/exporter/textquality"
)

// textDescs are the families of generated-text quality (events with a reference answer).
type textDescs struct {
	rougeL, bleu, matches, ngrams, words *prometheus.Desc
}

func newTextDescs() textDescs {
	return textDescs{
		rougeL:  prometheus.NewDesc("aiops_text_rouge_l", "ROUGE-L F1 of each output_text against its reference_answer.", mv, nil),
		bleu:    prometheus.NewDesc("aiops_text_bleu", "Sentence BLEU-4 with add-one smoothing (BLEU+1) of each output_text against its reference_answer.", mv, nil),
		matches: prometheus.NewDesc("aiops_text_bleu_ngram_matches_total", "Clipped n-gram matches of output_text against reference_answer, by n-gram order: corpus BLEU's numerators.", labels("order"), nil),
		ngrams:  prometheus.NewDesc("aiops_text_bleu_ngrams_total", "N-grams of output_text, by n-gram order: corpus BLEU's denominators.", labels("order"), nil),
		words:   prometheus.NewDesc("aiops_text_words_total", "Words of scored output_text (text=\"output\") and reference_answer (text=\"reference\"): corpus BLEU's brevity penalty.", labels("text"), nil),
	}
}

func (d textDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{d.rougeL, d.bleu, d.matches, d.ngrams, d.words}
}

// collectText writes the text-quality histograms and the corpus BLEU counters of a version
// that has scored at least one answer.
func (c *Collector) collectText(ch chan<- prometheus.Metric, r *state.Reading) {
	t := &r.Counters.Text
	if t.RougeL.Count == 0 {
		return
	}
	d := c.d.text
	ch <- t.RougeL.Metric(d.rougeL, state.TextScoreBounds, r.Model, r.Version)
	ch <- t.BLEU.Metric(d.bleu, state.TextScoreBounds, r.Model, r.Version)
	for n := 1; n <= textquality.MaxN; n++ {
		order := strconv.Itoa(n)
		ch <- constMetric(d.matches, prometheus.CounterValue, t.Corpus.Matches[n-1], r.Model, r.Version, order)
		ch <- constMetric(d.ngrams, prometheus.CounterValue, t.Corpus.Totals[n-1], r.Model, r.Version, order)
	}
	ch <- constMetric(d.words, prometheus.CounterValue, t.Corpus.CandLen, r.Model, r.Version, "output")
	ch <- constMetric(d.words, prometheus.CounterValue, t.Corpus.RefLen, r.Model, r.Version, "reference")
}
