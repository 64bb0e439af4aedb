// Package evidence gathers, when an incident opens, the facts that test the common root causes
// of AI incidents — inputs changed, a model version mismatch, an external API change, adversarial
// inputs, capacity — from the aiops_exporter families in Prometheus, and judges each cause by
// documented rules: supported, not supported, or unknown when the data is missing.
//
// Gathering (gather.go) runs a fixed, bounded set of PromQL queries, each comparing the window
// up to detection with the same window one baseline earlier; judging (rules.go) is pure code over what the queries
// returned, so the rules are table-tested on recorded results without Prometheus. Similar past
// incidents are ranked in similar.go, also without I/O.
package evidence

import (
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// Verdict is a cause's judgement.
type Verdict = incidentapi.EvidenceVerdict

// The verdicts. Unknown means the data needed to judge was missing (or Prometheus failed): it
// never stands in for not supported.
const (
	Supported    = incidentapi.Supported
	NotSupported = incidentapi.NotSupported
	Unknown      = incidentapi.Unknown
)

// Cause names, the seed's Investigate list (the API declares them).
const (
	InputsChanged   = incidentapi.CauseInputsChanged
	VersionMismatch = incidentapi.CauseVersionMismatch
	ExternalAPI     = incidentapi.CauseExternalAPI
	Adversarial     = incidentapi.CauseAdversarial
	Capacity        = incidentapi.CauseCapacity
)

// Causes lists the causes in the order reports show them.
var Causes = []string{InputsChanged, VersionMismatch, ExternalAPI, Adversarial, Capacity}

// Subject is what the evidence is about: the incident's model (and version, when the alert
// names one) at the time it was detected.
type Subject struct {
	Model, Version string
	DetectedAt     time.Time
	// Deployments are the change log's deployments of this model (time and what changed),
	// which version_mismatch weighs beside the traffic.
	Deployments []Deployment
	// Hints are the opening alert's evidence hints (hints.go): they order the report, never
	// a verdict.
	Hints Hints
}

// Deployment is one change-log entry of the subject's model.
type Deployment struct {
	At      time.Time
	Summary string
}

// Finding is one fact behind a verdict: a number now and, where it compares, before; the
// PromQL that produced it and the dashboard panel that shows it.
type Finding = incidentapi.EvidenceFinding

// Cause is one root cause with its verdict, a one-line reason and its findings.
type Cause = incidentapi.EvidenceCause

// Report is the evidence of one incident.
type Report = incidentapi.EvidenceReport
