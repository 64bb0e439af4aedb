package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Postmortem is the edited post-mortem of an incident.
type Postmortem struct {
	IncidentID int64     `json:"incident_id"`
	Text       string    `json:"text"`
	UpdatedAt  time.Time `json:"updated_at"`
	UpdatedBy  string    `json:"updated_by"`
}

// MaxPostmortemBytes bounds a stored post-mortem.
const MaxPostmortemBytes = 256 << 10

// Postmortem returns the stored post-mortem of incident id, or ErrNotFound when none was
// saved (the API then renders a draft).
func (s *DB) Postmortem(ctx context.Context, id int64) (*Postmortem, error) {
	p := Postmortem{IncidentID: id}
	var at int64
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT text, updated_at, updated_by FROM postmortems WHERE incident_id = ?`), id).Scan(&p.Text, &at, &p.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("post-mortem of incident %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	p.UpdatedAt = fromNanos(at)
	return &p, nil
}

// SavePostmortem stores the edited post-mortem text of an incident.
func (s *DB) SavePostmortem(ctx context.Context, id int64, text string, a Action) (*Postmortem, error) {
	if strings.TrimSpace(a.Actor) == "" {
		return nil, invalid("actor is required")
	}
	if strings.TrimSpace(text) == "" {
		return nil, invalid("body: the post-mortem text must not be empty")
	}
	if len(text) > MaxPostmortemBytes {
		return nil, invalid("body: at most %d bytes", MaxPostmortemBytes)
	}
	var p Postmortem
	err := s.write(ctx, "postmortem", func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.loadIncident(ctx, tx, id); err != nil {
			return err
		}
		now := s.now().UTC()
		var before []byte
		var old string
		switch err := s.queryRow(ctx, tx, `SELECT text FROM postmortems WHERE incident_id = ?`, id).Scan(&old); {
		case err == nil:
			before, _ = json.Marshal(map[string]int{"bytes": len(old)})
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO postmortems (incident_id, text, updated_at, updated_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (incident_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			id, text, nanos(now), a.Actor); err != nil {
			return err
		}
		p = Postmortem{IncidentID: id, Text: text, UpdatedAt: now, UpdatedBy: a.Actor}
		if err := s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: id, At: now, Actor: a.Actor, Kind: "postmortem", Note: a.Note}); err != nil {
			return err
		}
		after, _ := json.Marshal(map[string]int{"bytes": len(text)})
		return s.appendAudit(ctx, tx, audit.Entry{At: now, Actor: a.Actor, Action: "incident.postmortem", Object: "incident/" + strconv.FormatInt(id, 10), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Action item statuses.
const (
	ItemOpen = "open"
	ItemDone = "done"
)

// ActionItem is a follow-up of a post-mortem, owned by someone.
type ActionItem = incidentapi.ActionItem

// ActionItemInput is a new action item.
type ActionItemInput struct {
	Text  string
	Owner string
	DueAt time.Time
}

// AddActionItem attaches an action item to an incident.
func (s *DB) AddActionItem(ctx context.Context, id int64, in ActionItemInput, a Action) (*ActionItem, error) {
	in.Text, in.Owner = strings.TrimSpace(in.Text), strings.TrimSpace(in.Owner)
	switch {
	case strings.TrimSpace(a.Actor) == "":
		return nil, invalid("actor is required")
	case in.Text == "":
		return nil, invalid("text: must not be empty")
	case len(in.Text) > 4096:
		return nil, invalid("text: at most 4096 bytes")
	case in.Owner == "":
		return nil, invalid("owner: every action item needs an owner")
	case len(in.Owner) > 256:
		return nil, invalid("owner: at most 256 bytes")
	}
	var it ActionItem
	err := s.write(ctx, "action_item", func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.loadIncident(ctx, tx, id); err != nil {
			return err
		}
		now := s.now().UTC()
		it = ActionItem{IncidentID: id, Text: in.Text, Owner: in.Owner, DueAt: in.DueAt.UTC(), Status: ItemOpen, CreatedAt: now, CreatedBy: a.Actor, UpdatedAt: now}
		if in.DueAt.IsZero() {
			it.DueAt = time.Time{}
		}
		if err := s.queryRow(ctx, tx, `INSERT INTO action_items (incident_id, text, owner, due_at, status, created_at, created_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, id, it.Text, it.Owner, nanos(it.DueAt), it.Status, nanos(now), a.Actor, nanos(now)).Scan(&it.ID); err != nil {
			return err
		}
		if err := s.addTimeline(ctx, tx, incident.TimelineEntry{IncidentID: id, At: now, Actor: a.Actor, Kind: "action_item", Note: truncate(it.Owner+": "+it.Text, 200)}); err != nil {
			return err
		}
		after, _ := json.Marshal(it)
		return s.appendAudit(ctx, tx, audit.Entry{At: now, Actor: a.Actor, Action: "incident.action_item", Object: "incident/" + strconv.FormatInt(id, 10), After: after})
	})
	if err != nil {
		return nil, err
	}
	return &it, nil
}

