package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Query types, as the QueryEditor sends them in DataQuery.QueryType.
const (
	QueryIncidents   = "incidents"
	QueryCounts      = "counts"
	QueryStats       = "stats"
	QueryTimeline    = "timeline"
	QueryAnnotations = "annotations"
	QueryVariables   = "variables"
	QueryEvidence    = "evidence"
)

// Valid values of the filters, matching incidentd's.
var (
	validStates  = []string{"detected", "triaged", "contained", "investigating", "resolved", "reviewed"}
	validTiers   = []string{"P1", "P2", "P3", "P4"}
	validSplits  = []string{"", "tier", "state", "team", "model"}
	validCount   = []string{"", "opened", "open"}
	validGroups  = []string{"", "total", "tier", "team", "model"}
	validVarKind = []string{"teams", "models", "tiers", "states"}
)

// Query is the JSON of one query, shared by every query type; each type reads the
// fields it needs.
type Query struct {
	// Filters (incidents, counts, annotations).
	States []string `json:"states,omitempty"`
	Tiers  []string `json:"tiers,omitempty"`
	Teams  []string `json:"teams,omitempty"`
	Models []string `json:"models,omitempty"`
	Text   string   `json:"text,omitempty"`
	// OpenOnly keeps unresolved incidents only.
	OpenOnly bool `json:"openOnly,omitempty"`

	// LabelColumns adds these incident labels as table columns (incidents).
	LabelColumns []string `json:"labelColumns,omitempty"`

	// CountMode is "opened" (incidents detected per interval, the default) or "open"
	// (incidents open at some moment of each interval) (counts).
	CountMode string `json:"countMode,omitempty"`
	// SplitBy makes one series per tier, state, team or model (counts).
	SplitBy string `json:"splitBy,omitempty"`
	// Interval overrides the panel's interval, as a Go or Grafana duration ("1h", "1d") (counts).
	Interval string `json:"interval,omitempty"`

	// GroupBy selects the stats rows: total (default), tier, team or model (stats).
	GroupBy string `json:"groupBy,omitempty"`

	// IncidentID selects the incident (timeline, evidence); may hold a dashboard variable already
	// interpolated by the frontend, hence a string.
	IncidentID json.RawMessage `json:"incidentId,omitempty"`

	// IncludeChanges adds change-log entries (annotations).
	IncludeChanges bool `json:"includeChanges,omitempty"`

	// Variable names what a variables query lists: teams, models, tiers or states.
	Variable string `json:"variable,omitempty"`

	// Stat keeps one number of the stats (count, open, acknowledged, resolved,
	// sla_breached, mtta_seconds, mttr_seconds; also sla_breaches, mtta, mttr) (stats).
	Stat string `json:"stat,omitempty"`

	// Single-value spellings of the filters, as dashboards generated with
	// dashboards/gen write them; each may hold a comma-separated list. State "open"
	// means unresolved incidents (incidents, annotations) or open counts (counts).
	State string `json:"state,omitempty"`
	Tier  string `json:"tier,omitempty"`
	Team  string `json:"team,omitempty"`
	Model string `json:"model,omitempty"`
}

// statAliases maps the accepted names of Query.Stat to the stats field names.
var statAliases = map[string]string{
	"count": "count", "open": "open", "acknowledged": "acknowledged", "resolved": "resolved",
	"sla_breached": "sla_breached", "sla_breaches": "sla_breached",
	"mtta_seconds": "mtta_seconds", "mtta": "mtta_seconds", "mttr_seconds": "mttr_seconds", "mttr": "mttr_seconds",
}

// grafanaQueryKeys are the fields Grafana itself puts in every query's JSON.
var grafanaQueryKeys = []string{"refId", "datasource", "datasourceId", "hide", "key", "queryType", "intervalMs",
	"maxDataPoints", "timeRange", "utcOffsetSec", "editorMode", "format", "legendFormat", "range", "instant"}

