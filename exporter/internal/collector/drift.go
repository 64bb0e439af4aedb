package collector

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/config"
	"github.com/opscentre/opscentre/exporter/drift"
	"github.com/opscentre/opscentre/exporter/internal/reference"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

type driftDescs struct {
	score, pvalue, drifted, ratio, threshold, disabled *prometheus.Desc
	predScore, values, refRatio, unbinned              *prometheus.Desc
	reconError, reconUpper, reconLower, reconDrifted   *prometheus.Desc
	embedDistance, embedThreshold, embedDrifted        *prometheus.Desc
}

func newDriftDescs() driftDescs {
	return driftDescs{
		score:     prometheus.NewDesc("aiops_feature_drift_score", "Drift of a feature over the sliding window against the reference, by method (psi, kl, js, hellinger, wasserstein normed by the reference std, and the ks/chi2/z statistics).", labels("feature", "method"), nil),
		pvalue:    prometheus.NewDesc("aiops_feature_drift_pvalue", "p-value of a feature's drift test (ks, chi2, z) over the sliding window against the reference.", labels("feature", "test"), nil),
		drifted:   prometheus.NewDesc("aiops_feature_drifted", "1 if the feature's judging method finds drift over the sliding window, else 0; absent when the feature is not judged (see aiops_feature_drift_test_disabled).", labels("feature"), nil),
		ratio:     prometheus.NewDesc("aiops_drifted_features_ratio", "Share of judged input features that drifted; the dataset has drifted at 0.5 or more.", mv, nil),
		threshold: prometheus.NewDesc("aiops_feature_drift_threshold", "Threshold of the method judging the feature: a distance at or above it, or a p-value below it (at or below for ks), is drift.", labels("feature", "method"), nil),
		disabled:  prometheus.NewDesc("aiops_feature_drift_test_disabled", "1 when a feature's drift test is not run as configured: not judged (reference_empty, reference_too_small, window_empty, window_too_small) or switched (method_not_applicable, unseen_values); test is the method it would use.", labels("feature", "test", "reason"), nil),
		predScore: prometheus.NewDesc("aiops_prediction_drift_score", "Drift of the model's output distribution over the sliding window against the reference, by method.", labels("method"), nil),
		values:    prometheus.NewDesc("aiops_feature_values_total", "Values counted in the reference's frozen bins since the reference was loaded (bin __null__ counts nulls); with aiops_feature_reference_ratio, PromQL computes PSI and JS over any range and across replicas.", labels("feature", "bin"), nil),
		unbinned:  prometheus.NewDesc("aiops_feature_drift_unbinned_total", "Values left out of drift because their type does not fit the reference's kind for the feature (for example strings for a feature the reference holds as numeric); upload a matching reference.", labels("feature"), nil),
		refRatio:  prometheus.NewDesc("aiops_feature_reference_ratio", "Share of the reference's non-null values in each frozen bin.", labels("feature", "bin"), nil),

		reconError:     prometheus.NewDesc("aiops_reconstruction_error", "Multivariate drift: mean data-reconstruction error of the events in the sliding window (standardised numeric features projected on the reference's principal components keeping 0.65 of its variance; Euclidean distance to the projection).", mv, nil),
		reconUpper:     prometheus.NewDesc("aiops_reconstruction_error_upper_bound", "Upper bound of the reference's mean reconstruction error for a window of this many events: mean + 3·std/sqrt(n).", mv, nil),
		reconLower:     prometheus.NewDesc("aiops_reconstruction_error_lower_bound", "Lower bound of the reference's mean reconstruction error for a window of this many events: mean - 3·std/sqrt(n), at least 0.", mv, nil),
		embedDistance:  prometheus.NewDesc("aiops_embedding_drift_distance", "Embedding drift: Euclidean distance between the mean embedding of the events in the sliding window and the reference's.", mv, nil),
		embedThreshold: prometheus.NewDesc("aiops_embedding_drift_threshold", "95% quantile of that distance with no drift, for a window of this many embeddings (from the reference's spread).", mv, nil),
		embedDrifted:   prometheus.NewDesc("aiops_embedding_drifted", "1 when the embedding distance exceeds its threshold, else 0.", mv, nil),
		reconDrifted:   prometheus.NewDesc("aiops_reconstruction_drifted", "1 when the window's mean reconstruction error leaves its bounds (the features' joint distribution changed), else 0.", mv, nil),
	}
}

