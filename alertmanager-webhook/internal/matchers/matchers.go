// Package matchers reads the label matchers of incidentd's configuration and API in
// Alertmanager's own syntax (`team="risk"`, `severity=~"P1|P2"`, `env!="dev"`), with
// Alertmanager's parser and semantics, so a selector copied from an Alertmanager route or
// silence means the same thing here. Every error names the field and the bad matcher.
package matchers

import (
	"fmt"
	"sort"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// Parse reads a list of matcher strings; each may hold several (`{a="b",c=~"d"}`). field
// is the configuration path of the list, e.g. `routing.routes[0].matchers`.
func Parse(field string, ss []string) (labels.Matchers, error) {
	var out labels.Matchers
	for i, s := range ss {
		ms, err := labels.ParseMatchers(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %q: %w", field, i, s, err)
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("%s[%d]: %q holds no matcher; expected e.g. team=\"risk\"", field, i, s)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// FromMap turns the map forms written before matchers (`match: {team: risk}` with
// labels.MatchEqual, `match_re: {model: "fraud-.*"}` with labels.MatchRegexp, anchored as
// Alertmanager anchors them) into matchers, in label order so messages are stable.
func FromMap(field string, t labels.MatchType, m map[string]string) (labels.Matchers, error) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make(labels.Matchers, 0, len(m))
	for _, k := range names {
		if !model.LegacyValidation.IsValidLabelName(k) {
			return nil, fmt.Errorf("%s: %q is not a valid label name", field, k)
		}
		mt, err := labels.NewMatcher(t, k, m[k])
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %q: %w", field, k, m[k], err)
		}
		out = append(out, mt)
	}
	return out, nil
}

// Matches reports whether a label set satisfies every matcher; a missing label has the
// empty value. It is labels.Matchers.Matches without copying the map into a LabelSet.
func Matches(ms labels.Matchers, lset map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(lset[m.Name]) {
			return false
		}
	}
	return true
}

// MatchesAll reports matchers that every label set satisfies (none at all, `foo=~".*"`);
// `foo!=""` is not such a set: it needs foo to be set.
func MatchesAll(ms labels.Matchers) bool {
	for _, m := range ms {
		if !m.Matches("") || !m.Matches("x-any-value") {
			return false
		}
	}
	return true
}
