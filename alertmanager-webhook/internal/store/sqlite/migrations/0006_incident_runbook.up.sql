-- Each incident's runbook: the runbook_url annotation of the alert that opened it (where
-- Prometheus rules put it), else its runbook_url label. The incidents table links it and
-- notifications carry it without reading the incident's alerts. Existing incidents take it
-- from their first stored alert.
ALTER TABLE incidents ADD COLUMN runbook_url TEXT NOT NULL DEFAULT '';
UPDATE incidents SET runbook_url = COALESCE(
  NULLIF((SELECT CASE WHEN json_valid(a.annotations) THEN json_extract(a.annotations, '$.runbook_url') END
          FROM alerts a WHERE a.incident_id = incidents.id ORDER BY a.id LIMIT 1), ''),
  CASE WHEN json_valid(labels) THEN json_extract(labels, '$.runbook_url') END,
  '');
