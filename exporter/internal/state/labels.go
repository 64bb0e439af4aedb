package state

// Ground-truth labels, the input of the performance pillar: ApplyLabel joins a label to its
// waiting prediction (or keeps it until the prediction comes), and the results are counted
// (aiops_labels_total).

import (
	"errors"
	"time"

	"github.com/opscentre/opscentre/exporter/internal/labels"
)

// Results of a label (aiops_labels_total{result}).
const (
	LabelJoined    = "joined"    // joined to its waiting prediction
	LabelInline    = "inline"    // carried its own prediction
	LabelPending   = "pending"   // prediction unknown yet: kept for labels.unknown_id_ttl
	LabelLate      = "late_join" // a pending label joined when its prediction arrived
	LabelDuplicate = "duplicate" // the id was already labelled: the first label wins
	LabelRejected  = "rejected"  // malformed, counted with model and version "__unknown__"
	LabelEvicted   = "evicted"   // pending, dropped by labels.max_bytes (version "__unknown__")
)

// Label is one ground-truth label.
type Label struct {
	ID   string
	Time time.Time
	// IsClass: Class is the true class; otherwise Value is the true value (regression).
	IsClass bool
	Class   string
	Value   float64
	// Prediction, when the label carries it, is joined directly.
	Prediction *PredictionValue
}

// ErrLabelKind is a label whose kind (class or value) does not fit its prediction.
var ErrLabelKind = errors.New("label kind does not match the prediction")

// LabelResult says what happened to one label.
type LabelResult struct {
	Result  string // one of the Label… results
	Version string // the version it joined, or the one it names
}

// ApplyLabel joins a label to its waiting prediction. Without a version, every version of the
// model is searched. A label whose prediction is unknown is kept for labels.unknown_id_ttl.
func (s *State) ApplyLabel(model, version string, l *Label) (LabelResult, Resolution, error) {
	m, res := s.model([]byte(model))
	if m == nil {
		return LabelResult{}, res, nil
	}
	var candidates []*Version
	if version != "" || l.Prediction != nil {
		v, res := s.version(m, []byte(version))
		if v == nil {
			return LabelResult{}, res, nil
		}
		candidates = []*Version{v}
	} else {
		m.mu.RLock()
		for _, v := range m.versions {
			candidates = append(candidates, v)
		}
		m.mu.RUnlock()
	}
	now := s.Now()
	if l.Prediction != nil {
		v := candidates[0]
		p := labels.Prediction{At: l.Time, Class: l.Prediction.class(), Value: l.Prediction.Num}
		if p.Class != "" {
			p.Value = noScore
		}
		v.mu.Lock()
		err := v.join(p, l, now)
		v.mu.Unlock()
		if err != nil {
			return LabelResult{}, Resolved, err
		}
		s.countLabel(m.Name, v.Name, LabelInline)
		return LabelResult{Result: LabelInline, Version: v.Name}, Resolved, nil
	}
	for _, v := range candidates {
		v.mu.Lock()
		p, ok := v.perf.awaiting.Take(l.ID)
		var err error
		if ok {
			if err = v.join(p, l, now); err != nil {
				// Not this label's kind: keep the prediction for a well-formed one.
				_, _ = v.perf.awaiting.Put(l.ID, p)
			} else {
				_, _ = v.perf.joined.Put(l.ID, labels.Prediction{})
			}
		}
		v.mu.Unlock()
		if err != nil {
			return LabelResult{}, Resolved, err
		}
		if ok {
			s.countLabel(m.Name, v.Name, LabelJoined)
			return LabelResult{Result: LabelJoined, Version: v.Name}, Resolved, nil
		}
	}
	countAs := version
	if countAs == "" {
		countAs = Unknown
	}
	for _, v := range candidates {
		// Take and Put again: the store has no lookup, and a label's arrival renews the id.
		if _, ok := v.perf.joined.Take(l.ID); ok {
			_, _ = v.perf.joined.Put(l.ID, labels.Prediction{})
			s.countLabel(m.Name, v.Name, LabelDuplicate)
			return LabelResult{Result: LabelDuplicate, Version: v.Name}, Resolved, nil
		}
	}
	class, value := l.Class, l.Value
	if !l.IsClass {
		class = ""
	}
	stored, err := m.early.Put(l.ID, labels.Prediction{At: l.Time, Class: class, Value: value})
	if err != nil {
		return LabelResult{}, Resolved, err
	}
	result := LabelPending
	if !stored {
		result = LabelDuplicate
	}
	s.countLabel(m.Name, countAs, result)
	return LabelResult{Result: result, Version: countAs}, Resolved, nil
}

// LabelKey identifies one aiops_labels_total series.
type LabelKey struct {
	Model, Version, Result string
}

// CountLabel counts a label result that the state did not see (a rejected label).
func (s *State) CountLabel(model, version, result string) { s.countLabel(model, version, result) }

func (s *State) countLabel(model, version, result string) {
	s.labelMu.Lock()
	s.labelResults[LabelKey{model, version, result}]++
	s.labelMu.Unlock()
}

// LabelResults returns the label counts.
// Pending labels dropped by labels.max_bytes are counted with result "evicted".
func (s *State) LabelResults() map[LabelKey]uint64 {
	// The models' lock is taken before labelMu elsewhere, so never inside it.
	evicted := map[string]uint64{}
	s.mu.RLock()
	for name, m := range s.models {
		if n := m.early.Stats().EvictedMemory; n > 0 {
			evicted[name] = n
		}
	}
	s.mu.RUnlock()
	s.labelMu.Lock()
	defer s.labelMu.Unlock()
	out := make(map[LabelKey]uint64, len(s.labelResults)+len(evicted))
	for k, v := range s.labelResults {
		out[k] = v
	}
	for model, n := range evicted {
		out[LabelKey{model, Unknown, LabelEvicted}] += n
	}
	return out
}
