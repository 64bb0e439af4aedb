package promapi

import (
	"testing"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// A native histogram has no single float to plot: the error says so and names the series,
// for an instant and for a range result.
func TestSamplesRejectsNativeHistograms(t *testing.T) {
	m := model.Metric{"__name__": "aiops_inference_duration_seconds", "model": "fraud"}
	_, err := samples(model.Vector{{Metric: m, Histogram: &model.SampleHistogram{Count: 1}}})
	require.ErrorContains(t, err, `series aiops_inference_duration_seconds{model="fraud"} is a native histogram`)
	_, err = samples(model.Matrix{{Metric: m, Histograms: []model.SampleHistogramPair{{Histogram: &model.SampleHistogram{Count: 1}}}}})
	require.ErrorContains(t, err, `holds native histograms`)
	_, err = samples(&model.String{Value: "x"})
	require.EqualError(t, err, "result type string is not vector, matrix or scalar")
}
