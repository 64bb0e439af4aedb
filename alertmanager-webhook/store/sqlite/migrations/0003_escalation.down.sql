DROP TABLE maintenance;
DROP TABLE outbox;
DROP TABLE escalations;
