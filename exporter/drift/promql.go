package drift

// PromQL that recomputes PSI and JS from the exported bin counters, so drift can be judged
// across exporter replicas and over any range. The exporter exports, per feature and coarse bin,
// aiops_feature_values_total (a counter of window values, every bin from zero on) and
// aiops_feature_reference_ratio (the frozen reference share, the same on every replica).
//
// Window shares C sum the counters over replicas and divide by the feature total; reference
// shares R take the max over replicas. PSI fills empty shares with clamp_min(·, 1e-4), which
// equals Evidently's fill (and PSI here) whenever every non-empty share is at least 1e-4 — true
// for 10 or 20 quantile bins unless a bin is all but empty. JS needs no fill: terms with a zero
// share are dropped by the `> 0` filters, which is 0·ln 0 = 0.

import "strings"

const (
	promGroup = "model, version, feature"
	promBin   = "model, version, feature, bin"
)

// selector is metric with the label matchers, such as `model=~"$model"` (a dashboard's
// variables); none gives the bare name.
func selector(metric string, matchers []string) string {
	if len(matchers) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(matchers, ", ") + "}"
}

func currentShares(window string, matchers []string) string {
	inc := selector("aiops_feature_values_total", append([]string{"bin!=\"" + NullBin + "\""}, matchers...))
	if window != "" {
		inc = "increase(" + inc + "[" + window + "])"
	}
	return "(sum by (" + promBin + ") (" + inc + ") / on (" + promGroup + ") group_left () sum by (" + promGroup + ") (" + inc + "))"
}

func referenceShares(matchers []string) string {
	return "max by (" + promBin + ") (" + selector("aiops_feature_reference_ratio", matchers) + ")"
}

// PromQLPSI returns the PromQL of PSI per model, version and feature over a range such as "1h"
// or Grafana's "$__rate_interval"; an empty range uses the counters' whole lifetime. Matchers
// such as `model=~"$model"` restrict both the counters and the reference.
func PromQLPSI(window string, matchers ...string) string {
	return psi(referenceShares(matchers), currentShares(window, matchers))
}

// PromQLJS returns the PromQL of the Jensen–Shannon distance (natural log) per model, version
// and feature over a range, with matchers, as PromQLPSI.
func PromQLJS(window string, matchers ...string) string {
	return js(referenceShares(matchers), currentShares(window, matchers))
}

// psi is PSI of the reference shares r against the current shares c, empty shares filled.
func psi(r, c string) string {
	r, c = "clamp_min("+r+", 1e-4)", "clamp_min("+c+", 1e-4)"
	return "sum by (" + promGroup + ") ((" + r + " - " + c + ") * ln(" + r + " / " + c + "))"
}

// js is the Jensen–Shannon distance of the shares r and c. The divergence of identical shares
// can round to a hair below zero, whose square root is NaN: it is clamped to zero first, as JS
// in Go does.
func js(r, c string) string {
	m := "(" + r + " + " + c + ")"
	term := func(p string) string {
		return "sum by (" + promGroup + ") ((" + p + " > 0) * ln(2 * (" + p + " > 0) / " + m + "))"
	}
	return "sqrt(clamp_min((" + term(r) + " + " + term(c) + ") / 2, 0))"
}

// RecordingRule is one Prometheus recording rule.
type RecordingRule struct {
	Record string `yaml:"record"`
	Expr   string `yaml:"expr"`
}

// PromQLRecordingRules returns recording rules that compute the window shares, the reference
// shares, PSI and JS over a range such as "1h": aiops:feature_bin_share:ratio_<range>,
// aiops:feature_reference_share:max, aiops:feature_psi:<range> and aiops:feature_js:<range>.
// They split PromQLPSI and PromQLJS into steps that dashboards and alerts can reuse.
func PromQLRecordingRules(window string) []RecordingRule {
	cur := "aiops:feature_bin_share:ratio_" + window
	ref := "aiops:feature_reference_share:max"
	return []RecordingRule{
		{Record: cur, Expr: currentShares(window, nil)},
		{Record: ref, Expr: referenceShares(nil)},
		{Record: "aiops:feature_psi:" + window, Expr: psi(ref, cur)},
		{Record: "aiops:feature_js:" + window, Expr: js(ref, cur)},
	}
}