func (d *driftDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{d.score, d.pvalue, d.drifted, d.ratio, d.threshold, d.disabled, d.predScore, d.values, d.refRatio, d.unbinned,
		d.reconError, d.reconUpper, d.reconLower, d.reconDrifted, d.embedDistance, d.embedThreshold, d.embedDrifted}
}

// DriftConfig is the drift.Config of a model version: the per-feature method and threshold
// overrides of the configuration, with the prediction kept out of the dataset share.
func DriftConfig(cfg *config.Config, model, version string) drift.Config {
	dc := drift.Config{Outputs: []string{reference.PredictionFeature}}
	mc, ok := cfg.Models[model]
	if !ok {
		return dc
	}
	for name, f := range mc.VersionFeatures(version) {
		if f.Drift == nil {
			continue
		}
		if f.Drift.Method != "" {
			if dc.Method == nil {
				dc.Method = map[string]drift.Method{}
			}
			dc.Method[name] = drift.Method(f.Drift.Method)
		}
		if f.Drift.Threshold != nil {
			if dc.ThresholdFor == nil {
				dc.ThresholdFor = map[string]float64{}
			}
			dc.ThresholdFor[name] = *f.Drift.Threshold
		}
	}
	return dc
}

// collectDrift compares the window with the reference and writes the drift families.
func (c *Collector) collectDrift(ch chan<- prometheus.Metric, r *state.DriftReading) {
	d := &c.d.drift
	m, v := r.Model, r.Version
	for i, f := range r.Profile.Features {
		names := f.BinLabels()
		h := &r.Total.Histograms[i]
		for b, n := range f.Bins(h.Counts) {
			ch <- constMetric(d.values, prometheus.CounterValue, n, m, v, f.Name, names[b])
		}
		ch <- constMetric(d.values, prometheus.CounterValue, h.Nulls, m, v, f.Name, drift.NullBin)
		for b, s := range f.ReferenceShares() {
			ch <- constMetric(d.refRatio, prometheus.GaugeValue, s, m, v, f.Name, names[b])
		}
	}
	rep, err := drift.Compare(r.Profile, r.Window, DriftConfig(c.st.Config(), m, v))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(d.score, err)
		return
	}
	for _, fr := range rep.Features {
		if fr.Feature == reference.PredictionFeature {
			for _, s := range fr.Scores {
				if !math.IsNaN(s.Value) {
					ch <- constMetric(d.predScore, prometheus.GaugeValue, s.Value, m, v, string(s.Method))
				}
			}
			continue
		}
		for _, s := range fr.Scores {
			if !math.IsNaN(s.Value) {
				ch <- constMetric(d.score, prometheus.GaugeValue, s.Value, m, v, fr.Feature, string(s.Method))
			}
			if s.Method.IsTest() && !math.IsNaN(s.PValue) {
				ch <- constMetric(d.pvalue, prometheus.GaugeValue, s.PValue, m, v, fr.Feature, string(s.Method))
			}
		}
		if fr.Reason != "" {
			ch <- constMetric(d.disabled, prometheus.GaugeValue, 1, m, v, fr.Feature, string(fr.Method), fr.Reason)
		}
		if !fr.Judged {
			continue
		}
		ch <- constMetric(d.drifted, prometheus.GaugeValue, boolValue(fr.Drifted), m, v, fr.Feature)
		ch <- constMetric(d.threshold, prometheus.GaugeValue, fr.Threshold, m, v, fr.Feature, string(fr.Method))
	}
	if rep.Judged > 0 {
		ch <- constMetric(d.ratio, prometheus.GaugeValue, rep.Share, m, v)
	}
	if rc, w := r.Profile.Reconstruction, r.Reconstruction; rc != nil && w != nil && w.N > 0 {
		res := rc.Judge(w, 0)
		ch <- constMetric(d.reconError, prometheus.GaugeValue, res.Error, m, v)
		ch <- constMetric(d.reconUpper, prometheus.GaugeValue, res.Upper, m, v)
		ch <- constMetric(d.reconLower, prometheus.GaugeValue, res.Lower, m, v)
		ch <- constMetric(d.reconDrifted, prometheus.GaugeValue, boolValue(res.Drifted), m, v)
	}
	if ep, w := r.Profile.Embedding, r.Embedding; ep != nil && w != nil && w.N > 0 {
		res := ep.Judge(w, 0)
		ch <- constMetric(d.embedDistance, prometheus.GaugeValue, res.Distance, m, v)
		ch <- constMetric(d.embedThreshold, prometheus.GaugeValue, res.Threshold, m, v)
		ch <- constMetric(d.embedDrifted, prometheus.GaugeValue, boolValue(res.Drifted), m, v)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
