package state

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/opscentre/opscentre/exporter/internal/labels"
	"github.com/opscentre/opscentre/exporter/internal/performance"
)

// Snapshot is everything the state has learnt and counted, in a form to persist.
type Snapshot struct {
	Versions []VersionSnapshot   `json:"versions"`
	Labels   map[string][]string `json:"labels"`
	Folded   map[string]uint64   `json:"folded"`
	Rejected []RejectedCount     `json:"rejected"`
	// LabelResults are the aiops_labels_total counts; Early the labels waiting for their
	// prediction, per model.
	LabelResults []LabelCount  `json:"label_results,omitempty"`
	Early        []EarlyLabels `json:"early_labels,omitempty"`
}

// LabelCount is one aiops_labels_total series.
type LabelCount struct {
	LabelKey
	Count uint64 `json:"count"`
}

// EarlyLabels are a model's labels waiting for their prediction, oldest first.
type EarlyLabels struct {
	Model  string         `json:"model"`
	Labels []labels.Entry `json:"labels"`
}

// VersionExtra is what a version keeps beside its counters and window: its reference, the
// predictions awaiting a label, and the CBPE calibration.
type VersionExtra struct {
	Reference   *ReferenceSnapshot        `json:"reference,omitempty"`
	Awaiting    []labels.Entry            `json:"awaiting,omitempty"`
	Calibration *Calibration              `json:"calibration,omitempty"`
	CBPE        *performance.AccuracyCBPE `json:"cbpe,omitempty"`
	// BinaryCalibration and BinaryCBPE are the boolean models' precision/recall estimate.
	BinaryCalibration *BinaryCalibration      `json:"binary_calibration,omitempty"`
	BinaryCBPE        *performance.BinaryCBPE `json:"binary_cbpe,omitempty"`
}

// VersionSnapshot is one version's learnt schema, counters and window.
type VersionSnapshot struct {
	Model    string            `json:"model"`
	Version  string            `json:"version"`
	Features []FeatureSnapshot `json:"features"` // in index order: window slots refer to it
	Counters Counters          `json:"counters"`
	Window   json.RawMessage   `json:"window"`
	VersionExtra
}

// FeatureSnapshot is one feature's learnt type and categories.
type FeatureSnapshot struct {
	Name       string   `json:"name"`
	Type       string   `json:"type,omitempty"`
	Categories []string `json:"categories,omitempty"`
}

// RejectedCount is one aiops_events_rejected_total series.
type RejectedCount struct {
	RejectKey
	Count uint64 `json:"count"`
}

// Snapshot copies the state for persistence; each version is copied under its own lock.
func (s *State) Snapshot() (*Snapshot, error) {
	out := &Snapshot{Labels: map[string][]string{}, Folded: s.Folded()}
	for k, n := range s.Rejected() {
		out.Rejected = append(out.Rejected, RejectedCount{k, n})
	}
	for k, n := range s.LabelResults() {
		out.LabelResults = append(out.LabelResults, LabelCount{k, n})
	}
	s.mu.RLock()
	for _, m := range s.models {
		el := EarlyLabels{Model: m.Name}
		m.early.Each(func(e labels.Entry) bool {
			el.Labels = append(el.Labels, e)
			return true
		})
		if len(el.Labels) > 0 {
			out.Early = append(out.Early, el)
		}
	}
	s.mu.RUnlock()
	s.labelMu.Lock()
	for label, set := range s.labels {
		for v := range set {
			out.Labels[label] = append(out.Labels[label], v)
		}
		sort.Strings(out.Labels[label])
	}
	s.labelMu.Unlock()
	for _, v := range s.Versions() {
		vs, err := v.snapshot()
		if err != nil {
			return nil, err
		}
		out.Versions = append(out.Versions, vs)
	}
	return out, nil
}

func (v *Version) snapshot() (VersionSnapshot, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.flushDrift()
	w, err := json.Marshal(v.ring)
	if err != nil {
		return VersionSnapshot{}, fmt.Errorf("state: saving window of %s/%s: %w", v.model.Name, v.Name, err)
	}
	vs := VersionSnapshot{Model: v.model.Name, Version: v.Name, Counters: v.c.clone(), Window: w}
	vs.Features = v.featureSnapshots()
	vs.Reference = v.referenceSnapshot()
	v.snapshotPerf(&vs)
	return vs, nil
}

// featureSnapshots lists the learnt features in index order; v is locked.
func (v *Version) featureSnapshots() []FeatureSnapshot {
	out := make([]FeatureSnapshot, 0, len(v.list))
	for _, f := range v.list {
		fs := FeatureSnapshot{Name: f.Name, Type: string(f.Schema.Type)}
		for c := range f.categories {
			fs.Categories = append(fs.Categories, c)
		}
		sort.Strings(fs.Categories)
		out = append(out, fs)
	}
	return out
}

// Restore loads a snapshot into an empty state. Saved models and versions come back even
// if the configuration would no longer learn them: what was learnt is kept.
func (s *State) Restore(snap *Snapshot) error {
	s.labelMu.Lock()
	for label, values := range snap.Labels {
		set := make(map[string]string, len(values))
		for _, v := range values {
			set[v] = v
		}
		s.labels[label] = set
	}
	for k, n := range snap.Folded {
		s.folded[k] += n
	}
	for _, r := range snap.Rejected {
		s.rejected[r.RejectKey] += r.Count
	}
	for _, r := range snap.LabelResults {
		s.labelResults[r.LabelKey] += r.Count
	}
	s.labelMu.Unlock()

	cfg := s.Config()
	for _, vs := range snap.Versions {
		s.mu.Lock()
		m := s.models[vs.Model]
		if m == nil {
			m = s.newModel(vs.Model, cfg)
			s.models[vs.Model] = m
		}
		s.mu.Unlock()
		m.mu.Lock()
		if m.versions[vs.Version] != nil {
			m.mu.Unlock()
			return fmt.Errorf("state: snapshot holds %s/%s twice", vs.Model, vs.Version)
		}
		v := s.newVersion(m, vs.Version, cfg, vs.Features)
		v.c = vs.Counters
		if err := v.restoreExtra(&vs.VersionExtra); err != nil {
			m.mu.Unlock()
			return fmt.Errorf("state: restoring %s/%s: %w", vs.Model, vs.Version, err)
		}
		if len(vs.Window) > 0 {
			if err := v.ring.Restore(vs.Window); err != nil {
				m.mu.Unlock()
				return fmt.Errorf("state: restoring %s/%s: %w", vs.Model, vs.Version, err)
			}
		}
		v.ring.All(func(sl *subWindow) {
			// Saved slots may list fewer features than the version now has; Apply grows them.
			if len(sl.Features) > len(v.list) {
				sl.Features = sl.Features[:len(v.list)]
			}
			if sl.Drift != nil && (v.ref == nil || !sameShape(v.ref.profile, sl.Drift)) {
				sl.Drift = nil
			}
		})
		m.versions[vs.Version] = v
		m.mu.Unlock()
	}
	for _, el := range snap.Early {
		s.mu.Lock()
		m := s.models[el.Model]
		if m == nil {
			m = s.newModel(el.Model, cfg)
			s.models[el.Model] = m
		}
		s.mu.Unlock()
		for _, e := range el.Labels {
			if _, err := m.early.Restore(e); err != nil {
				return fmt.Errorf("state: restoring early labels of %s: %w", el.Model, err)
			}
		}
	}
	return nil
}

func (v *Version) restoreExtra(x *VersionExtra) error {
	if err := v.restoreReference(x.Reference); err != nil {
		return err
	}
	return v.restorePerf(x)
}
