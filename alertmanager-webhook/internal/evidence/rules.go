package evidence

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Rules are the thresholds of the verdicts. Every rule compares the window up to detection
// ("now") with the window that ended one baseline earlier ("before").
type Rules struct {
	// NullRise and OutlierRise are the absolute rises of a feature's null or outlier ratio
	// that count as an input change (0.1: ten more events in a hundred).
	NullRise, OutlierRise float64
	// VolumeFactor is the change of traffic, up or down, that counts as an input change.
	VolumeFactor float64
	// ErrorFactor is the rise of an error type's rate, and ErrorFloor the share of calls it
	// must reach, for an external API change.
	ErrorFactor, ErrorFloor float64
	// LatencyFactor is the rise of p95 latency that counts for capacity or an external API.
	LatencyFactor float64
	// LoadFactor is the rise of request rate, QueueFactor of queue depth, that make a
	// latency rise a capacity problem rather than the provider's.
	LoadFactor, QueueFactor float64
	// CPUBusy is the node CPU busy share that counts as saturation.
	CPUBusy float64
	// SpendFactor is the rise of tokens per call, LengthFactor of p95 input length, that
	// count as adversarial or injected inputs.
	SpendFactor, LengthFactor float64
	// VersionGap is how far (absolute accuracy) one version must fall behind the model's
	// best other version, when it was not that far behind before, for a version mismatch.
	VersionGap float64
}

// DefaultRules are the documented defaults (README, "Evidence").
func DefaultRules() Rules {
	return Rules{
		NullRise: 0.1, OutlierRise: 0.1, VolumeFactor: 2,
		ErrorFactor: 2, ErrorFloor: 0.01,
		LatencyFactor: 1.5, LoadFactor: 1.5, QueueFactor: 2, CPUBusy: 0.9,
		SpendFactor: 2, LengthFactor: 2, VersionGap: 0.1,
	}
}

// Series is one query's result as label value → number, now and before. A query without a
// grouping label has one entry under "".
type Series struct {
	Query  string
	Now    map[string]float64
	Before map[string]float64
	// Err is set when the query failed or timed out: the causes that need it are unknown.
	Err error
}

// Observations are the gathered series by query name (queries.go).
type Observations map[string]Series

func (o Observations) get(name string) (Series, bool) {
	s, ok := o[name]
	return s, ok && s.Err == nil && (len(s.Now) > 0 || len(s.Before) > 0)
}

// failed reports whether a query needed for a verdict failed, which makes it unknown.
func (o Observations) failed(names ...string) bool {
	for _, n := range names {
		if s, ok := o[n]; ok && s.Err != nil {
			return true
		}
	}
	return false
}

// Judge applies the rules to the observations: one cause per entry of Causes, in that order
// except that the subject's hinted causes come first (flagged Hinted).
func Judge(o Observations, s Subject, r Rules) []Cause {
	return orderByHints([]Cause{
		inputsChanged(o, s.Hints.Features, r),
		versionMismatch(o, s, r),
		externalAPI(o, r),
		adversarial(o, r),
		capacity(o, r),
	}, s.Hints)
}

func ptr(v float64) *float64 { return &v }

func finding(name string, s Series, key string, panel string) Finding {
	f := Finding{Name: name, Query: s.Query, Panel: panel}
	if v, ok := s.Now[key]; ok {
		f.Now = ptr(v)
	}
	if v, ok := s.Before[key]; ok {
		f.Before = ptr(v)
	}
	return f
}

// ratio is now/before; +Inf when it rose from zero, NaN when neither is known.
func ratio(now, before float64) float64 {
	switch {
	case before > 0:
		return now / before
	case now > 0:
		return math.Inf(1)
	}
	return math.NaN()
}

