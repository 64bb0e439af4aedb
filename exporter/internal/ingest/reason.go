// Package ingest receives inference events over HTTP (POST /api/v1/events): it decodes JSON
// arrays, single objects and NDJSON, plain or gzip, validates each event against the model
// version's schema and applies the valid ones to the state. A rejected event never fails
// the batch; the response lists each rejected event's index, field and reason.
package ingest

// The closed set of rejection reasons, used as aiops_events_rejected_total{reason}.
const (
	ReasonInvalidJSON         = "invalid_json"           // not JSON, or an event that is not an object
	ReasonMissingModel        = "missing_model"          // no model, or an empty one
	ReasonUnknownModel        = "unknown_model"          // model not configured and unknown_models: reject
	ReasonUnknownVersion      = "unknown_version"        // version not listed and unknown_models: reject
	ReasonUnknownFeature      = "unknown_feature"        // feature not configured and unknown_features: reject
	ReasonUnknownField        = "unknown_field"          // a key the event schema does not have
	ReasonTypeMismatch        = "type_mismatch"          // a value of the wrong JSON type
	ReasonMissingRequired     = "missing_required"       // a required feature absent or null
	ReasonOutOfRange          = "out_of_range"           // outside the feature's min/max (or text max_length)
	ReasonUnknownCategory     = "unknown_category"       // a categorical value not in allowed
	ReasonNonFinite           = "non_finite"             // NaN or ±Inf
	ReasonNegativeValue       = "negative_value"         // negative latency, tokens, cost, length, business value
	ReasonTimestampOutOfRange = "timestamp_out_of_range" // further than max_clock_skew ahead or max_event_age back
	ReasonInvalidValue        = "invalid_value"          // a value outside an enumerated set (outcome, rating, token type)
)

// Reasons lists every reason, for documentation and tests.
var Reasons = []string{
	ReasonInvalidJSON, ReasonMissingModel, ReasonUnknownModel, ReasonUnknownVersion,
	ReasonUnknownFeature, ReasonUnknownField, ReasonTypeMismatch, ReasonMissingRequired,
	ReasonOutOfRange, ReasonUnknownCategory, ReasonNonFinite, ReasonNegativeValue,
	ReasonTimestampOutOfRange, ReasonInvalidValue,
}

// Rejection says why one event was rejected.
type Rejection struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Result is the response to a batch.
type Result struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
	// Error is set when the request itself failed part-way (e.g. a truncated gzip stream);
	// the events before the failure are counted above and kept.
	Error string `json:"error,omitempty"`
}
