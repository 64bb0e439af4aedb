-- One row per incident once the escalation worker has routed it: what the tier policy
-- decided, the next escalation step and when it is due (durable timers).
CREATE TABLE escalations (
  incident_id       INTEGER PRIMARY KEY,
  team              TEXT NOT NULL,
  policy            TEXT NOT NULL,
  tier              TEXT NOT NULL,
  action            TEXT NOT NULL,
  state             TEXT NOT NULL,
  step              INTEGER NOT NULL,
  round             INTEGER NOT NULL,
  due_at            INTEGER NOT NULL,
  reopen_seen       INTEGER NOT NULL,
  acked_notified    INTEGER NOT NULL,
  resolved_notified INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX escalations_due ON escalations (state, due_at);

-- Notifications to send: written in the transaction that decides them, sent by the
-- worker under a lease, retried with backoff. dedup makes every decision enqueue once.
CREATE TABLE outbox (
  id          INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL,
  channel     TEXT NOT NULL,
  kind        TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  step        INTEGER NOT NULL,
  payload     TEXT NOT NULL,
  status      TEXT NOT NULL,
  attempts    INTEGER NOT NULL,
  next_at     INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  last_error  TEXT NOT NULL,
  dedup       TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  sent_at     INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_incident ON outbox (incident_id, id);

CREATE TABLE maintenance (
  id         INTEGER PRIMARY KEY,
  matchers   TEXT NOT NULL,
  starts_at  INTEGER NOT NULL,
  ends_at    INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX maintenance_ends ON maintenance (ends_at);
-- The escalation worker looks at recently created and recently changed incidents only.
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_updated ON incidents (updated_at);