// unknownKeys lists the keys of raw that neither Grafana nor this plugin defines, so a
// misspelt filter shows up as a notice instead of silently matching everything.
func unknownKeys(raw json.RawMessage) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	known := map[string]bool{}
	t := reflect.TypeFor[Query]()
	for i := range t.NumField() {
		known[strings.Split(t.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	var out []string
	for k := range m {
		if !known[k] && !slices.Contains(grafanaQueryKeys, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// parseQuery decodes and validates a query of the given type; errors name the field as
// the editor shows it.
func parseQuery(raw json.RawMessage, queryType string) (Query, error) {
	var q Query
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &q); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return q, fmt.Errorf("query field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
			}
			return q, fmt.Errorf("query: not a JSON object: %w", err)
		}
	}
	if q.State != "" {
		for _, st := range strings.Split(q.State, ",") {
			st = strings.TrimSpace(strings.ToLower(st))
			switch {
			case st != "open":
				q.States = append(q.States, st)
			case queryType == QueryCounts:
				if q.CountMode == "" {
					q.CountMode = "open"
				}
			default:
				q.OpenOnly = true
			}
		}
	}
	q.Tiers = append(q.Tiers, q.Tier)
	q.Teams = append(q.Teams, q.Team)
	q.Models = append(q.Models, q.Model)
	if queryType == QueryStats && q.GroupBy == "" && q.SplitBy != "" {
		if q.SplitBy == "state" {
			return q, errors.New("splitBy: stats are grouped by tier, team or model, not state")
		}
		q.GroupBy, q.SplitBy = q.SplitBy, ""
	}
	if q.Stat != "" {
		name, ok := statAliases[strings.ToLower(strings.TrimSpace(q.Stat))]
		if !ok {
			return q, fmt.Errorf("stat: unknown value %q, expected count, open, acknowledged, resolved, sla_breached, mtta or mttr", q.Stat)
		}
		q.Stat = name
	}
	q.States = clean(q.States, strings.ToLower)
	q.Tiers = clean(q.Tiers, strings.ToUpper)
	q.Teams = clean(q.Teams, nil)
	q.Models = clean(q.Models, nil)
	q.Text = strings.TrimSpace(q.Text)
	for _, s := range q.States {
		if !slices.Contains(validStates, s) {
			return q, fmt.Errorf("states: unknown state %q, expected one of %s", s, strings.Join(validStates, ", "))
		}
	}
	for _, t := range q.Tiers {
		if !slices.Contains(validTiers, t) {
			return q, fmt.Errorf("tiers: unknown tier %q, expected one of %s", t, strings.Join(validTiers, ", "))
		}
	}
	if !slices.Contains(validSplits, q.SplitBy) {
		return q, fmt.Errorf("splitBy: unknown value %q, expected tier, state, team or model", q.SplitBy)
	}
	if !slices.Contains(validCount, q.CountMode) {
		return q, fmt.Errorf("countMode: unknown value %q, expected opened or open", q.CountMode)
	}
	if !slices.Contains(validGroups, q.GroupBy) {
		return q, fmt.Errorf("groupBy: unknown value %q, expected total, tier, team or model", q.GroupBy)
	}
	if q.Variable != "" && !slices.Contains(validVarKind, q.Variable) {
		return q, fmt.Errorf("variable: unknown value %q, expected teams, models, tiers or states", q.Variable)
	}
	if q.Interval != "" {
		if _, err := parseInterval(q.Interval); err != nil {
			return q, err
		}
	}
	return q, nil
}

// clean trims, drops empty values and the "$__all"/"All" that an unexpanded variable leaves.
func clean(in []string, norm func(string) string) []string {
	var out []string
	for _, s := range in {
		// A multi-value variable may arrive as one comma-separated value.
		for _, p := range strings.Split(s, ",") {
			p = strings.Trim(strings.TrimSpace(p), "{}")
			if p == "" || p == "$__all" || p == "All" || p == "*" {
				continue
			}
			if norm != nil {
				p = norm(p)
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseInterval reads "90s", "5m", "1h", "1d" or "1w".
func parseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	mult := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		mult = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		mult = 7 * 24 * time.Hour
	}
	var d time.Duration
	if mult != 0 {
		var n float64
		if _, err := fmt.Sscanf(strings.TrimRight(s, "dw"), "%g", &n); err != nil || n <= 0 {
			return 0, fmt.Errorf("interval: expected a duration like 1h or 1d, got %q", s)
		}
		d = time.Duration(n * float64(mult))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, fmt.Errorf("interval: expected a duration like 1h or 1d, got %q", s)
		}
	}
	if d < time.Second {
		return 0, fmt.Errorf("interval: expected at least 1s, got %q", s)
	}
	return d, nil
}

// incidentID reads the timeline's incident id, a JSON number or a string holding one.
func (q Query) incidentID() (int64, error) {
	if len(q.IncidentID) == 0 || string(q.IncidentID) == "null" || string(q.IncidentID) == `""` {
		return 0, errors.New("incidentId: required for the timeline query, the number of an incident")
	}
	var n int64
	if err := json.Unmarshal(q.IncidentID, &n); err == nil && n > 0 {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(q.IncidentID, &s); err == nil {
		s = strings.TrimPrefix(strings.TrimSpace(s), "#")
		if _, err := fmt.Sscanf(s, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == s {
			return n, nil
		}
	}
	return 0, fmt.Errorf("incidentId: expected a positive incident number, got %s", q.IncidentID)
}

// match applies the filters incidentd cannot apply itself (several values of one field).
func (q Query) match(tier, team, model string) bool {
	return (len(q.Tiers) == 0 || slices.Contains(q.Tiers, tier)) &&
		(len(q.Teams) == 0 || slices.Contains(q.Teams, team)) &&
		(len(q.Models) == 0 || slices.Contains(q.Models, model))
}
