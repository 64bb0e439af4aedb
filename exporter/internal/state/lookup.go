package state

// Lookup returns the version an event naming model and version was applied to — the named
// one, or the __other__ one it was folded into — without creating anything or counting a
// fold. It returns nil when no such version exists. Receivers that keep families of their
// own beside the state (OTLP finish reasons, tool calls) use it to label them exactly as
// the state labelled the event.
func (s *State) Lookup(model, version string) *Version {
	s.mu.RLock()
	m := s.models[model]
	if m == nil {
		m = s.models[Other]
	}
	s.mu.RUnlock()
	if m == nil {
		return nil
	}
	if version == "" {
		version = DefaultVersion
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if v := m.versions[version]; v != nil {
		return v
	}
	return m.versions[Other]
}
