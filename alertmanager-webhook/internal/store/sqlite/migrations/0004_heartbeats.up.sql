-- Last arrival of each heartbeat alert (Alertmanager's always-firing Watchdog).
CREATE TABLE heartbeats (
  name      TEXT PRIMARY KEY,
  last_seen INTEGER NOT NULL
);
