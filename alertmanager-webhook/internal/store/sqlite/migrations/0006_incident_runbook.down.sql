ALTER TABLE incidents DROP COLUMN runbook_url;
