package gen

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// IncidentsPluginID is the type id of the OpsCentre incidents datasource plugin
// (grafana-plugin/plugin.json).
const IncidentsPluginID = "opscentre-incidents-datasource"

// Query types the incidents datasource answers (its QueryTypeMux routes on them).
const (
	QueryIncidents   = "incidents"
	QueryCounts      = "counts"
	QueryStats       = "stats"
	QueryTimeline    = "timeline"
	QueryAnnotations = "annotations"
	QueryEvidence    = "evidence"
)

var incidentQueryTypes = []string{QueryIncidents, QueryCounts, QueryStats, QueryTimeline, QueryAnnotations, QueryEvidence}

// IncidentsQuery is one target of the incidents datasource. The SDK ships query
// types only for core datasources, so the plugin's JSON query model is declared
// here; its field names are the plugin's contract.
type IncidentsQuery struct {
	RefId      *string               `json:"refId,omitempty"`
	Hide       *bool                 `json:"hide,omitempty"`
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	QueryType  string                `json:"queryType"`
	State      string                `json:"state,omitempty"`
	Tier       string                `json:"tier,omitempty"`
	Team       string                `json:"team,omitempty"`
	Model      string                `json:"model,omitempty"`
	Text       string                `json:"text,omitempty"`
	SplitBy    string                `json:"splitBy,omitempty"`
	// Interval is the counts query's bucket ("1d"); GroupBy the stats query's rows (tier,
	// team, model); IncludeChanges adds change-log entries to annotations.
	Interval       string `json:"interval,omitempty"`
	GroupBy        string `json:"groupBy,omitempty"`
	IncludeChanges bool   `json:"includeChanges,omitempty"`
	Stat           string `json:"stat,omitempty"`
	// IncidentId is the timeline or evidence query's incident, usually "$incident".
	IncidentId string `json:"incidentId,omitempty"`
}

var _ variants.Dataquery = IncidentsQuery{}

// ImplementsDataqueryVariant marks IncidentsQuery as a dataquery for the SDK.
func (IncidentsQuery) ImplementsDataqueryVariant() {}

// DataqueryType returns the plugin id, which is how the SDK picks an unmarshaler.
func (IncidentsQuery) DataqueryType() string { return IncidentsPluginID }

// Equals reports whether other is the same query.
func (q IncidentsQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(IncidentsQuery)
	if !ok {
		if p, isPtr := other.(*IncidentsQuery); isPtr && p != nil {
			o, ok = *p, true
		}
	}
	return ok && reflect.DeepEqual(q, o)
}

// Validate checks the query type against the ones the plugin serves.
func (q IncidentsQuery) Validate() error {
	for _, t := range incidentQueryTypes {
		if q.QueryType == t {
			return nil
		}
	}
	return fmt.Errorf("queryType: %q is not one of %s", q.QueryType, strings.Join(incidentQueryTypes, ", "))
}

// unmarshalIncidentsQueryStrict rejects unknown fields, like the SDK's own strict
// unmarshalers, so a typo in a committed dashboard fails the tests.
func unmarshalIncidentsQueryStrict(raw []byte) (variants.Dataquery, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var q IncidentsQuery
	if err := dec.Decode(&q); err != nil {
		return nil, fmt.Errorf("incidents query: %w", err)
	}
	if q.QueryType == "" {
		return nil, errors.New("incidents query: queryType: required field is missing")
	}
	return q, nil
}

// IncidentsVariantConfig registers IncidentsQuery with the SDK runtime.
func IncidentsVariantConfig() variants.DataqueryConfig {
	return variants.DataqueryConfig{
		Identifier: IncidentsPluginID,
		DataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q IncidentsQuery
			if err := json.Unmarshal(raw, &q); err != nil {
				return nil, fmt.Errorf("incidents query: %w", err)
			}
			return q, nil
		},
		StrictDataqueryUnmarshaler: unmarshalIncidentsQueryStrict,
	}
}

// IncidentsQueryBuilder builds an IncidentsQuery; it satisfies cog.Builder so it
// plugs into any panel's WithTarget.
type IncidentsQueryBuilder struct {
	q IncidentsQuery
}

var _ cog.Builder[variants.Dataquery] = (*IncidentsQueryBuilder)(nil)

// NewIncidentsQuery starts a query of the given type against the incidents
// datasource variable.
func NewIncidentsQuery(queryType string) *IncidentsQueryBuilder {
	return &IncidentsQueryBuilder{q: IncidentsQuery{QueryType: queryType, Datasource: incidentsRef()}}
}

// Build returns the query or the validation error.
func (b *IncidentsQueryBuilder) Build() (variants.Dataquery, error) {
	if err := b.q.Validate(); err != nil {
		return nil, cog.MakeBuildErrors("IncidentsQuery", err)
	}
	return b.q, nil
}

// RefId sets the query's reference id.
func (b *IncidentsQueryBuilder) RefId(id string) *IncidentsQueryBuilder { b.q.RefId = &id; return b }

// State filters on the lifecycle state (e.g. "open").
func (b *IncidentsQueryBuilder) State(s string) *IncidentsQueryBuilder { b.q.State = s; return b }

// Tier filters on the alert tier (P1…P4).
func (b *IncidentsQueryBuilder) Tier(s string) *IncidentsQueryBuilder { b.q.Tier = s; return b }

// Team filters on the owning team.
func (b *IncidentsQueryBuilder) Team(s string) *IncidentsQueryBuilder { b.q.Team = s; return b }

// Model filters on the model label.
func (b *IncidentsQueryBuilder) Model(s string) *IncidentsQueryBuilder { b.q.Model = s; return b }

// Text is a free-text filter.
func (b *IncidentsQueryBuilder) Text(s string) *IncidentsQueryBuilder { b.q.Text = s; return b }

// SplitBy groups counts or stats by a field (tier, team, model).
func (b *IncidentsQueryBuilder) SplitBy(s string) *IncidentsQueryBuilder { b.q.SplitBy = s; return b }

// Stat picks the statistic of a stats query (mtta, mttr, sla_breaches…).
func (b *IncidentsQueryBuilder) Stat(s string) *IncidentsQueryBuilder { b.q.Stat = s; return b }

// Interval sets the bucket of a counts query.
func (b *IncidentsQueryBuilder) Interval(s string) *IncidentsQueryBuilder { b.q.Interval = s; return b }

// GroupBy sets the rows of a stats query: tier, team or model.
func (b *IncidentsQueryBuilder) GroupBy(s string) *IncidentsQueryBuilder { b.q.GroupBy = s; return b }

// IncidentId sets the incident of a timeline query.
func (b *IncidentsQueryBuilder) IncidentId(s string) *IncidentsQueryBuilder {
	b.q.IncidentId = s
	return b
}

// IncludeChanges adds change-log entries to an annotations query.
func (b *IncidentsQueryBuilder) IncludeChanges() *IncidentsQueryBuilder {
	b.q.IncludeChanges = true
	return b
}
