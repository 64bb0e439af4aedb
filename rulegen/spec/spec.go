// Package spec reads and validates the OpsCentre alert-tier specification: the YAML file
// (apiVersion opscentre.io/v1) that lists tiers P1–P4, business hours, defaults, alerts of six
// kinds (threshold, change, anomaly, trend, absence, slo) or presets, and deployment gates.
//
// Parsing walks yaml.v3 nodes so that every error carries file:line:column and the YAML path of
// the value at fault; nothing is silently dropped or defaulted from a typo.
package spec

import (
	"time"
)

// APIVersion is the only spec version this package reads.
const APIVersion = "opscentre.io/v1"

// TierIDs are the tiers every spec may define, most urgent first.
var tierIDs = []string{"P1", "P2", "P3", "P4"}

// TierIDs returns the tier identifiers in order of urgency.
func TierIDs() []string { return append([]string(nil), tierIDs...) }

// Spec is a parsed and validated alert-tier specification.
type Spec struct {
	File          string
	APIVersion    string
	BusinessHours BusinessHours
	Tiers         []*Tier // in P1..P4 order, only those defined
	Receivers     []*Receiver
	Defaults      Defaults
	Alerts        []*Alert
	Gates         *Gates
}

// Tier returns the tier with the given id, or nil.
func (s *Spec) Tier(id string) *Tier {
	for _, t := range s.Tiers {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Tier is one alert tier: how fast somebody must respond and how it is notified.
type Tier struct {
	ID             string
	Name           string
	Severity       string
	ResponseTime   string
	Hours          string // always | business
	Receivers      []string
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
	Pos            Pos
}

// Receiver is a notification target of the Alertmanager fragment (a webhook).
type Receiver struct {
	Name string
	URL  string
	Pos  Pos
}

// BusinessHours are the hours business-hours tiers notify in.
type BusinessHours struct {
	Timezone string
	Weekdays []string
	Start    string // HH:MM
	End      string // HH:MM
}

// Defaults apply to every alert that does not set the field itself.
type Defaults struct {
	For           time.Duration
	KeepFiringFor time.Duration
	Team          string
	Owner         string
	Labels        map[string]string
}

// Alert is one alert of the spec, after preset expansion and defaults.
type Alert struct {
	Name          string
	Tier          string
	Team          string
	Owner         string
	RunbookURL    string
	Runbook       []string
	Summary       string
	Description   string
	Labels        map[string]string
	For           time.Duration
	KeepFiringFor time.Duration
	Preset        string // name of the preset it came from, if any
	// Evidence are the hints incidentd's evidence gathering reads from the alert's
	// annotations: which features to examine first and which causes to list first. A preset
	// sets them; the alert's own evidence block replaces the preset's.
	Evidence *EvidenceHints

	Threshold *Threshold
	Change    *Change
	Anomaly   *Anomaly
	Trend     *Trend
	Absence   *Absence
	SLO       *SLO

	Pos Pos // position of the alert itself
	// ExprPos is where the alert's main expression is written (the preset name for presets).
	ExprPos Pos
}

// Kind names the alert's kind.
func (a *Alert) Kind() string {
	switch {
	case a.Threshold != nil:
		return "threshold"
	case a.Change != nil:
		return "change"
	case a.Anomaly != nil:
		return "anomaly"
	case a.Trend != nil:
		return "trend"
	case a.Absence != nil:
		return "absence"
	case a.SLO != nil:
		return "slo"
	}
	return ""
}

// Threshold fires while Expr compared with Value by Op holds.
type Threshold struct {
	Expr  string
	By    []string
	Op    string // > >= < <=
	Value float64
}

// Change fires when Expr moves by Factor against its own baseline: the average over Window,
// shifted back by Offset. Direction "drop" fires when current < Factor*baseline, "rise" when
// current > Factor*baseline.
type Change struct {
	Expr      string
	By        []string
	Direction string // drop | rise
	Factor    float64
	Window    time.Duration
	Offset    time.Duration
	MinBase   float64 // ignore baselines at or below this (guards against division by near zero)
}

// Anomaly fires when Expr deviates from its own history.
type Anomaly struct {
	Expr        string
	By          []string
	Method      string // zscore | stddev | mad
	K           float64
	Window      time.Duration
	Seasonality string // none | daily | weekly
	WarmUp      time.Duration
	MinVolume   *Guard
}

// Guard is a condition on another expression that must hold for the alert to fire.
type Guard struct {
	Expr  string
	Value float64
	Pos   Pos
}

// Trend fires on sustained movement in the wrong direction before a threshold is crossed.
type Trend struct {
	Expr    string
	By      []string
	Method  string // predict | deriv
	Window  time.Duration
	Horizon time.Duration // predict only
	Op      string        // > or <
	Limit   float64       // predict: the value that will be reached; deriv: the slope per second
}

// Absence fires when data stops (Selector has no samples for For) or volume drops
// (Expr falls below Ratio of its value Offset ago).
type Absence struct {
	Selector string
	Expr     string
	By       []string
	Ratio    float64
	Offset   time.Duration
	MinPrev  float64
}

// SLO is an objective on good/total events, compiled to multi-window multi-burn-rate alerts.
// Good, Bad and Total are PromQL expressions containing the placeholder {{window}}.
type SLO struct {
	Good      string
	Bad       string
	Total     string
	By        []string
	Objective float64 // percent, 0 < objective < 100
	Period    time.Duration
	MinEvents float64 // minimum events in the last hour for any burn alert to fire
	Disable   []string
	SlowTier  string // tier of the slow-burn (ticket) alert
}

// WindowPlaceholder is replaced by each window in SLO expressions.
const WindowPlaceholder = "{{window}}"

// BurnWindows are the long windows of the four burn-rate pairs, in order fast to slow.
var burnWindows = []string{"1h", "6h", "1d", "3d"}

// BurnWindows returns the long-window names that SLO.Disable may list.
func BurnWindows() []string { return append([]string(nil), burnWindows...) }

// Gates is the deployment gate: checks a candidate version must pass before rollout.
type Gates struct {
	Window               time.Duration
	MaxAccuracyDrop      float64
	MaxAccuracyDropSet   bool
	NoFiringTiers        []string
	MaxDriftedShare      float64
	MaxDriftedShareSet   bool
	MaxP95Latency        float64
	MaxP95LatencySet     bool
	MaxCostPerRequest    float64
	MaxCostPerRequestSet bool
	Pos                  Pos
}

// EvidenceHints order an incident's investigation; they never decide a verdict.
type EvidenceHints struct {
	// Features are feature names (or a template such as {{ $labels.feature }}) to rank first
	// among the drifted features.
	Features []string
	// Causes are cause names (EvidenceCauses) to list first in the evidence report.
	Causes []string
}

// EvidenceCauses are the causes an evidence hint may name: incidentd's evidence causes (a
// test in alertmanager-webhook/evidence keeps the two lists equal).
func EvidenceCauses() []string {
	return []string{"inputs_changed", "version_mismatch", "external_api_change", "adversarial_inputs", "capacity"}
}

// The annotations that carry the hints to incidentd, comma-separated.
const (
	AnnotationEvidenceFeatures = "opscentre_evidence_features"
	AnnotationEvidenceCauses   = "opscentre_evidence_causes"
)
