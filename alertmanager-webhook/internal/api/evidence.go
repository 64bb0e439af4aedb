package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/investigate"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// EvidenceService reads and requests incidents' evidence (package investigate); nil when
// incidentd has no Prometheus configured.
type EvidenceService interface {
	Report(ctx context.Context, id int64) (*investigate.Response, error)
	Enqueue(id int64, force bool) bool
}

// errNoEvidenceService answers evidence requests when no Prometheus is configured.
const errNoEvidenceService = "incidentd gathers no evidence: no prometheus is configured (prometheus.url in its configuration)"

// getEvidence answers an incident's evidence: 404 naming why when the incident is unknown
// or its evidence not gathered yet. A failing Prometheus is in the report (unknown
// verdicts, errors), never an error status.
func (a *API) getEvidence(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if _, err := a.o.Store.Get(r.Context(), id); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if a.o.Evidence == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": errNoEvidenceService})
		return
	}
	resp, err := a.o.Evidence.Report(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf(
			"the evidence of incident %d is not gathered yet: it is gathered in the background when the incident opens (POST this path to ask again)", id)})
		return
	}
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// requestEvidence queues a fresh gathering of an incident's evidence (202); 429 when the
// queue is full.
func (a *API) requestEvidence(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if _, err := a.o.Store.Get(r.Context(), id); err != nil {
		writeError(w, a.o.Logger, err)
		return
	}
	if a.o.Evidence == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": errNoEvidenceService})
		return
	}
	if !a.o.Evidence.Enqueue(id, true) {
		w.Header().Set("Retry-After", "10")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": investigate.ErrQueueFull.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"incident_id": id, "queued": true})
}

// evidenceReport returns the incident's evidence report for the post-mortem draft, nil when
// there is none (or no service).
func (a *API) evidenceReport(ctx context.Context, id int64) *investigate.Response {
	if a.o.Evidence == nil {
		return nil
	}
	resp, err := a.o.Evidence.Report(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.o.Logger.Warn("evidence for the post-mortem draft", "incident", id, "err", err)
		}
		return nil
	}
	return resp
}
