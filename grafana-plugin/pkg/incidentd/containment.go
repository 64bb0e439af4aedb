package incidentd

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MaxActiveContainments is how many active containments the plugin reads for a table: the
// largest page incidentd serves.
const MaxActiveContainments = 1000

// ContainmentMatch selects the inputs a block_inputs containment refuses.
type ContainmentMatch struct {
	Feature    string `json:"feature,omitempty"`
	Value      string `json:"value,omitempty"`
	InputClass string `json:"input_class,omitempty"`
}

// ContainmentInput applies a containment (incidentd checks it and names a bad field).
type ContainmentInput struct {
	Model           string            `json:"model"`
	Version         string            `json:"version,omitempty"`
	Action          string            `json:"action"`
	Match           *ContainmentMatch `json:"match,omitempty"`
	FallbackVersion string            `json:"fallback_version,omitempty"`
	Reason          string            `json:"reason"`
	ExpiresAt       *time.Time        `json:"expires_at,omitempty"`
	UntilResolved   bool              `json:"until_resolved,omitempty"`
	UntilLifted     bool              `json:"until_lifted,omitempty"`
	LiftAfter       string            `json:"lift_after,omitempty"`
}

// Containment is one containment as incidentd returns it.
type Containment struct {
	ID              int64             `json:"id"`
	Model           string            `json:"model"`
	Version         string            `json:"version,omitempty"`
	Action          string            `json:"action"`
	Match           *ContainmentMatch `json:"match,omitempty"`
	FallbackVersion string            `json:"fallback_version,omitempty"`
	Reason          string            `json:"reason"`
	Incident        int64             `json:"incident,omitempty"`
	Policy          string            `json:"policy,omitempty"`
	CreatedBy       string            `json:"created_by"`
	CreatedAt       time.Time         `json:"created_at"`
	Until           string            `json:"until"`
	ExpiresAt       time.Time         `json:"expires_at,omitzero"`
	LiftedAt        time.Time         `json:"lifted_at,omitzero"`
	LiftedBy        string            `json:"lifted_by,omitempty"`
	Active          bool              `json:"active"`
}

// Contain applies a containment for an incident as actingUser.
func (c *Client) Contain(ctx context.Context, incidentID int64, actingUser string, in ContainmentInput) (*Containment, error) {
	var out Containment
	return &out, c.do(ctx, http.MethodPost, "contain", incidentPath(incidentID, "containments"), nil, actingUser, in, &out)
}

// LiftContainment lifts a containment as actingUser.
func (c *Client) LiftContainment(ctx context.Context, id int64, actingUser, reason string) (*Containment, error) {
	var out Containment
	body := map[string]string{}
	if reason != "" {
		body["reason"] = reason
	}
	return &out, c.do(ctx, http.MethodPost, "lift", "/api/v1/containments/"+strconv.FormatInt(id, 10)+"/lift", nil, actingUser, body, &out)
}

// Containments lists an incident's containments, oldest first.
func (c *Client) Containments(ctx context.Context, incidentID int64) ([]Containment, error) {
	var out struct {
		Containments []Containment `json:"containments"`
	}
	return out.Containments, c.do(ctx, http.MethodGet, "containments", incidentPath(incidentID, "containments"), nil, "", nil, &out)
}

// ActiveContainments lists the containments in force, of every model and incident, so an
// incidents table can show each incident's in one request.
func (c *Client) ActiveContainments(ctx context.Context) ([]Containment, error) {
	var out struct {
		Containments []Containment `json:"containments"`
	}
	q := url.Values{"active": {"true"}, "limit": {strconv.Itoa(MaxActiveContainments)}}
	return out.Containments, c.do(ctx, http.MethodGet, "containments", "/api/v1/containments", q, "", nil, &out)
}
