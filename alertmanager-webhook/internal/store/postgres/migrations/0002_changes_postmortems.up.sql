-- The change log: deployments, model versions, prompt, pipeline and config changes.
CREATE TABLE changes (
  id          BIGSERIAL PRIMARY KEY,
  at          BIGINT NOT NULL,
  kind        TEXT NOT NULL,
  service     TEXT NOT NULL,
  model       TEXT NOT NULL,
  team        TEXT NOT NULL,
  version     TEXT NOT NULL,
  title       TEXT NOT NULL,
  text        TEXT NOT NULL,
  actor       TEXT NOT NULL,
  link        TEXT NOT NULL,
  labels      TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  recorded_at BIGINT NOT NULL
);
CREATE INDEX changes_at ON changes (at DESC, id DESC);
CREATE INDEX changes_model ON changes (model, at DESC);
CREATE INDEX changes_team ON changes (team, at DESC);

-- The edited post-mortem of an incident (the draft is rendered on demand).
CREATE TABLE postmortems (
  incident_id BIGINT PRIMARY KEY,
  text        TEXT NOT NULL,
  updated_at  BIGINT NOT NULL,
  updated_by  TEXT NOT NULL
);

CREATE TABLE action_items (
  id          BIGSERIAL PRIMARY KEY,
  incident_id BIGINT NOT NULL,
  text        TEXT NOT NULL,
  owner       TEXT NOT NULL,
  due_at      BIGINT NOT NULL,
  status      TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  created_by  TEXT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE INDEX action_items_incident ON action_items (incident_id, id);
CREATE INDEX action_items_owner ON action_items (owner, status, id);
