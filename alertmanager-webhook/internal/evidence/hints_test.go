package evidence

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/rulegen/spec"
)

// rulegen writes the hints incidentd reads: the same annotation names and the same causes.
func TestHintsMatchRulegen(t *testing.T) {
	require.Equal(t, spec.AnnotationEvidenceFeatures, AnnotationFeatures)
	require.Equal(t, spec.AnnotationEvidenceCauses, AnnotationCauses)
	require.Equal(t, spec.EvidenceCauses(), Causes)
}

func TestHintsFromAnnotations(t *testing.T) {
	h := HintsFromAnnotations(map[string]string{
		AnnotationFeatures: " amount ,, merchant,amount",
		AnnotationCauses:   "capacity, gremlins ,inputs_changed,capacity",
	})
	require.Equal(t, []string{"amount", "merchant"}, h.Features, "trimmed, empties and repeats skipped")
	require.Equal(t, []string{"capacity", "inputs_changed"}, h.Causes)
	require.Equal(t, []string{`opscentre_evidence_causes: unknown cause "gremlins"; expected one of inputs_changed, version_mismatch, external_api_change, adversarial_inputs, capacity`}, h.Ignored,
		"an unknown cause is reported, not dropped silently")

	require.True(t, hintsEmpty(HintsFromAnnotations(map[string]string{"summary": "x"})), "no hint annotations: no hints")

	many := make([]string, 50)
	for i := range many {
		many[i] = strings.Repeat("f", i+1)
	}
	many = append(many, strings.Repeat("x", MaxHintLen+1))
	h = HintsFromAnnotations(map[string]string{AnnotationFeatures: strings.Join(many, ","), AnnotationCauses: strings.Repeat("z", 100000)})
	require.Len(t, h.Features, MaxHintFeatures, "bounded")
	require.LessOrEqual(t, len(h.Ignored), MaxHintFeatures)
	require.Contains(t, h.Ignored, "opscentre_evidence_features: more than 10 features")
	for _, s := range h.Ignored {
		require.Less(t, len(s), 2*MaxHintLen+200, "an ignored value is cut")
	}
}

// observationSets are recorded results where different causes are supported, unknown and
// not supported.
func observationSets() map[string]Observations {
	drift := healthy()
	drift[qDrifted] = ser(map[string]float64{"amount": 1, "merchant": 1, "age": 0}, nil)
	drift[qDriftScore] = ser(map[string]float64{"amount": 0.3, "merchant": 0.9, "age": 0.05}, nil)
	drift[qNulls] = ser(map[string]float64{"amount": 0.4, "merchant": 0.5}, map[string]float64{"amount": 0, "merchant": 0})
	tokens := llm()
	tokens[qTokensPerCall] = ser(one(4000), one(800))
	slow := llm()
	slow[qLatencyP95] = ser(one(6), one(2))
	slow[qQueue] = ser(one(40), one(2))
	return map[string]Observations{"healthy": healthy(), "drift": drift, "tokens": tokens, "slow": slow, "empty": {}}
}

