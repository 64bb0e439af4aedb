package collector

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opscentre/opscentre/exporter/internal/performance"
	"github.com/opscentre/opscentre/exporter/internal/state"
)

// MacroClass is the class label of the macro (unweighted mean over classes) precision, recall
// and F1.
const MacroClass = "__macro__"

type perfDescs struct {
	accuracy, precision, recall, f1, rmse, mae, logLoss, brier *prometheus.Desc
	estAccuracy, labeled, confusion, errorSum, labelDelay      *prometheus.Desc
	awaiting, evicted, labelResults, calibrated                *prometheus.Desc
	estPrecision, estRecall, estF1                             *prometheus.Desc
	estROCAUC, rocAUC, scoreBin, scoreBelow                    *prometheus.Desc
}

// ROCExportBins is how many score bins of a boolean model's labelled predictions are exported
// as aiops_model_score_bin_total and aiops_model_score_below_total (a divisor of
// performance.DefaultROCBins): enough for the PromQL ROC AUC to lie within its tie bound of
// the exact one (see exporter/drift/README.md), few enough series.
const ROCExportBins = 20

func newPerfDescs() perfDescs {
	return perfDescs{
		accuracy:     prometheus.NewDesc("aiops_model_accuracy", "Accuracy of the predictions labelled in the sliding window (by label time).", mv, nil),
		precision:    prometheus.NewDesc("aiops_model_precision", "Precision per class of the predictions labelled in the sliding window; class=\"__macro__\" is the unweighted mean.", labels("class"), nil),
		recall:       prometheus.NewDesc("aiops_model_recall", "Recall per class of the predictions labelled in the sliding window; class=\"__macro__\" is the unweighted mean.", labels("class"), nil),
		f1:           prometheus.NewDesc("aiops_model_f1", "F1 per class of the predictions labelled in the sliding window; class=\"__macro__\" is the unweighted mean.", labels("class"), nil),
		rmse:         prometheus.NewDesc("aiops_model_rmse", "Root mean squared error of the regression predictions labelled in the sliding window.", mv, nil),
		mae:          prometheus.NewDesc("aiops_model_mae", "Mean absolute error of the regression predictions labelled in the sliding window.", mv, nil),
		logLoss:      prometheus.NewDesc("aiops_model_log_loss", "Log-loss of the predicted class's score against whether it was right, over the predictions labelled in the sliding window (the binary log-loss for two-class models).", mv, nil),
		brier:        prometheus.NewDesc("aiops_model_brier_score", "Brier score of the predicted class's score against whether it was right, over the predictions labelled in the sliding window.", mv, nil),
		estAccuracy:  prometheus.NewDesc("aiops_model_estimated_accuracy", "Accuracy estimated from the scores of the predictions made in the sliding window, before their labels arrive (CBPE, calibrated per predicted class on the version's labelled reference: its first 100000 labelled predictions with a score).", mv, nil),
		labeled:      prometheus.NewDesc("aiops_predictions_labeled_total", "Predictions joined to their ground truth, by outcome: correct, incorrect (classifiers) or regression.", labels("outcome"), nil),
		confusion:    prometheus.NewDesc("aiops_confusion_total", "Labelled predictions by actual and predicted class.", labels("actual", "predicted"), nil),
		errorSum:     prometheus.NewDesc("aiops_regression_error_sum", "Sums of prediction errors (prediction - label) of labelled regression predictions: kind signed, abs, squared; divide by aiops_predictions_labeled_total{outcome=\"regression\"}.", labels("kind"), nil),
		labelDelay:   prometheus.NewDesc("aiops_label_delay_seconds", "Time from a prediction to its label's timestamp.", mv, nil),
		awaiting:     prometheus.NewDesc("aiops_predictions_awaiting_label", "Predictions kept for their label to arrive.", mv, nil),
		evicted:      prometheus.NewDesc("aiops_predictions_awaiting_evicted_total", "Predictions dropped before their label came: reason capacity (labels.max_awaiting), age (labels.max_age) or memory (labels.max_bytes, oldest first across all versions).", labels("reason"), nil),
		labelResults: prometheus.NewDesc("aiops_labels_total", "Labels received, by result: joined, inline (carried its prediction), pending (prediction not seen yet; version \"__unknown__\" when the label names none), late_join (a pending label joined), duplicate (the first label wins), evicted (a pending label dropped by labels.max_bytes).", labels("result"), nil),
		estPrecision: prometheus.NewDesc("aiops_model_estimated_precision", "Precision of class true of a boolean model, estimated from the scores of the predictions made in the sliding window (binary CBPE).", mv, nil),
		estRecall:    prometheus.NewDesc("aiops_model_estimated_recall", "Recall of class true of a boolean model, estimated from the scores of the predictions made in the sliding window (binary CBPE).", mv, nil),
		estF1:        prometheus.NewDesc("aiops_model_estimated_f1", "F1 of class true of a boolean model, estimated from the scores of the predictions made in the sliding window (binary CBPE).", mv, nil),
		estROCAUC:    prometheus.NewDesc("aiops_model_estimated_roc_auc", "ROC AUC of a boolean model estimated from the scores of the predictions made in the sliding window, before their labels arrive (CBPE: each prediction counts as positive with its calibrated probability).", mv, nil),
		rocAUC:       prometheus.NewDesc("aiops_model_roc_auc", "ROC AUC of a boolean model's score of true over the predictions labelled in the sliding window (200 score bins; ties within a bin count one half).", mv, nil),
		scoreBin:     prometheus.NewDesc("aiops_model_score_bin_total", "Labelled predictions of a boolean model by actual class and score-of-true bin (bin = its lower edge; 20 equal-width bins): with aiops_model_score_below_total, PromQL computes the ROC AUC across replicas and ranges.", labels("actual", "bin"), nil),
		scoreBelow:   prometheus.NewDesc("aiops_model_score_below_total", "Labelled predictions of a boolean model by actual class whose score of true lies in bins below bin.", labels("actual", "bin"), nil),
		calibrated:   prometheus.NewDesc("aiops_model_estimate_calibrated", "1 once the CBPE estimate is calibrated on enough labelled predictions with scores, else 0.", mv, nil),
	}
}

