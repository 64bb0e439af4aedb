package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
)

// Get returns one incident with its alerts, timeline and notes.
func (s *DB) Get(ctx context.Context, id int64) (*Detail, error) {
	start := time.Now()
	defer func() { s.observe("get", time.Since(start)) }()
	inc, err := scanIncident(s.db.QueryRowContext(ctx, s.d.q(`SELECT `+incidentCols+` FROM incidents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("incident %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	inc.compute(s.config(ctx).SLA, s.now())
	d := &Detail{Incident: inc.Incident, Alerts: []Alert{}, Timeline: []TimelineEntry{}, Notes: []Note{}}
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT id, incident_id, group_key, fingerprint, starts_at, ends_at, status, labels, annotations, generator_url, first_seen
		FROM alerts WHERE incident_id = ? ORDER BY starts_at, fingerprint`), id)
	if err != nil {
		return nil, s.unavailable(err)
	}
	for rows.Next() {
		var a Alert
		var st, en, fs int64
		var l, an string
		if err := rows.Scan(&a.ID, &a.IncidentID, &a.GroupKey, &a.Fingerprint, &st, &en, &a.Status, &l, &an, &a.GeneratorURL, &fs); err != nil {
			rows.Close()
			return nil, s.unavailable(err)
		}
		a.StartsAt, a.EndsAt, a.FirstSeen = fromNanos(st), fromNanos(en), fromNanos(fs)
		_ = json.Unmarshal([]byte(l), &a.Labels)
		_ = json.Unmarshal([]byte(an), &a.Annotations)
		d.Alerts = append(d.Alerts, a)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, s.d.q(`SELECT id, at, actor, kind, from_state, to_state, note FROM timeline WHERE incident_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, s.unavailable(err)
	}
	for rows.Next() {
		var t TimelineEntry
		var at int64
		var from, to string
		if err := rows.Scan(&t.ID, &at, &t.Actor, &t.Kind, &from, &to, &t.Note); err != nil {
			rows.Close()
			return nil, s.unavailable(err)
		}
		t.At, t.From, t.To = fromNanos(at), incident.State(from), incident.State(to)
		d.Timeline = append(d.Timeline, t)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, s.d.q(`SELECT id, at, actor, kind, containment_kind, text, url FROM notes WHERE incident_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &at, &n.Actor, &n.Kind, &n.ContainmentKind, &n.Text, &n.URL); err != nil {
			return nil, s.unavailable(err)
		}
		n.At = fromNanos(at)
		d.Notes = append(d.Notes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, s.unavailable(err)
	}
	if d.RelatedChanges, err = s.RelatedChanges(ctx, inc); err != nil {
		return nil, err
	}
	return d, nil
}

func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Filter selects incidents. Zero fields do not filter.
type Filter struct {
	States []incident.State
	Tier   incident.Tier
	Team   string
	Model  string
	From   time.Time // detected at or after
	To     time.Time // detected before
	Text   string    // substring of title, summary or group key, case-insensitive
	Limit  int
	Cursor string
	// RawLabels leaves Incident.Labels nil and keeps the stored labels JSON, for callers
	// that only write the page out with Page.AppendJSON: decoding every page's labels into
	// maps only to encode them again was a large share of a listing's cost.
	RawLabels bool
}

// Page is one page of incidents, newest detection first.
//
// It is written by AppendJSON, as the JSON of incidentapi.Page (the labels as stored,
// not decoded and encoded again): it has no JSON tags of its own.
type Page struct {
	Incidents  []Incident
	NextCursor string
}

// MaxPageSize bounds a page.
const MaxPageSize = 500

// MaxSearchBytes bounds a text search (q=) and a LIKE prefix filter. SQLite refuses LIKE
// patterns over 50,000 bytes with an error; a bound far below that, checked before any
// SQL runs, answers 400 on both databases and keeps a scan's cost per row small.
const MaxSearchBytes = 1024

// likeContains returns the LIKE pattern matching s anywhere, its wildcards escaped, or an
// error naming param when s is longer than MaxSearchBytes.
func likeContains(param, s string) (string, error) {
	if len(s) > MaxSearchBytes {
		return "", invalid("%s: at most %d bytes of search text, got %d", param, MaxSearchBytes, len(s))
	}
	return "%" + likeEscaper.Replace(strings.ToLower(s)) + "%", nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func encodeCursor(detected, id int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%d", detected, id))
}

func decodeCursor(c string) (int64, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, invalid("cursor: not a cursor returned by this API")
	}
	a, bb, ok := strings.Cut(string(b), ":")
	d, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(bb, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, invalid("cursor: not a cursor returned by this API")
	}
	return d, id, nil
}

// List returns a page of incidents matching f, ordered by detection time then id, newest
// first; NextCursor continues after the last one.
func (s *DB) List(ctx context.Context, f Filter) (*Page, error) {
	start := time.Now()
	defer func() { s.observe("list", time.Since(start)) }()
	q, args, err := s.listQuery(&f, incidentCols, MaxPageSize)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	// The page is usually full: growing it by doubling copied ~1.8× its size.
	p := &Page{Incidents: make([]Incident, 0, f.Limit+1)}
	now := s.now()
	sla := s.config(ctx).SLA
	for rows.Next() {
		if f.RawLabels {
			p.Incidents = append(p.Incidents, Incident{})
			inc := &p.Incidents[len(p.Incidents)-1]
			if err := scanIncidentRaw(rows, inc); err != nil {
				return nil, s.unavailable(err)
			}
			inc.compute(sla, now)
			continue
		}
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, s.unavailable(err)
		}
		inc.compute(sla, now)
		p.Incidents = append(p.Incidents, *inc)
	}
	if err := rows.Err(); err != nil {
		return nil, s.unavailable(err)
	}
	if len(p.Incidents) > f.Limit {
		p.Incidents = p.Incidents[:f.Limit]
		last := p.Incidents[f.Limit-1]
		p.NextCursor = encodeCursor(nanos(last.DetectedAt), last.ID)
	}
	return p, nil
}

// listQuery builds the SELECT of cols for a page of f (one row more than the page, to
// know whether another follows), after defaulting and bounding f.Limit by max.
func (s *DB) listQuery(f *Filter, cols string, max int) (string, []any, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > max {
		return "", nil, invalid("limit: at most %d", max)
	}
	var where []string
	var args []any
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for i, st := range f.States {
			ph[i] = "?"
			args = append(args, string(st))
		}
		where = append(where, "state IN ("+strings.Join(ph, ", ")+")")
	}
	for _, c := range []struct{ col, v string }{{"tier", string(f.Tier)}, {"team", f.Team}, {"model", f.Model}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		where = append(where, "detected_at >= ?")
		args = append(args, nanos(f.From))
	}
	var curDet, curID int64
	if f.Cursor != "" {
		var err error
		if curDet, curID, err = decodeCursor(f.Cursor); err != nil {
			return "", nil, err
		}
	}
	// With a cursor inside [From, To), the cursor is the tighter upper bound; leaving To
	// out lets the index range start at the cursor instead of at To, so reading page k does
	// not step over the k−1 pages before it again.
	if !f.To.IsZero() && (f.Cursor == "" || nanos(f.To) <= curDet) {
		where = append(where, "detected_at < ?")
		args = append(args, nanos(f.To))
	}
	if f.Text != "" {
		like, err := likeContains("q", f.Text)
		if err != nil {
			return "", nil, err
		}
		where = append(where, `(LOWER(title) LIKE ? ESCAPE '\' OR LOWER(summary) LIKE ? ESCAPE '\' OR LOWER(group_key) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	if f.Cursor != "" {
		// "detected_at <= ?" repeats what the OR implies, as a range the index can seek to.
		where = append(where, "detected_at <= ? AND (detected_at < ? OR id < ?)")
		args = append(args, curDet, curDet, curID)
	}
	q := `SELECT ` + cols + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY detected_at DESC, id DESC LIMIT ?"
	args = append(args, f.Limit+1)
	return s.d.q(q), args, nil
}

// Bucket and Stats are the API's (GET /api/v1/stats).
type (
	Bucket = incidentapi.Bucket
	Stats  = incidentapi.Stats
)

// tally is a bucket being counted, with the sums its means divide.
type tally struct {
	Bucket
	sumA, sumR float64
}

// Stats computes counts and mean MTTA/MTTR (over incidents that reached the step) by tier,
// team and model for incidents detected in [from, to).
func (s *DB) Stats(ctx context.Context, from, to time.Time) (*Stats, error) {
	if !to.After(from) {
		return nil, invalid("to: must be after from")
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT tier, team, model, state, detected_at, triaged_at, resolved_at FROM incidents WHERE detected_at >= ? AND detected_at < ?`),
		nanos(from), nanos(to))
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	st := &Stats{From: from, To: to, ByState: map[string]int{}}
	total, tiers, teams, models := &tally{}, map[string]*tally{}, map[string]*tally{}, map[string]*tally{}
	now := s.now()
	for rows.Next() {
		var tier, team, model, state string
		var det, tri, res int64
		if err := rows.Scan(&tier, &team, &model, &state, &det, &tri, &res); err != nil {
			return nil, s.unavailable(err)
		}
		st.ByState[state]++
		d := incident.Measure(fromNanos(det), fromNanos(tri), fromNanos(res))
		breached := s.config(ctx).SLA.Breached(incident.Tier(tier), fromNanos(det), fromNanos(tri), now)
		for _, b := range []*tally{total, bucket(tiers, tier), bucket(teams, team), bucket(models, model)} {
			b.Count++
			if incident.State(state).Open() {
				b.Open++
			}
			if tri != 0 {
				b.Acked++
				b.sumA += d.MTTA.Seconds()
			}
			if res != 0 {
				b.Resolved++
				b.sumR += d.MTTR.Seconds()
			}
			if breached {
				b.SLABreached++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.unavailable(err)
	}
	st.Total = total.finish()
	st.ByTier, st.ByTeam, st.ByModel = buckets(tiers), buckets(teams), buckets(models)
	return st, nil
}

func bucket(m map[string]*tally, k string) *tally {
	b := m[k]
	if b == nil {
		b = &tally{Bucket: Bucket{Key: k}}
		m[k] = b
	}
	return b
}

func (b *tally) finish() Bucket {
	if b.Acked > 0 {
		b.MTTASeconds = b.sumA / float64(b.Acked)
	}
	if b.Resolved > 0 {
		b.MTTRSeconds = b.sumR / float64(b.Resolved)
	}
	return b.Bucket
}

func buckets(m map[string]*tally) []Bucket {
	out := make([]Bucket, 0, len(m))
	for _, b := range m {
		out = append(out, b.finish())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// OpenCount is the number of open incidents of a tier in a state.
type OpenCount struct {
	Tier, State string
	Count       int
}

// OpenCounts counts unresolved incidents by tier and state (for /metrics).
func (s *DB) OpenCounts(ctx context.Context) ([]OpenCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tier, state, COUNT(*) FROM incidents WHERE state IN ('detected', 'triaged', 'contained', 'investigating') GROUP BY tier, state`)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	var out []OpenCount
	for rows.Next() {
		var c OpenCount
		if err := rows.Scan(&c.Tier, &c.State, &c.Count); err != nil {
			return nil, s.unavailable(err)
		}
		out = append(out, c)
	}
	return out, s.unavailable(rows.Err())
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Actor    string
	Action   string // prefix, e.g. "incident."
	Object   string
	From, To time.Time
	AfterSeq int64
	Limit    int
}

// Audit lists audit entries in sequence order.
func (s *DB) Audit(ctx context.Context, f AuditFilter) ([]audit.Entry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		return nil, invalid("limit: at most 1000")
	}
	where := []string{"seq > ?"}
	args := []any{f.AfterSeq}
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		if len(f.Action) > MaxSearchBytes {
			return nil, invalid("action: at most %d bytes, got %d", MaxSearchBytes, len(f.Action))
		}
		where = append(where, "action LIKE ? ESCAPE '\\'")
		args = append(args, likeEscaper.Replace(f.Action)+"%")
	}
	if f.Object != "" {
		where = append(where, "object = ?")
		args = append(args, f.Object)
	}
	if !f.From.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, nanos(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < ?")
		args = append(args, nanos(f.To))
	}
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT seq, at, actor, action, object, before_json, after_json, prev_hash, hash FROM audit WHERE `+
		strings.Join(where, " AND ")+` ORDER BY seq LIMIT ?`), args...)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	out := []audit.Entry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, s.unavailable(rows.Err())
}

func scanAudit(r scanner) (audit.Entry, error) {
	var e audit.Entry
	var at int64
	var before, after string
	if err := r.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &before, &after, &e.PrevHash, &e.Hash); err != nil {
		return e, unavailable(err)
	}
	e.At = fromNanos(at)
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return e, nil
}

// VerifyAudit walks the whole chain and checks every link.
func (s *DB) VerifyAudit(ctx context.Context) (audit.Verification, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return audit.Verification{}, s.unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	var headSeq int64
	var head string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &head); err != nil {
		return audit.Verification{}, s.unavailable(err)
	}
	rows, err := tx.QueryContext(ctx, s.d.q(`SELECT seq, at, actor, action, object, before_json, after_json, prev_hash, hash FROM audit WHERE seq <= ? ORDER BY seq`), headSeq)
	if err != nil {
		return audit.Verification{}, s.unavailable(err)
	}
	defer rows.Close()
	var v audit.Verifier
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return audit.Verification{}, err
		}
		v.Add(e)
	}
	if err := rows.Err(); err != nil {
		return audit.Verification{}, s.unavailable(err)
	}
	return v.Result(headSeq, head), nil
}

