CREATE TABLE alert_transitions_by_fingerprint (
  fingerprint  TEXT NOT NULL,
  starts_at    INTEGER NOT NULL,
  status       TEXT NOT NULL,
  ends_at      INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  external_url TEXT NOT NULL,
  PRIMARY KEY (fingerprint, starts_at, status, ends_at)
) WITHOUT ROWID;
INSERT INTO alert_transitions_by_fingerprint (fingerprint, starts_at, status, ends_at, received_at, external_url)
  SELECT fingerprint, starts_at, status, ends_at, received_at, external_url FROM alert_transitions;
DROP TABLE alert_transitions;
ALTER TABLE alert_transitions_by_fingerprint RENAME TO alert_transitions;
