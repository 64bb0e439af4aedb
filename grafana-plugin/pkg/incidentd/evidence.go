package incidentd

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Evidence is an incident's evidence as incidentd answers GET /api/v1/incidents/{id}/evidence.
type Evidence struct {
	IncidentID int64         `json:"incident_id"`
	GatheredAt time.Time     `json:"gathered_at"`
	Model      string        `json:"model"`
	Version    string        `json:"version"`
	Window     string        `json:"window"`
	Baseline   string        `json:"baseline"`
	Queries    int           `json:"queries"`
	Errors     []string      `json:"errors"`
	Causes     []Cause       `json:"causes"`
	Similar    []SimilarItem `json:"similar"`
}

// Cause is one root cause with its verdict (supported, not_supported, unknown).
type Cause struct {
	Name     string    `json:"name"`
	Verdict  string    `json:"verdict"`
	Hinted   bool      `json:"hinted"` // named first by the opening alert's evidence hints
	Reason   string    `json:"reason"`
	Findings []Finding `json:"findings"`
}

// Finding is one number behind a verdict, now and before, with its query and panel.
type Finding struct {
	Name   string   `json:"name"`
	Now    *float64 `json:"now"`
	Before *float64 `json:"before"`
	Note   string   `json:"note"`
	Query  string   `json:"query"`
	Panel  string   `json:"panel"`
}

// SimilarItem is a past incident like this one.
type SimilarItem struct {
	ID         int64   `json:"id"`
	Title      string  `json:"title"`
	Score      float64 `json:"score"`
	ResolvedBy string  `json:"resolved_by"`
	RootCause  string  `json:"root_cause"`
}

// Evidence reads an incident's evidence; 404 (an *Error) before it is gathered or when
// incidentd has no Prometheus configured.
func (c *Client) Evidence(ctx context.Context, id int64) (*Evidence, error) {
	var e Evidence
	if err := c.Do(ctx, http.MethodGet, "evidence", "/api/v1/incidents/"+strconv.FormatInt(id, 10)+"/evidence", nil, "", nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
