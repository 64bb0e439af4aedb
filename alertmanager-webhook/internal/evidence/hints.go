package evidence

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// The annotations that carry an alert's evidence hints (rulegen writes them from an alert's
// evidence block or its preset), each a comma-separated list.
const (
	AnnotationFeatures = incidentapi.AnnotationEvidenceFeatures
	AnnotationCauses   = incidentapi.AnnotationEvidenceCauses
)

// Bounds of the hints read from annotations: anything beyond is listed as ignored.
const (
	MaxHintFeatures = 10
	MaxHintLen      = 200
)

// Hints are the hints of the alert that opened an incident: the features to examine first and
// the causes to list first. They order the investigation — the hinted features first among the
// drifted ones, the hinted causes first in the report — and never change a verdict: an alert
// rule is written before the incident and knows where to look, not what happened, so a hinted
// cause the data does not support stays not supported (or unknown), and an unhinted cause
// the data supports stays supported.
type Hints = incidentapi.EvidenceHints

func hintsEmpty(h Hints) bool {
	return len(h.Features) == 0 && len(h.Causes) == 0 && len(h.Ignored) == 0
}

// HintsFromAnnotations reads the hints from an alert's annotations. Values are trimmed,
// empty ones and repeats skipped; unknown causes and values beyond the bounds are listed in
// Ignored rather than dropped silently.
func HintsFromAnnotations(ann map[string]string) Hints {
	var h Hints
	for _, f := range strings.Split(ann[AnnotationFeatures], ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "" || slices.Contains(h.Features, f):
		case len(f) > MaxHintLen:
			h.Ignored = append(h.Ignored, fmt.Sprintf("%s: a feature name longer than %d bytes", AnnotationFeatures, MaxHintLen))
		case len(h.Features) >= MaxHintFeatures:
			h.Ignored = append(h.Ignored, fmt.Sprintf("%s: more than %d features", AnnotationFeatures, MaxHintFeatures))
		default:
			h.Features = append(h.Features, f)
		}
	}
	for _, c := range strings.Split(ann[AnnotationCauses], ",") {
		c = strings.TrimSpace(c)
		switch {
		case c == "" || slices.Contains(h.Causes, c):
		case !slices.Contains(Causes, c):
			if len(c) > MaxHintLen {
				c = c[:MaxHintLen]
			}
			h.Ignored = append(h.Ignored, fmt.Sprintf("%s: unknown cause %q; expected one of %s", AnnotationCauses, c, strings.Join(Causes, ", ")))
		default:
			h.Causes = append(h.Causes, c)
		}
	}
	// Many repeats of the same problem are one line.
	h.Ignored = slices.Compact(h.Ignored)
	if len(h.Ignored) > MaxHintFeatures {
		h.Ignored = h.Ignored[:MaxHintFeatures]
	}
	return h
}

// orderByHints puts the hinted causes first, in the hints' order, flagging them; the others
// keep the report order. Verdicts are untouched.
func orderByHints(causes []Cause, h Hints) []Cause {
	out := make([]Cause, 0, len(causes))
	for _, name := range h.Causes {
		for _, c := range causes {
			if c.Name == name {
				c.Hinted = true
				out = append(out, c)
			}
		}
	}
	for _, c := range causes {
		if !slices.Contains(h.Causes, c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// hintRank is a feature's place among the hinted features; len(features) when not hinted.
func hintRank(features []string, f string) int {
	if i := slices.Index(features, f); i >= 0 {
		return i
	}
	return len(features)
}
