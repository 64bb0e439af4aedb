-- Transitions keyed by start time first. A new alert's transition then lands at the right
-- edge of the b-tree instead of on a page picked by its fingerprint (a hash, so random): a
-- notification of ten new alerts dirties one or two pages of this table, not ten, and every
-- dirty page is written to the WAL at commit. Lookups always give the whole key, which any
-- column order serves.
CREATE TABLE alert_transitions_by_start (
  fingerprint  TEXT NOT NULL,
  starts_at    INTEGER NOT NULL,
  status       TEXT NOT NULL,
  ends_at      INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  external_url TEXT NOT NULL,
  PRIMARY KEY (starts_at, fingerprint, status, ends_at)
) WITHOUT ROWID;
INSERT INTO alert_transitions_by_start (fingerprint, starts_at, status, ends_at, received_at, external_url)
  SELECT fingerprint, starts_at, status, ends_at, received_at, external_url FROM alert_transitions;
DROP TABLE alert_transitions;
ALTER TABLE alert_transitions_by_start RENAME TO alert_transitions;
