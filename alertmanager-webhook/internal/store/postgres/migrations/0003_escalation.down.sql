DROP INDEX incidents_updated;
DROP INDEX incidents_created;
DROP TABLE maintenance;
DROP TABLE outbox;
DROP TABLE escalations;
