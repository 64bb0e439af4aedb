-- Transitions keyed by start time first, so that new alerts' transitions are appended at
-- the right edge of the index instead of spread over pages picked by their hashed
-- fingerprints. Lookups always give the whole key, which any column order serves.
ALTER TABLE alert_transitions DROP CONSTRAINT alert_transitions_pkey;
ALTER TABLE alert_transitions ADD PRIMARY KEY (starts_at, fingerprint, status, ends_at);
