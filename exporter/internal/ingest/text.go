package ingest

import (
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/opscentre/opscentre/exporter/textquality"
)

// text reads output_text or reference_answer: a string, or null for none.
func (d *decoder) text(field string, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeString:
	default:
		d.fail(field, ReasonTypeMismatch, "%s must be a string, got %s", field, v.Type())
		return nil
	}
	b, _ := v.StringBytes()
	if !utf8.Valid(b) {
		d.fail(field, ReasonInvalidValue, "%s is not valid UTF-8", field)
		return nil
	}
	return b
}

// scoreText scores the event's output against its reference answer (both present), after
// the other fields have been read. An output without a reference is not scored; a reference
// without an output is a client mistake, and is rejected rather than silently ignored.
func (d *decoder) scoreText(output, reference []byte, maxTokens int) {
	if reference == nil {
		return
	}
	if output == nil {
		d.fail("output_text", ReasonMissingRequired, "reference_answer needs the model's output_text to score it against")
		return
	}
	out, ref := textquality.Tokenize(string(output)), textquality.Tokenize(string(reference))
	for _, t := range []struct {
		field  string
		tokens int
	}{{"output_text", len(out)}, {"reference_answer", len(ref)}} {
		if t.tokens > maxTokens {
			d.fail(t.field, ReasonOutOfRange, "%s has %d words; text quality scores at most %d (limits.max_text_tokens)", t.field, t.tokens, maxTokens)
			return
		}
	}
	e := &d.ev
	e.HasText = true
	e.RougeL = textquality.ScoreRougeL(out, ref).F1
	e.BLEU.Add(out, ref)
}