// SetActionItemStatus marks an action item open or done.
func (s *DB) SetActionItemStatus(ctx context.Context, itemID int64, status string, a Action) (*ActionItem, error) {
	if status != ItemOpen && status != ItemDone {
		return nil, invalid("status: expected open or done, got %q", status)
	}
	if strings.TrimSpace(a.Actor) == "" {
		return nil, invalid("actor is required")
	}
	var it *ActionItem
	err := s.write(ctx, "action_item", func(ctx context.Context, tx *sql.Tx) error {
		items, err := s.scanItems(s.query(ctx, tx, `SELECT `+itemCols+` FROM action_items WHERE id = ?`+s.d.ForUpdate, itemID))
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return fmt.Errorf("action item %d: %w", itemID, ErrNotFound)
		}
		it = &items[0]
		if it.Status == status {
			return nil
		}
		before, _ := json.Marshal(it)
		now := s.now().UTC()
		if _, err := s.exec(ctx, tx, `UPDATE action_items SET status = ?, updated_at = ? WHERE id = ?`, status, nanos(now), itemID); err != nil {
			return err
		}
		it.Status, it.UpdatedAt = status, now
		after, _ := json.Marshal(it)
		return s.appendAudit(ctx, tx, audit.Entry{At: now, Actor: a.Actor, Action: "incident.action_item_status", Object: "incident/" + strconv.FormatInt(it.IncidentID, 10), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

const itemCols = `id, incident_id, text, owner, due_at, status, created_at, created_by, updated_at`

func (s *DB) scanItems(rows *sql.Rows, err error) ([]ActionItem, error) {
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	out := []ActionItem{}
	for rows.Next() {
		var it ActionItem
		var due, created, updated int64
		if err := rows.Scan(&it.ID, &it.IncidentID, &it.Text, &it.Owner, &due, &it.Status, &created, &it.CreatedBy, &updated); err != nil {
			return nil, s.unavailable(err)
		}
		it.DueAt, it.CreatedAt, it.UpdatedAt = fromNanos(due), fromNanos(created), fromNanos(updated)
		out = append(out, it)
	}
	return out, s.unavailable(rows.Err())
}

// ActionItemFilter selects action items; zero fields do not filter.
type ActionItemFilter struct {
	IncidentID int64
	Owner      string
	Status     string
	Limit      int
}

// ActionItems lists action items, oldest first.
func (s *DB) ActionItems(ctx context.Context, f ActionItemFilter) ([]ActionItem, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		return nil, invalid("limit: at most 1000")
	}
	if f.Status != "" && f.Status != ItemOpen && f.Status != ItemDone {
		return nil, invalid("status: expected open or done, got %q", f.Status)
	}
	where := []string{"1 = 1"}
	var args []any
	if f.IncidentID != 0 {
		where = append(where, "incident_id = ?")
		args = append(args, f.IncidentID)
	}
	if f.Owner != "" {
		where = append(where, "owner = ?")
		args = append(args, f.Owner)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	args = append(args, f.Limit)
	return s.scanItems(s.db.QueryContext(ctx, s.d.q(`SELECT `+itemCols+` FROM action_items WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`), args...))
}
