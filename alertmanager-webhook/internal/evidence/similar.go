package evidence

import (
	"fmt"
	"sort"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// Incident is an incident as similar incidents compare it: what alerted, on which model,
// its labels and the causes its evidence supported (nil when it has no evidence). Past
// incidents also carry how they ended.
type Incident struct {
	ID         int64
	Title      string
	Alertname  string
	Model      string
	Labels     map[string]string
	Supported  []string
	HasReport  bool
	DetectedAt time.Time
	ResolvedAt time.Time
	ResolvedBy string
	// RootCause and ActionItems come from the incident's post-mortem, where one was written.
	RootCause   string
	ActionItems []string
}

// Similar is a past incident ranked against the current one, with why and how it ended.
type Similar = incidentapi.SimilarIncident

// Weights of the similarity score (README, "Evidence"). The score is their weighted sum, in
// [0, 1]: the same alert counts most, then the same model; the label and cause overlaps are
// Jaccard indices (shared / all), the causes only when both incidents have evidence.
const (
	WeightAlert  = 0.4
	WeightModel  = 0.2
	WeightLabels = 0.2
	WeightCauses = 0.2
)

// MaxSimilar bounds the similar incidents returned.
const MaxSimilar = 5

// SimilarIncidents ranks the past incidents against cur: only incidents detected before it
// that share its alert or its model count; the highest score first, the most recent on a
// tie; at most k (MaxSimilar when k <= 0).
func SimilarIncidents(cur Incident, past []Incident, k int) []Similar {
	if k <= 0 || k > MaxSimilar {
		k = MaxSimilar
	}
	var out []Similar
	for _, p := range past {
		if p.ID == cur.ID || !p.DetectedAt.Before(cur.DetectedAt) {
			continue
		}
		sameAlert := cur.Alertname != "" && p.Alertname == cur.Alertname
		sameModel := cur.Model != "" && p.Model == cur.Model
		if !sameAlert && !sameModel {
			continue
		}
		s := Similar{ID: p.ID, Title: p.Title, SameAlert: sameAlert, SameModel: sameModel,
			LabelSimilarity: jaccard(pairs(cur.Labels), pairs(p.Labels)),
			DetectedAt:      p.DetectedAt, ResolvedAt: p.ResolvedAt, ResolvedBy: p.ResolvedBy,
			RootCause: p.RootCause, ActionItems: p.ActionItems}
		if sameAlert {
			s.Score += WeightAlert
		}
		if sameModel {
			s.Score += WeightModel
		}
		s.Score += WeightLabels * s.LabelSimilarity
		if cur.HasReport && p.HasReport {
			s.SameCauses = intersect(cur.Supported, p.Supported)
			cj := jaccard(set(cur.Supported), set(p.Supported))
			if len(cur.Supported) == 0 && len(p.Supported) == 0 {
				cj = 1 // both found no supported cause: the same pattern
			}
			s.Score += WeightCauses * cj
		}
		if !p.ResolvedAt.IsZero() {
			s.TimeToResolveSeconds = p.ResolvedAt.Sub(p.DetectedAt).Seconds()
		}
		s.Score = round3(s.Score)
		s.LabelSimilarity = round3(s.LabelSimilarity)
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if !out[i].DetectedAt.Equal(out[j].DetectedAt) {
			return out[i].DetectedAt.After(out[j].DetectedAt)
		}
		return out[i].ID > out[j].ID
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func pairs(l map[string]string) map[string]bool {
	s := make(map[string]bool, len(l))
	for k, v := range l {
		s[fmt.Sprintf("%s=%q", k, v)] = true
	}
	return s
}

func set(xs []string) map[string]bool {
	s := make(map[string]bool, len(xs))
	for _, x := range xs {
		s[x] = true
	}
	return s
}

// jaccard is |a ∩ b| / |a ∪ b|, 0 for two empty sets.
func jaccard(a, b map[string]bool) float64 {
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

func intersect(a, b []string) []string {
	in := set(b)
	var out []string
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}
