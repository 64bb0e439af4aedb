-- Each incident's runbook: the runbook_url annotation of the alert that opened it (where
-- Prometheus rules put it), else its runbook_url label. The incidents table links it and
-- notifications carry it without reading the incident's alerts. Existing incidents take it
-- from their first stored alert.
ALTER TABLE incidents ADD COLUMN runbook_url TEXT NOT NULL DEFAULT '';
UPDATE incidents i SET runbook_url = COALESCE(
  NULLIF((SELECT a.annotations::json ->> 'runbook_url' FROM alerts a WHERE a.incident_id = i.id ORDER BY a.id LIMIT 1), ''),
  i.labels::json ->> 'runbook_url',
  '');
