-- One row per incident once the escalation worker has routed it: what the tier policy
-- decided, the next escalation step and when it is due (durable timers).
CREATE TABLE escalations (
  incident_id       BIGINT PRIMARY KEY,
  team              TEXT NOT NULL,
  policy            TEXT NOT NULL,
  tier              TEXT NOT NULL,
  action            TEXT NOT NULL,
  state             TEXT NOT NULL,
  step              BIGINT NOT NULL,
  round             BIGINT NOT NULL,
  due_at            BIGINT NOT NULL,
  reopen_seen       BIGINT NOT NULL,
  acked_notified    BIGINT NOT NULL,
  resolved_notified BIGINT NOT NULL,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL
);
CREATE INDEX escalations_due ON escalations (state, due_at);

-- Notifications to send: written in the transaction that decides them, sent by the
-- worker under a lease, retried with backoff. dedup makes every decision enqueue once.
CREATE TABLE outbox (
  id          BIGSERIAL PRIMARY KEY,
  incident_id BIGINT NOT NULL,
  channel     TEXT NOT NULL,
  kind        TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  step        BIGINT NOT NULL,
  payload     TEXT NOT NULL,
  status      TEXT NOT NULL,
  attempts    BIGINT NOT NULL,
  next_at     BIGINT NOT NULL,
  lease_until BIGINT NOT NULL,
  last_error  TEXT NOT NULL,
  dedup       TEXT NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL,
  sent_at     BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_incident ON outbox (incident_id, id);

CREATE TABLE maintenance (
  id         BIGSERIAL PRIMARY KEY,
  matchers   TEXT NOT NULL,
  starts_at  BIGINT NOT NULL,
  ends_at    BIGINT NOT NULL,
  reason     TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX maintenance_ends ON maintenance (ends_at);
-- The escalation worker looks at recently created and recently changed incidents only.
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_updated ON incidents (updated_at);
