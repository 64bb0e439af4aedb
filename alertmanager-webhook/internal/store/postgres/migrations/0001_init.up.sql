-- Times are integer nanoseconds since the Unix epoch; 0 means "not yet".
CREATE TABLE alert_groups (
  group_key   TEXT PRIMARY KEY,
  incident_id BIGINT NOT NULL
);

CREATE TABLE incidents (
  id               BIGSERIAL PRIMARY KEY,
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
  detected_at      BIGINT NOT NULL,
  triaged_at       BIGINT NOT NULL,
  contained_at     BIGINT NOT NULL,
  investigating_at BIGINT NOT NULL,
  resolved_at      BIGINT NOT NULL,
  reviewed_at      BIGINT NOT NULL,
  resolved_by      TEXT NOT NULL,
  alerts_firing    BIGINT NOT NULL,
  alerts_total     BIGINT NOT NULL,
  reopen_count     BIGINT NOT NULL,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL
);
CREATE INDEX incidents_detected ON incidents (detected_at DESC, id DESC);
CREATE INDEX incidents_state ON incidents (state, detected_at DESC, id DESC);
CREATE INDEX incidents_tier ON incidents (tier, detected_at DESC, id DESC);
CREATE INDEX incidents_team ON incidents (team, detected_at DESC, id DESC);
CREATE INDEX incidents_model ON incidents (model, detected_at DESC, id DESC);

CREATE TABLE alerts (
  id            BIGSERIAL PRIMARY KEY,
  incident_id   BIGINT NOT NULL,
  group_key     TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  starts_at     BIGINT NOT NULL,
  ends_at       BIGINT NOT NULL,
  status        TEXT NOT NULL,
  labels        TEXT NOT NULL,
  annotations   TEXT NOT NULL,
  generator_url TEXT NOT NULL,
  first_seen    BIGINT NOT NULL,
  last_change   BIGINT NOT NULL,
  UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alerts_incident ON alerts (incident_id, status);

CREATE TABLE alert_transitions (
  fingerprint  TEXT NOT NULL,
  starts_at    BIGINT NOT NULL,
  status       TEXT NOT NULL,
  ends_at      BIGINT NOT NULL,
  received_at  BIGINT NOT NULL,
  external_url TEXT NOT NULL,
  PRIMARY KEY (fingerprint, starts_at, status, ends_at)
);

CREATE TABLE timeline (
  id          BIGSERIAL PRIMARY KEY,
  incident_id BIGINT NOT NULL,
  at          BIGINT NOT NULL,
  actor       TEXT NOT NULL,
  kind        TEXT NOT NULL,
  from_state  TEXT NOT NULL,
  to_state    TEXT NOT NULL,
  note        TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, id);

CREATE TABLE notes (
  id               BIGSERIAL PRIMARY KEY,
  incident_id      BIGINT NOT NULL,
  at               BIGINT NOT NULL,
  actor            TEXT NOT NULL,
  kind             TEXT NOT NULL,
  containment_kind TEXT NOT NULL,
  text             TEXT NOT NULL,
  url              TEXT NOT NULL
);
CREATE INDEX notes_incident ON notes (incident_id, id);

CREATE TABLE audit (
  seq         BIGINT PRIMARY KEY,
  at          BIGINT NOT NULL,
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
  seq  BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- Append-only: the database itself refuses edits of the audit log.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit log is append-only';
END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
