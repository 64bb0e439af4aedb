DROP TABLE incident_evidence;
