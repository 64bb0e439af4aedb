package state

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Snapshot is everything the state has learnt and counted, in a form to persist.
type Snapshot struct {
	Versions []VersionSnapshot   `json:"versions"`
	Labels   map[string][]string `json:"labels"`
	Folded   map[string]uint64   `json:"folded"`
	Rejected []RejectedCount     `json:"rejected"`
}

// VersionSnapshot is one version's learnt schema, counters and window.
type VersionSnapshot struct {
	Model    string            `json:"model"`
	Version  string            `json:"version"`
	Features []FeatureSnapshot `json:"features"` // in index order: window slots refer to it
	Counters Counters          `json:"counters"`
	Window   json.RawMessage   `json:"window"`
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
	w, err := json.Marshal(v.ring)
	if err != nil {
		return VersionSnapshot{}, fmt.Errorf("state: saving window of %s/%s: %w", v.model.Name, v.Name, err)
	}
	vs := VersionSnapshot{Model: v.model.Name, Version: v.Name, Counters: v.c.clone(), Window: w}
	for _, f := range v.list {
		fs := FeatureSnapshot{Name: f.Name, Type: string(f.Schema.Type)}
		for c := range f.categories {
			fs.Categories = append(fs.Categories, c)
		}
		sort.Strings(fs.Categories)
		vs.Features = append(vs.Features, fs)
	}
	return vs, nil
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
	s.labelMu.Unlock()

	cfg := s.Config()
	for _, vs := range snap.Versions {
		s.mu.Lock()
		m := s.models[vs.Model]
		if m == nil {
			m = newModel(vs.Model, cfg)
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
		if len(vs.Window) > 0 {
			if err := v.ring.Restore(vs.Window); err != nil {
				m.mu.Unlock()
				return fmt.Errorf("state: restoring %s/%s: %w", vs.Model, vs.Version, err)
			}
		}
		v.ring.All(func(sl *Slot) {
			// Saved slots may list fewer features than the version now has; Apply grows them.
			for i := range sl.Features {
				if i < len(v.list) {
					sl.Features[i].Extra = v.accumulators(v.list[i])
				}
			}
			if len(sl.Features) > len(v.list) {
				sl.Features = sl.Features[:len(v.list)]
			}
		})
		m.versions[vs.Version] = v
		m.mu.Unlock()
	}
	return nil
}
