-- Times are integer nanoseconds since the Unix epoch; 0 means "not yet".
CREATE TABLE alert_groups (
  group_key   TEXT PRIMARY KEY,
  incident_id INTEGER NOT NULL
);

CREATE TABLE incidents (
  id               INTEGER PRIMARY KEY,
  group_key        TEXT NOT NULL,
  title            TEXT NOT NULL,
  summary          TEXT NOT NULL,
  tier             TEXT NOT NULL,
  alert_tier       TEXT NOT NULL,
  team             TEXT NOT NULL,
  model            TEXT NOT NULL,
  labels           TEXT NOT NULL,
  state            TEXT NOT NULL,
  assignee         TEXT NOT NULL,
  detected_at      INTEGER NOT NULL,
  triaged_at       INTEGER NOT NULL,
  contained_at     INTEGER NOT NULL,
  investigating_at INTEGER NOT NULL,
  resolved_at      INTEGER NOT NULL,
  reviewed_at      INTEGER NOT NULL,
  resolved_by      TEXT NOT NULL,
  alerts_firing    INTEGER NOT NULL,
  alerts_total     INTEGER NOT NULL,
  reopen_count     INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX incidents_detected ON incidents (detected_at DESC, id DESC);
CREATE INDEX incidents_state ON incidents (state, detected_at DESC, id DESC);
CREATE INDEX incidents_tier ON incidents (tier, detected_at DESC, id DESC);
CREATE INDEX incidents_team ON incidents (team, detected_at DESC, id DESC);
CREATE INDEX incidents_model ON incidents (model, detected_at DESC, id DESC);

CREATE TABLE alerts (
  id            INTEGER PRIMARY KEY,
  incident_id   INTEGER NOT NULL,
  group_key     TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  starts_at     INTEGER NOT NULL,
  ends_at       INTEGER NOT NULL,
  status        TEXT NOT NULL,
  labels        TEXT NOT NULL,
  annotations   TEXT NOT NULL,
  generator_url TEXT NOT NULL,
  first_seen    INTEGER NOT NULL,
  last_change   INTEGER NOT NULL,
  UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alerts_incident ON alerts (incident_id, status);

CREATE TABLE alert_transitions (
  fingerprint  TEXT NOT NULL,
  starts_at    INTEGER NOT NULL,
  status       TEXT NOT NULL,
  ends_at      INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  external_url TEXT NOT NULL,
  PRIMARY KEY (fingerprint, starts_at, status, ends_at)
) WITHOUT ROWID;

CREATE TABLE timeline (
  id          INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  kind        TEXT NOT NULL,
  from_state  TEXT NOT NULL,
  to_state    TEXT NOT NULL,
  note        TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, id);

CREATE TABLE notes (
  id               INTEGER PRIMARY KEY,
  incident_id      INTEGER NOT NULL,
  at               INTEGER NOT NULL,
  actor            TEXT NOT NULL,
  kind             TEXT NOT NULL,
  containment_kind TEXT NOT NULL,
  text             TEXT NOT NULL,
  url              TEXT NOT NULL
);
CREATE INDEX notes_incident ON notes (incident_id, id);

CREATE TABLE audit (
  seq         INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  object      TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json  TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_object ON audit (object, seq);

CREATE TABLE audit_head (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- Append-only: the database itself refuses edits of the audit log.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
