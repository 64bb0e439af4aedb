package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/changes"
)

const changeCols = `id, at, kind, service, model, team, version, title, text, actor, link, labels, recorded_by, recorded_at`

// AddChange records a validated change (see changes.Normalize) and audits it.
func (s *DB) AddChange(ctx context.Context, c changes.Change) (*changes.Change, error) {
	labels, err := json.Marshal(c.Labels)
	if err != nil {
		return nil, invalid("labels: %v", err)
	}
	err = s.write(ctx, "change", func(ctx context.Context, tx *sql.Tx) error {
		if err := s.queryRow(ctx, tx, `INSERT INTO changes (`+strings.TrimPrefix(changeCols, "id, ")+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nanos(c.At), c.Kind, c.Service, c.Model, c.Team, c.Version, c.Title, c.Text, c.Actor, c.Link, string(labels),
			c.RecordedBy, nanos(c.RecordedAt)).Scan(&c.ID); err != nil {
			return err
		}
		after, _ := json.Marshal(c)
		return s.appendAudit(ctx, tx, audit.Entry{At: c.RecordedAt, Actor: c.RecordedBy, Action: "change.recorded", Object: "change/" + strconv.FormatInt(c.ID, 10), After: after})
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ChangeFilter selects changes; zero fields do not filter.
type ChangeFilter struct {
	From, To time.Time // at >= From, at < To
	Kind     string
	Service  string
	Model    string
	Team     string
	Text     string // substring of title or text, case-insensitive
	Limit    int
	Cursor   string
}

// ChangePage is a page of changes, newest first.
type ChangePage = incidentapi.ChangePage

// ListChanges returns changes matching f, newest first.
func (s *DB) ListChanges(ctx context.Context, f ChangeFilter) (*ChangePage, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > MaxPageSize {
		return nil, invalid("limit: at most %d", MaxPageSize)
	}
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("kind", f.Kind)
	eq("service", f.Service)
	eq("model", f.Model)
	eq("team", f.Team)
	if !f.From.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, nanos(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < ?")
		args = append(args, nanos(f.To))
	}
	if f.Text != "" {
		p, err := likeContains("q", f.Text)
		if err != nil {
			return nil, err
		}
		where = append(where, "(LOWER(title) LIKE ? ESCAPE '\\' OR LOWER(text) LIKE ? ESCAPE '\\')")
		args = append(args, p, p)
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		where = append(where, "(at < ? OR (at = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	q := `SELECT ` + changeCols + ` FROM changes`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, f.Limit+1)
	cs, err := s.queryChanges(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	p := &ChangePage{Changes: cs}
	if len(cs) > f.Limit {
		p.Changes = cs[:f.Limit]
		last := p.Changes[f.Limit-1]
		p.NextCursor = encodeCursor(nanos(last.At), last.ID)
	}
	return p, nil
}

func (s *DB) queryChanges(ctx context.Context, q string, args ...any) ([]changes.Change, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(q), args...)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	out := []changes.Change{}
	for rows.Next() {
		var c changes.Change
		var at, rec int64
		var labels string
		if err := rows.Scan(&c.ID, &at, &c.Kind, &c.Service, &c.Model, &c.Team, &c.Version, &c.Title, &c.Text, &c.Actor, &c.Link,
			&labels, &c.RecordedBy, &rec); err != nil {
			return nil, s.unavailable(err)
		}
		c.At, c.RecordedAt = fromNanos(at), fromNanos(rec)
		if err := json.Unmarshal([]byte(labels), &c.Labels); err != nil {
			return nil, s.unavailable(err)
		}
		out = append(out, c)
	}
	return out, s.unavailable(rows.Err())
}

// scopeOf is what an incident is about, for the change log.
func scopeOf(inc *Incident) changes.Scope {
	return changes.Scope{DetectedAt: inc.DetectedAt, Model: inc.Model, Team: inc.Team, Service: inc.Labels["service"]}
}

// RelatedChanges answers "what changed?" for an incident: the changes of its model,
// service or team in the configured window before detection, nearest first.
func (s *DB) RelatedChanges(ctx context.Context, inc *Incident) ([]changes.Change, error) {
	sc := scopeOf(inc)
	window := s.config(ctx).ChangeWindow
	var or []string
	var args []any
	for col, v := range map[string]string{"model": sc.Model, "team": sc.Team, "service": sc.Service} {
		if v != "" {
			or = append(or, col+" = ?")
			args = append(args, v)
		}
	}
	if len(or) == 0 {
		return []changes.Change{}, nil
	}
	args = append(args, nanos(sc.DetectedAt.Add(-window)), nanos(sc.DetectedAt))
	cs, err := s.queryChanges(ctx, `SELECT `+changeCols+` FROM changes WHERE (`+strings.Join(or, " OR ")+`) AND at > ? AND at <= ?
		ORDER BY at DESC, id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, err
	}
	out := changes.Related(sc, window, cs)
	if out == nil {
		out = []changes.Change{}
	}
	return out, nil
}