// Hints order the report and never change a verdict: for every recorded result and every
// hint, the verdicts and reasons are those without hints, the hinted causes come first
// flagged hinted, and the others keep the report order.
func TestHintsNeverChangeVerdicts(t *testing.T) {
	hintSets := [][]string{{Capacity}, {Adversarial, InputsChanged}, {VersionMismatch}, Causes}
	for name, o := range observationSets() {
		plain := Judge(o, Subject{Model: "m"}, DefaultRules())
		for _, causes := range hintSets {
			for _, feats := range [][]string{nil, {"amount"}, {"age"}, {"nope", "merchant"}} {
				got := Judge(o, Subject{Model: "m", Hints: Hints{Causes: causes, Features: feats}}, DefaultRules())
				require.Len(t, got, len(Causes))
				for i, c := range got {
					if i < len(causes) {
						require.Equal(t, causes[i], c.Name, "%s: hinted causes first, in hint order", name)
						require.True(t, c.Hinted)
					} else {
						require.False(t, c.Hinted)
					}
					p, _ := Report{Causes: plain}.Cause(c.Name)
					require.Equal(t, p.Verdict, c.Verdict, "%s %v %v: %s", name, causes, feats, c.Name)
					require.Equal(t, len(strings.Split(p.Reason, ", ")), len(strings.Split(c.Reason, ", ")), "%s: same facts", name)
					require.ElementsMatch(t, p.Findings, c.Findings, "%s: the same findings, perhaps reordered", name)
				}
				var rest []string
				for _, c := range got[len(causes):] {
					rest = append(rest, c.Name)
				}
				var want []string
				for _, c := range Causes {
					if !contains(causes, c) {
						want = append(want, c)
					}
				}
				require.Equal(t, want, rest, "the unhinted causes keep the report order")
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// A hinted feature comes first among the drifted features (and the quality findings), even
// with a lower drift score; a hinted feature that did not drift is not listed as drifted.
func TestHintedFeatureFirst(t *testing.T) {
	o := observationSets()["drift"]
	c := inputsChanged(o, nil, DefaultRules())
	require.Equal(t, "drifted feature merchant", c.Findings[0].Name, "unhinted: by drift score")
	require.Contains(t, c.Reason, "drifted: merchant, amount")

	c = inputsChanged(o, []string{"amount"}, DefaultRules())
	require.Equal(t, Supported, c.Verdict)
	require.Equal(t, "drifted feature amount", c.Findings[0].Name, "the hinted feature first")
	require.Equal(t, 0.3, *c.Findings[0].Now)
	require.Equal(t, "drifted feature merchant", c.Findings[1].Name)
	require.Contains(t, c.Reason, "drifted: amount, merchant")
	require.Equal(t, "null ratio of amount", c.Findings[2].Name)

	c = inputsChanged(o, []string{"age", "merchant"}, DefaultRules())
	require.Equal(t, "drifted feature merchant", c.Findings[0].Name)
	for _, f := range c.Findings {
		require.NotContains(t, f.Name, "age", "a hinted feature that did not drift is not a finding")
	}
	require.NotContains(t, c.Reason, "age")

	h := healthy()
	c = inputsChanged(h, []string{"amount"}, DefaultRules())
	require.Equal(t, NotSupported, c.Verdict, "a hint does not make a steady feature a cause")
}

// The likely-causes line of a page follows the report order, so a supported hinted cause
// leads it.
func TestLikelyCausesFollowHints(t *testing.T) {
	o := observationSets()["slow"]
	o[qTokensPerCall] = ser(one(4000), one(800))
	r := Report{Causes: Judge(o, Subject{Model: "m"}, DefaultRules())}
	require.True(t, strings.HasPrefix(LikelyCauses(r), "adversarial inputs"), LikelyCauses(r))
	r = Report{Causes: Judge(o, Subject{Model: "m", Hints: Hints{Causes: []string{Capacity}}}, DefaultRules())}
	require.True(t, strings.HasPrefix(LikelyCauses(r), "capacity"), LikelyCauses(r))
	require.Contains(t, LikelyCauses(r), "adversarial inputs")
}

// FuzzHintsFromAnnotations: whatever the annotations hold, the hints are bounded, name only
// known causes, and ordering a report by them keeps every cause and verdict.
func FuzzHintsFromAnnotations(f *testing.F) {
	f.Add("amount,merchant", "inputs_changed,capacity")
	f.Add(" , ,amount,,amount", "gremlins,,capacity,capacity")
	f.Add(strings.Repeat("f,", 40), strings.Repeat("x", 300))
	f.Fuzz(func(t *testing.T, features, causes string) {
		h := HintsFromAnnotations(map[string]string{AnnotationFeatures: features, AnnotationCauses: causes})
		require.LessOrEqual(t, len(h.Features), MaxHintFeatures)
		require.LessOrEqual(t, len(h.Ignored), MaxHintFeatures)
		for _, x := range h.Features {
			require.LessOrEqual(t, len(x), MaxHintLen)
			require.NotEmpty(t, x)
		}
		require.LessOrEqual(t, len(h.Causes), len(Causes))
		for _, c := range h.Causes {
			require.Contains(t, Causes, c)
		}
		plain := Judge(observationSets()["drift"], Subject{Model: "m"}, DefaultRules())
		got := Judge(observationSets()["drift"], Subject{Model: "m", Hints: h}, DefaultRules())
		require.Equal(t, verdicts(plain), verdicts(got))
		require.Len(t, got, len(Causes))
	})
}
