ALTER TABLE alert_transitions DROP CONSTRAINT alert_transitions_pkey;
ALTER TABLE alert_transitions ADD PRIMARY KEY (fingerprint, starts_at, status, ends_at);
