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

const (
	promGroup = "model, version, feature"
	promBin   = "model, version, feature, bin"
)

func currentShares(window string) string {
	inc := "aiops_feature_values_total{bin!=\"" + NullBin + "\"}"
	if window != "" {
		inc = "increase(" + inc + "[" + window + "])"
	}
	return "(sum by (" + promBin + ") (" + inc + ") / on (" + promGroup + ") group_left () sum by (" + promGroup + ") (" + inc + "))"
}

const referenceShares = "max by (" + promBin + ") (aiops_feature_reference_ratio)"

// PromQLPSI returns the PromQL of PSI per model, version and feature over a range such as "1h";
// an empty range uses the counters' whole lifetime.
func PromQLPSI(window string) string {
	c := "clamp_min(" + currentShares(window) + ", 1e-4)"
	r := "clamp_min(" + referenceShares + ", 1e-4)"
	return "sum by (" + promGroup + ") ((" + r + " - " + c + ") * ln(" + r + " / " + c + "))"
}

// PromQLJS returns the PromQL of the Jensen–Shannon distance (natural log) per model, version
// and feature over a range; an empty range uses the counters' whole lifetime.
func PromQLJS(window string) string {
	c, r := currentShares(window), referenceShares
	m := "(" + r + " + " + c + ")"
	term := func(p string) string {
		return "sum by (" + promGroup + ") ((" + p + " > 0) * ln(2 * (" + p + " > 0) / " + m + "))"
	}
	return "sqrt((" + term(r) + " + " + term(c) + ") / 2)"
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
	cc, rc := "clamp_min("+cur+", 1e-4)", "clamp_min("+ref+", 1e-4)"
	m := "(" + ref + " + " + cur + ")"
	term := func(p string) string {
		return "sum by (" + promGroup + ") ((" + p + " > 0) * ln(2 * (" + p + " > 0) / " + m + "))"
	}
	return []RecordingRule{
		{Record: cur, Expr: currentShares(window)},
		{Record: ref, Expr: referenceShares},
		{Record: "aiops:feature_psi:" + window, Expr: "sum by (" + promGroup + ") ((" + rc + " - " + cc + ") * ln(" + rc + " / " + cc + "))"},
		{Record: "aiops:feature_js:" + window, Expr: "sqrt((" + term(ref) + " + " + term(cur) + ") / 2)"},
	}
}
