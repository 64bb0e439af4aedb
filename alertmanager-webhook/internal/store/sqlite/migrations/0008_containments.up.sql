-- Containments: what applications must do with a model's traffic while an incident is
-- worked on (fallback, disable, block_inputs). Times are nanoseconds; 0 means "not set".
CREATE TABLE containments (
  id               INTEGER PRIMARY KEY,
  model            TEXT NOT NULL,
  version          TEXT NOT NULL,
  action           TEXT NOT NULL,
  match_feature    TEXT NOT NULL,
  match_value      TEXT NOT NULL,
  match_class      TEXT NOT NULL,
  fallback_version TEXT NOT NULL,
  reason           TEXT NOT NULL,
  incident_id      INTEGER NOT NULL,
  policy           TEXT NOT NULL,
  created_by       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  until_kind       TEXT NOT NULL,
  expires_at       INTEGER NOT NULL,
  lift_after       INTEGER NOT NULL,
  lifted_at        INTEGER NOT NULL,
  lifted_by        TEXT NOT NULL,
  lift_reason      TEXT NOT NULL
);
CREATE INDEX containments_active ON containments (lifted_at, model, id);
CREATE INDEX containments_incident ON containments (incident_id, id);

-- One row per (incident, automatic policy): the unique key makes every replica apply a
-- policy to an incident at most once, whatever it decided (applied, dry_run, skipped).
CREATE TABLE containment_policy_runs (
  incident_id    INTEGER NOT NULL,
  policy         TEXT NOT NULL,
  at             INTEGER NOT NULL,
  outcome        TEXT NOT NULL,
  containment_id INTEGER NOT NULL,
  PRIMARY KEY (incident_id, policy)
);
CREATE INDEX containment_policy_runs_at ON containment_policy_runs (outcome, at);

-- Locked by automatic containment so replicas count the hourly cap one at a time.
CREATE TABLE containment_head (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO containment_head (id, seq) VALUES (1, 0);

-- The outbox of containment hooks: one row per (change, configured hook), written in the
-- transaction of the change, sent and retried by whichever replica claims it first.
CREATE TABLE containment_hooks (
  id             INTEGER PRIMARY KEY,
  hook           TEXT NOT NULL,
  containment_id INTEGER NOT NULL,
  incident_id    INTEGER NOT NULL,
  event          TEXT NOT NULL,
  payload        TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  attempts       INTEGER NOT NULL,
  next_at        INTEGER NOT NULL,
  delivered_at   INTEGER NOT NULL,
  gave_up_at     INTEGER NOT NULL,
  last_error     TEXT NOT NULL
);
CREATE INDEX containment_hooks_due ON containment_hooks (delivered_at, gave_up_at, next_at);
CREATE INDEX containment_hooks_containment ON containment_hooks (containment_id, id);