func total(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// inputsChanged: a feature the exporter judged drifted, a null or outlier ratio that rose, or
// traffic that grew or fell by the volume factor — what a broken data pipeline does. The
// hinted features come first among the drifted ones and the quality findings.
func inputsChanged(o Observations, hinted []string, r Rules) Cause {
	c := Cause{Name: InputsChanged}
	var reasons []string
	drifted, haveDrift := o.get(qDrifted)
	scores, _ := o.get(qDriftScore)
	if haveDrift {
		// The shifted features first, the hinted ones before the others, then by drift score.
		feats := sortedKeys(drifted.Now)
		sort.SliceStable(feats, func(i, j int) bool {
			di, dj := drifted.Now[feats[i]], drifted.Now[feats[j]]
			if di != dj {
				return di > dj
			}
			hi, hj := hintRank(hinted, feats[i]), hintRank(hinted, feats[j])
			if hi != hj {
				return hi < hj
			}
			if di != dj {
				return di > dj
			}
			return scores.Now[feats[i]] > scores.Now[feats[j]]
		})
		var shifted []string
		for _, f := range feats {
			if drifted.Now[f] == 1 {
				shifted = append(shifted, f)
				fd := finding("drifted feature "+f, scores, f, PanelDrift)
				fd.Note = "PSI vs the reference; the exporter judged it drifted"
				c.Findings = append(c.Findings, fd)
			}
		}
		if len(shifted) > 0 {
			reasons = append(reasons, "drifted: "+strings.Join(shifted, ", "))
		}
	}
	haveQuality := false
	for _, q := range []struct {
		name, what string
		rise       float64
	}{{qNulls, "null ratio", r.NullRise}, {qOutliers, "outlier ratio", r.OutlierRise}} {
		panel := PanelNulls
		if q.name == qOutliers {
			panel = PanelOutliers
		}
		s, ok := o.get(q.name)
		if !ok {
			continue
		}
		haveQuality = true
		feats := sortedKeys(s.Now)
		sort.SliceStable(feats, func(i, j int) bool { return hintRank(hinted, feats[i]) < hintRank(hinted, feats[j]) })
		for _, f := range feats {
			if s.Now[f]-s.Before[f] >= q.rise {
				reasons = append(reasons, fmt.Sprintf("%s of %s rose from %.3g to %.3g", q.what, f, s.Before[f], s.Now[f]))
				c.Findings = append(c.Findings, finding(q.what+" of "+f, s, f, panel))
			}
		}
	}
	vol, haveVol := o.get(qVolume)
	if haveVol {
		k := ratio(total(vol.Now), total(vol.Before))
		if k >= r.VolumeFactor || k <= 1/r.VolumeFactor {
			reasons = append(reasons, fmt.Sprintf("traffic changed ×%.2g", k))
			c.Findings = append(c.Findings, finding("events per second", vol, "", PanelVolume))
		}
	}
	switch {
	case len(reasons) > 0:
		c.Verdict, c.Reason = Supported, strings.Join(reasons, "; ")
	case o.failed(qDrifted, qNulls, qOutliers, qVolume):
		c.Verdict, c.Reason = Unknown, "a query failed"
	case haveDrift || haveQuality:
		c.Verdict, c.Reason = NotSupported, "no feature drifted, null and outlier ratios steady, traffic steady"
	case haveVol:
		c.Verdict, c.Reason = Unknown, "traffic steady, but no drift or data-quality series for this model"
	default:
		c.Verdict, c.Reason = Unknown, "no drift or data-quality series for this model"
	}
	return c
}

// versionMismatch: a version serving now that served nothing before, a version whose
// accuracy fell behind the model's other versions (a decaying canary), or a deployment of
// the model in the change log within the baseline before detection.
func versionMismatch(o Observations, s Subject, r Rules) Cause {
	c := Cause{Name: VersionMismatch}
	var reasons []string
	for _, d := range s.Deployments {
		reasons = append(reasons, fmt.Sprintf("deployment %s at %s", d.Summary, d.At.UTC().Format("15:04:05Z")))
		c.Findings = append(c.Findings, Finding{Name: "change log: " + d.Summary, Note: d.At.UTC().Format("2006-01-02T15:04:05Z")})
	}
	vs, ok := o.get(qVersions)
	if ok {
		for _, v := range sortedKeys(vs.Now) {
			if vs.Now[v] > 0 && vs.Before[v] == 0 {
				reasons = append(reasons, "version "+v+" first served traffic")
				c.Findings = append(c.Findings, finding("new version "+v, vs, v, PanelVersions))
			}
		}
	}
	if acc, ok := o.get(qAccuracy); ok && len(acc.Now) >= 2 {
		for _, v := range sortedKeys(acc.Now) {
			now, best := acc.Now[v], bestOther(acc.Now, v)
			if best-now < r.VersionGap {
				continue
			}
			// Already as far behind before: a known weaker version, not this incident's cause.
			if bv, had := acc.Before[v]; had && len(acc.Before) >= 2 && bestOther(acc.Before, v)-bv >= r.VersionGap {
				continue
			}
			reasons = append(reasons, fmt.Sprintf("version %s accuracy %.3g, behind %.3g of the other versions", v, now, best))
			c.Findings = append(c.Findings, finding("accuracy of version "+v, acc, v, PanelAccuracy))
		}
	}
	switch {
	case len(reasons) > 0:
		c.Verdict, c.Reason = Supported, strings.Join(reasons, "; ")
	case o.failed(qVersions):
		c.Verdict, c.Reason = Unknown, "a query failed"
	case ok:
		c.Verdict, c.Reason = NotSupported, "the same versions served traffic before, and no deployment was recorded"
		if acc, have := o.get(qAccuracy); have && len(acc.Now) >= 2 {
			c.Reason = "the same versions served traffic before, none fell behind the others in accuracy, and no deployment was recorded"
		}
	default:
		c.Verdict, c.Reason = Unknown, "no traffic series for this model"
	}
	return c
}

// bestOther is the highest value of m other than key's.
func bestOther(m map[string]float64, key string) float64 {
	best := math.Inf(-1)
	for k, v := range m {
		if k != key && v > best {
			best = v
		}
	}
	return best
}

// isLLM reports whether the model reports tokens: only then does it call a language model
// behind an API, and only then can its inputs be prompts.
func isLLM(o Observations) (yes, known bool) {
	t, ok := o.get(qTokensPerCall)
	if o.failed(qTokensPerCall) {
		return false, false
	}
	return ok && (total(t.Now) > 0 || total(t.Before) > 0), true
}

// externalAPI: for a model calling a third-party LLM, an error type whose rate rose by the
// error factor to at least the floor share of calls, or p95 latency risen without more load.
func externalAPI(o Observations, r Rules) Cause {
	c := Cause{Name: ExternalAPI}
	llm, known := isLLM(o)
	if !known {
		return Cause{Name: ExternalAPI, Verdict: Unknown, Reason: "a query failed"}
	}
	if !llm {
		return Cause{Name: ExternalAPI, Verdict: NotSupported, Reason: "the model reports no tokens: it calls no third-party LLM"}
	}
	var reasons []string
	vol, _ := o.get(qVolume)
	calls := total(vol.Now)
	if errs, ok := o.get(qErrors); ok {
		for _, typ := range sortedKeys(errs.Now) {
			now := errs.Now[typ]
			if ratio(now, errs.Before[typ]) >= r.ErrorFactor && calls > 0 && now/calls >= r.ErrorFloor {
				reasons = append(reasons, fmt.Sprintf("%s errors rose to %.2g/s", typ, now))
				c.Findings = append(c.Findings, finding("errors of type "+typ, errs, typ, PanelErrors))
			}
		}
	}
	if lat, ok := o.get(qLatencyP95); ok && !loadRose(o, r) {
		if k := ratio(lat.Now[""], lat.Before[""]); k >= r.LatencyFactor && !math.IsInf(k, 1) {
			reasons = append(reasons, fmt.Sprintf("p95 latency ×%.2g without more load", k))
			c.Findings = append(c.Findings, finding("p95 latency", lat, "", PanelLatency))
		}
	}
	switch {
	case len(reasons) > 0:
		c.Verdict, c.Reason = Supported, strings.Join(reasons, "; ")
	case o.failed(qErrors, qLatencyP95):
		c.Verdict, c.Reason = Unknown, "a query failed"
	default:
		c.Verdict, c.Reason = NotSupported, "error mix and provider latency steady"
	}
	return c
}

// adversarial: for a generative model, tokens per call or p95 input length risen by their
// factors — runaway prompts, injected context, abuse.
func adversarial(o Observations, r Rules) Cause {
	c := Cause{Name: Adversarial}
	llm, known := isLLM(o)
	length, haveLength := o.get(qInputLengthP95)
	if !known {
		return Cause{Name: Adversarial, Verdict: Unknown, Reason: "a query failed"}
	}
	if !llm && !haveLength {
		return Cause{Name: Adversarial, Verdict: NotSupported, Reason: "the model reports neither tokens nor input text length: not a generative model"}
	}
	var reasons []string
	if tpc, ok := o.get(qTokensPerCall); ok {
		if k := ratio(tpc.Now[""], tpc.Before[""]); k >= r.SpendFactor && !math.IsNaN(k) {
			reasons = append(reasons, fmt.Sprintf("tokens per call ×%.2g", k))
			c.Findings = append(c.Findings, finding("tokens per call", tpc, "", PanelTokens))
		}
	}
	if haveLength {
		if k := ratio(length.Now[""], length.Before[""]); k >= r.LengthFactor && !math.IsNaN(k) {
			reasons = append(reasons, fmt.Sprintf("p95 input length ×%.2g", k))
			c.Findings = append(c.Findings, finding("p95 input length", length, "", PanelInputLength))
		}
	}
	switch {
	case len(reasons) > 0:
		c.Verdict, c.Reason = Supported, strings.Join(reasons, "; ")
	case o.failed(qInputLengthP95):
		c.Verdict, c.Reason = Unknown, "a query failed"
	default:
		c.Verdict, c.Reason = NotSupported, "tokens per call and input length steady"
	}
	return c
}

// loadRose reports more requests or a deeper queue than before.
func loadRose(o Observations, r Rules) bool {
	if vol, ok := o.get(qVolume); ok {
		if k := ratio(total(vol.Now), total(vol.Before)); k >= r.LoadFactor && !math.IsNaN(k) {
			return true
		}
	}
	if q, ok := o.get(qQueue); ok && q.Now[""] > 0 {
		if k := ratio(q.Now[""], q.Before[""]); k >= r.QueueFactor {
			return true
		}
	}
	return false
}

// capacity: p95 latency risen by the latency factor together with more load (requests or
// queue depth) or a saturated node CPU.
func capacity(o Observations, r Rules) Cause {
	c := Cause{Name: Capacity}
	lat, ok := o.get(qLatencyP95)
	if !ok {
		if o.failed(qLatencyP95) {
			return Cause{Name: Capacity, Verdict: Unknown, Reason: "a query failed"}
		}
		return Cause{Name: Capacity, Verdict: Unknown, Reason: "no latency series for this model"}
	}
	k := ratio(lat.Now[""], lat.Before[""])
	latUp := k >= r.LatencyFactor && !math.IsNaN(k)
	var load []string
	if vol, ok := o.get(qVolume); ok {
		if kv := ratio(total(vol.Now), total(vol.Before)); kv >= r.LoadFactor && !math.IsNaN(kv) {
			load = append(load, fmt.Sprintf("requests ×%.2g", kv))
			c.Findings = append(c.Findings, finding("events per second", vol, "", PanelVolume))
		}
	}
	if q, ok := o.get(qQueue); ok && q.Now[""] > 0 {
		if kq := ratio(q.Now[""], q.Before[""]); kq >= r.QueueFactor {
			load = append(load, fmt.Sprintf("queue depth %.3g (was %.3g)", q.Now[""], q.Before[""]))
			c.Findings = append(c.Findings, finding("queue depth", q, "", PanelQueue))
		}
	}
	if cpu, ok := o.get(qNodeCPU); ok && cpu.Now[""] >= r.CPUBusy {
		load = append(load, fmt.Sprintf("node CPU %.0f%% busy", 100*cpu.Now[""]))
		c.Findings = append(c.Findings, finding("node CPU busy", cpu, "", PanelNodeCPU))
	}
	switch {
	case latUp && len(load) > 0:
		c.Findings = append([]Finding{finding("p95 latency", lat, "", PanelLatency)}, c.Findings...)
		c.Verdict, c.Reason = Supported, fmt.Sprintf("p95 latency ×%.2g with %s", k, strings.Join(load, ", "))
	case latUp:
		c.Findings = []Finding{finding("p95 latency", lat, "", PanelLatency)}
		c.Verdict, c.Reason = NotSupported, fmt.Sprintf("p95 latency ×%.2g, but neither load, queue nor CPU rose", k)
	default:
		c.Findings = nil
		c.Verdict, c.Reason = NotSupported, "p95 latency steady"
	}
	return c
}