// DurationBuckets counts incidents by how long a step took, for histograms that survive
// restarts and agree across replicas (they are computed from the database, not memory).
// which is "ack" (triaged − detected) or "resolve" (resolved − detected); bounds are upper
// bucket bounds in seconds. It returns per tier the count in each bucket (the last one is
// +Inf), and the sum of seconds.
func (s *DB) DurationBuckets(ctx context.Context, which string, bounds []float64) (map[string][]uint64, map[string]float64, error) {
	col := map[string]string{"ack": "triaged_at", "resolve": "resolved_at"}[which]
	if col == "" {
		return nil, nil, fmt.Errorf("unknown duration %q", which)
	}
	var cases strings.Builder
	cases.WriteString("CASE")
	for i, b := range bounds {
		fmt.Fprintf(&cases, " WHEN d <= %d THEN %d", int64(b*1e9), i)
	}
	fmt.Fprintf(&cases, " ELSE %d END", len(bounds))
	// In floating point: the integer difference of two stored times, or the sum of a few
	// long ones, overflows int64 nanoseconds (an incident "detected" in 1800 and
	// acknowledged today is 7e18 ns), and an overflow fails the whole query — every
	// incident gauge and histogram gone, incidentd_store_up 0 — on rows already stored.
	q := `SELECT tier, ` + cases.String() + ` AS b, COUNT(*), SUM(d) FROM (SELECT tier, CASE WHEN ` + col + ` > detected_at THEN CAST(` + col +
		` AS DOUBLE PRECISION) - CAST(detected_at AS DOUBLE PRECISION) ELSE 0 END AS d FROM incidents WHERE ` + col + ` > 0) x GROUP BY tier, b`
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, s.unavailable(err)
	}
	defer rows.Close()
	counts, sums := map[string][]uint64{}, map[string]float64{}
	for rows.Next() {
		var tier string
		var b int
		var n int64
		var sum float64
		if err := rows.Scan(&tier, &b, &n, &sum); err != nil {
			return nil, nil, s.unavailable(err)
		}
		if counts[tier] == nil {
			counts[tier] = make([]uint64, len(bounds)+1)
		}
		counts[tier][b] += uint64(n)
		sums[tier] += sum / 1e9
	}
	return counts, sums, s.unavailable(rows.Err())
}

// OpenBreaches counts unresolved incidents past their tier's acknowledge target, by tier.
func (s *DB) OpenBreaches(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tier, detected_at, triaged_at FROM incidents WHERE state IN ('detected', 'triaged', 'contained', 'investigating')`)
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer rows.Close()
	now := s.now()
	out := map[string]int{}
	for rows.Next() {
		var tier string
		var det, tri int64
		if err := rows.Scan(&tier, &det, &tri); err != nil {
			return nil, s.unavailable(err)
		}
		if s.config(ctx).SLA.Breached(incident.Tier(tier), fromNanos(det), fromNanos(tri), now) {
			out[tier]++
		}
	}
	return out, s.unavailable(rows.Err())
}