func (d *perfDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{d.accuracy, d.precision, d.recall, d.f1, d.rmse, d.mae, d.logLoss, d.brier,
		d.estAccuracy, d.labeled, d.confusion, d.errorSum, d.labelDelay, d.awaiting, d.evicted, d.labelResults, d.calibrated,
		d.estPrecision, d.estRecall, d.estF1, d.estROCAUC, d.rocAUC, d.scoreBin, d.scoreBelow}
}

// collectPerf writes model performance from ground truth.
func (c *Collector) collectPerf(ch chan<- prometheus.Metric, m, v string, r *state.PerfReading) {
	d := &c.d.perf
	gauge := func(desc *prometheus.Desc, x float64, extra ...string) {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ch <- constMetric(desc, prometheus.GaugeValue, x, append([]string{m, v}, extra...)...)
		}
	}
	ch <- constMetric(d.awaiting, prometheus.GaugeValue, float64(r.Awaiting), m, v)
	for reason, n := range r.Evicted {
		ch <- constMetric(d.evicted, prometheus.CounterValue, float64(n), m, v, reason)
	}
	k := &r.Counters
	if len(k.Outcomes) == 0 {
		return // nothing labelled yet
	}
	ch <- constMetric(d.calibrated, prometheus.GaugeValue, boolValue(r.Calibrated), m, v)
	for outcome, n := range k.Outcomes {
		ch <- constMetric(d.labeled, prometheus.CounterValue, float64(n), m, v, outcome)
	}
	if cm := k.Confusion; cm != nil {
		for a, actual := range cm.Classes {
			for p, predicted := range cm.Classes {
				ch <- constMetric(d.confusion, prometheus.CounterValue, cm.Confusion[a*len(cm.Classes)+p], m, v, actual, predicted)
			}
		}
	}
	if k.Regression.N > 0 {
		ch <- constMetric(d.errorSum, prometheus.CounterValue, k.Regression.SumError, m, v, "signed")
		ch <- constMetric(d.errorSum, prometheus.CounterValue, k.Regression.SumAbsError, m, v, "abs")
		ch <- constMetric(d.errorSum, prometheus.CounterValue, k.Regression.SumSqError, m, v, "squared")
	}
	if k.ROC != nil {
		if coarse, err := k.ROC.Coarse(ROCExportBins); err == nil {
			for _, cls := range []struct {
				actual string
				counts []float64
			}{{"true", coarse.Pos}, {"false", coarse.Neg}} {
				var below float64
				for i, n := range cls.counts {
					bin := performance.BinLabel(i, ROCExportBins)
					ch <- constMetric(d.scoreBin, prometheus.CounterValue, n, m, v, cls.actual, bin)
					ch <- constMetric(d.scoreBelow, prometheus.CounterValue, below, m, v, cls.actual, bin)
					below += n
				}
			}
		}
	}
	if k.LabelDelay.Count > 0 {
		ch <- k.LabelDelay.Metric(d.labelDelay, state.LabelDelayBounds, m, v)
	}
	w := r.Window
	if w == nil {
		return
	}
	if w.Class != nil {
		if cm := w.Class.Metrics(); cm.N > 0 {
			gauge(d.accuracy, cm.Accuracy)
			for _, cl := range cm.Classes {
				if cl.Support+cl.Predicted == 0 {
					continue // a class seen only in earlier sub-windows
				}
				gauge(d.precision, cl.Precision, cl.Class)
				gauge(d.recall, cl.Recall, cl.Class)
				gauge(d.f1, cl.F1, cl.Class)
			}
			gauge(d.precision, cm.MacroPrecision, MacroClass)
			gauge(d.recall, cm.MacroRecall, MacroClass)
			gauge(d.f1, cm.MacroF1, MacroClass)
		}
	}
	if w.Regression.N > 0 {
		gauge(d.rmse, w.Regression.RMSE())
		gauge(d.mae, w.Regression.MAE())
	}
	if w.Prob.N > 0 {
		gauge(d.logLoss, w.Prob.LogLoss())
		gauge(d.brier, w.Prob.Brier())
	}
	if w.Estimate.N > 0 {
		gauge(d.estAccuracy, w.Estimate.Accuracy())
	}
	if w.ROC != nil {
		gauge(d.rocAUC, w.ROC.AUC())
	}
	if w.EstimatedROC != nil {
		gauge(d.estROCAUC, w.EstimatedROC.AUC())
	}
	if b := &w.Binary; b.N > 0 {
		gauge(d.estPrecision, b.Precision())
		gauge(d.estRecall, b.Recall())
		gauge(d.estF1, b.F1())
	}
}

// collectLabelResults writes aiops_labels_total.
func (c *Collector) collectLabelResults(ch chan<- prometheus.Metric) {
	for k, n := range c.st.LabelResults() {
		ch <- constMetric(c.d.perf.labelResults, prometheus.CounterValue, float64(n), k.Model, k.Version, k.Result)
	}
}
