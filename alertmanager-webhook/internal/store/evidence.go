package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Evidence is the stored evidence report of an incident (package evidence makes it; the
// store keeps its JSON as it is).
type Evidence struct {
	IncidentID int64
	// Tier is the incident's tier when the report was gathered: a higher tier gathers again.
	Tier       incident.Tier
	GatheredAt time.Time
	// Supported are the causes the report supported, for comparing incidents cheaply.
	Supported []string
	Report    json.RawMessage
}

// MaxEvidenceBytes bounds a stored report.
const MaxEvidenceBytes = 1 << 20

// SaveEvidence stores (or replaces) the evidence of an incident.
func (s *DB) SaveEvidence(ctx context.Context, e Evidence) error {
	if len(e.Report) > MaxEvidenceBytes {
		return invalid("evidence report of incident %d: %d bytes, at most %d", e.IncidentID, len(e.Report), MaxEvidenceBytes)
	}
	return s.write(ctx, "evidence", func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.loadIncident(ctx, tx, e.IncidentID); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO incident_evidence (incident_id, tier, gathered_at, supported, report) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (incident_id) DO UPDATE SET tier = excluded.tier, gathered_at = excluded.gathered_at, supported = excluded.supported, report = excluded.report`,
			e.IncidentID, string(e.Tier), nanos(e.GatheredAt), strings.Join(e.Supported, ","), string(e.Report))
		return err
	})
}

// Evidence returns the stored evidence of an incident, or ErrNotFound when none was
// gathered yet.
func (s *DB) Evidence(ctx context.Context, id int64) (*Evidence, error) {
	e := Evidence{IncidentID: id}
	var tier, supported, report string
	var at int64
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT tier, gathered_at, supported, report FROM incident_evidence WHERE incident_id = ?`), id).
		Scan(&tier, &at, &supported, &report)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("evidence of incident %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	e.Tier, e.GatheredAt, e.Supported, e.Report = incident.Tier(tier), fromNanos(at), splitList(supported), json.RawMessage(report)
	return &e, nil
}

// EvidenceSupported returns the supported causes of the incidents that have evidence,
// by incident.
func (s *DB) EvidenceSupported(ctx context.Context, ids []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	for _, part := range chunks(ids, 500) {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT incident_id, supported FROM incident_evidence WHERE incident_id IN `+placeholders(1, len(part))), args...)
		if err != nil {
			return nil, s.unavailable(err)
		}
		for rows.Next() {
			var id int64
			var sup string
			if err := rows.Scan(&id, &sup); err != nil {
				rows.Close()
				return nil, s.unavailable(err)
			}
			out[id] = splitList(sup)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.unavailable(err)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
