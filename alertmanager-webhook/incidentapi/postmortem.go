package incidentapi

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// PostmortemInput is a post-mortem's text sent as JSON (PUT …/postmortem also takes a
// text/markdown body).
type PostmortemInput struct {
	Text string `json:"text"`
}

// PostmortemSaved is the answer of PUT /api/v1/incidents/{id}/postmortem.
type PostmortemSaved struct {
	Bytes      int       `json:"bytes"`
	IncidentID int64     `json:"incident_id"`
	UpdatedAt  time.Time `json:"updated_at"`
	UpdatedBy  string    `json:"updated_by"`
}

// ActionItem is a follow-up of a post-mortem, owned by someone.
type ActionItem struct {
	ID         int64     `json:"id"`
	IncidentID int64     `json:"incident_id"`
	Text       string    `json:"text"`
	Owner      string    `json:"owner"`
	DueAt      time.Time `json:"due_at,omitzero"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ActionItemInput is a new action item (POST /api/v1/incidents/{id}/action_items).
type ActionItemInput struct {
	Text  string `json:"text"`
	Owner string `json:"owner"`
	Due   string `json:"due,omitempty"` // RFC 3339 time or a date 2006-01-02
}

// ActionItemStatusInput marks an action item open or done (POST /api/v1/action_items/{id}/status).
type ActionItemStatusInput struct {
	Status string `json:"status"`
}

// ActionItemList is the answer of GET /api/v1/action_items and …/{id}/action_items.
type ActionItemList struct {
	ActionItems []ActionItem `json:"action_items"`
}

// SavePostmortem stores an incident's post-mortem text (Markdown) for actingUser.
func (c *Client) SavePostmortem(ctx context.Context, id int64, actingUser, text string) (*PostmortemSaved, error) {
	return call[PostmortemSaved](ctx, c, http.MethodPut, "postmortem", IncidentPath(id, "postmortem"), nil, actingUser, PostmortemInput{Text: text})
}

// AddActionItem attaches an action item to an incident for actingUser.
func (c *Client) AddActionItem(ctx context.Context, id int64, actingUser string, in ActionItemInput) (*ActionItem, error) {
	return call[ActionItem](ctx, c, http.MethodPost, "action_item", IncidentPath(id, "action_items"), nil, actingUser, in)
}

// ActionItems lists an incident's action items.
func (c *Client) ActionItems(ctx context.Context, id int64) ([]ActionItem, error) {
	out, err := call[ActionItemList](ctx, c, http.MethodGet, "action_items", IncidentPath(id, "action_items"), nil, "", nil)
	if err != nil {
		return nil, err
	}
	return out.ActionItems, nil
}

// SetActionItemStatus marks an action item open or done for actingUser.
func (c *Client) SetActionItemStatus(ctx context.Context, itemID int64, actingUser, status string) (*ActionItem, error) {
	path := "/api/v1/action_items/" + strconv.FormatInt(itemID, 10) + "/status"
	return call[ActionItem](ctx, c, http.MethodPost, "action_item_status", path, nil, actingUser, ActionItemStatusInput{Status: status})
}
