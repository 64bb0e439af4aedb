-- The evidence gathered for an incident when it opened (or when its tier rose, or on a
-- responder's demand): the report as JSON, the tier it was gathered at (a rise gathers
-- again) and the causes it supported (comma-separated), which similar incidents compare
-- without decoding every report.
CREATE TABLE incident_evidence (
  incident_id BIGINT PRIMARY KEY,
  tier        TEXT NOT NULL,
  gathered_at BIGINT NOT NULL,
  supported   TEXT NOT NULL,
  report      TEXT NOT NULL
);
