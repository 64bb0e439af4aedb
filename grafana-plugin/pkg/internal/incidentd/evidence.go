package incidentd

import "github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"

// An incident's evidence (GET /api/v1/incidents/{id}/evidence), as incidentapi declares it.
type (
	Evidence    = incidentapi.Evidence
	Cause       = incidentapi.EvidenceCause
	Finding     = incidentapi.EvidenceFinding
	SimilarItem = incidentapi.SimilarIncident
)
