package evidence

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ser builds a series: now and before, keyed by the grouping label ("" when none).
func ser(now, before map[string]float64) Series { return Series{Query: "q", Now: now, Before: before} }

func one(v float64) map[string]float64 { return map[string]float64{"": v} }

// healthy is a classifier with steady traffic and no drift: every cause not supported.
func healthy() Observations {
	return Observations{
		qDrifted:    ser(map[string]float64{"amount": 0, "merchant": 0}, nil),
		qDriftScore: ser(map[string]float64{"amount": 0.02, "merchant": 0.01}, nil),
		qNulls:      ser(map[string]float64{"amount": 0, "merchant": 0.01}, map[string]float64{"amount": 0, "merchant": 0.01}),
		qOutliers:   ser(map[string]float64{"amount": 0.01}, map[string]float64{"amount": 0.01}),
		qVolume:     ser(one(20), one(21)),
		qVersions:   ser(map[string]float64{"v3": 18, "v4": 2}, map[string]float64{"v3": 19, "v4": 2}),
		qErrors:     ser(map[string]float64{}, map[string]float64{}),
		qLatencyP95: ser(one(0.05), one(0.05)),
	}
}

// llm is a chatbot: tokens, input length and a queue.
func llm() Observations {
	o := Observations{
		qVolume:         ser(one(10), one(10)),
		qVersions:       ser(map[string]float64{"gpt-4o-2024-08-06": 10}, map[string]float64{"gpt-4o-2024-08-06": 10}),
		qErrors:         ser(map[string]float64{"rate_limit": 0.01}, map[string]float64{"rate_limit": 0.01}),
		qLatencyP95:     ser(one(2), one(2)),
		qTokensPerCall:  ser(one(800), one(790)),
		qInputLengthP95: ser(one(900), one(880)),
		qQueue:          ser(one(2), one(2)),
	}
	return o
}

func verdicts(cs []Cause) map[string]Verdict {
	m := map[string]Verdict{}
	for _, c := range cs {
		m[c.Name] = c.Verdict
	}
	return m
}

func TestJudge(t *testing.T) {
	ns, s, u := NotSupported, Supported, Unknown
	for _, tc := range []struct {
		name   string
		obs    func() Observations
		subj   Subject
		want   map[string]Verdict
		reason map[string]string // substrings of the reasons
	}{
		{name: "healthy classifier", obs: healthy,
			want: map[string]Verdict{InputsChanged: ns, VersionMismatch: ns, ExternalAPI: ns, Adversarial: ns, Capacity: ns}},
		{name: "drifted feature", obs: func() Observations {
			o := healthy()
			o[qDrifted] = ser(map[string]float64{"amount": 1, "merchant": 0, "country": 1}, nil)
			o[qDriftScore] = ser(map[string]float64{"amount": 0.9, "merchant": 0.01, "country": 0.3}, nil)
			return o
		}, want: map[string]Verdict{InputsChanged: s, VersionMismatch: ns, ExternalAPI: ns, Adversarial: ns, Capacity: ns},
			reason: map[string]string{InputsChanged: "drifted: amount, country"}},
		{name: "nulls in a feature", obs: func() Observations {
			o := healthy()
			o[qNulls] = ser(map[string]float64{"amount": 0, "merchant": 0.4}, map[string]float64{"amount": 0, "merchant": 0.01})
			return o
		}, want: map[string]Verdict{InputsChanged: s, VersionMismatch: ns, Capacity: ns},
			reason: map[string]string{InputsChanged: "null ratio of merchant rose"}},
		{name: "traffic dropped", obs: func() Observations {
			o := healthy()
			o[qVolume] = ser(one(3), one(21))
			return o
		}, want: map[string]Verdict{InputsChanged: s, Capacity: ns}, reason: map[string]string{InputsChanged: "traffic changed"}},
		{name: "a new version serves traffic", obs: func() Observations {
			o := healthy()
			o[qVersions] = ser(map[string]float64{"v3": 15, "v5": 5}, map[string]float64{"v3": 19})
			return o
		}, want: map[string]Verdict{InputsChanged: ns, VersionMismatch: s}, reason: map[string]string{VersionMismatch: "version v5 first served traffic"}},
		{name: "a deployment in the change log", obs: healthy,
			subj: Subject{Deployments: []Deployment{{At: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Summary: "fraud v3 → v4"}}},
			want: map[string]Verdict{VersionMismatch: s}, reason: map[string]string{VersionMismatch: "deployment fraud v3 → v4"}},
		{name: "a canary falls behind the other versions", obs: func() Observations {
			o := healthy()
			o[qAccuracy] = ser(map[string]float64{"v3": 0.93, "v4": 0.61}, map[string]float64{"v3": 0.93, "v4": 0.92})
			return o
		}, want: map[string]Verdict{VersionMismatch: s, InputsChanged: ns}, reason: map[string]string{VersionMismatch: "version v4 accuracy 0.61, behind 0.93"}},
		{name: "every version decays together: not a version", obs: func() Observations {
			o := healthy()
			o[qAccuracy] = ser(map[string]float64{"v3": 0.6, "v4": 0.58}, map[string]float64{"v3": 0.93, "v4": 0.92})
			return o
		}, want: map[string]Verdict{VersionMismatch: ns}},
		{name: "a version that was already behind", obs: func() Observations {
			o := healthy()
			o[qAccuracy] = ser(map[string]float64{"v3": 0.93, "v4": 0.7}, map[string]float64{"v3": 0.93, "v4": 0.72})
			return o
		}, want: map[string]Verdict{VersionMismatch: ns}},
		{name: "healthy llm", obs: llm,
			want: map[string]Verdict{VersionMismatch: ns, ExternalAPI: ns, Adversarial: ns, Capacity: ns}},
		{name: "provider swapped the snapshot", obs: func() Observations {
			o := llm()
			o[qVersions] = ser(map[string]float64{"gpt-4o-2024-11-20": 10}, map[string]float64{"gpt-4o-2024-08-06": 10})
			return o
		}, want: map[string]Verdict{VersionMismatch: s}},
		{name: "provider rate-limits", obs: func() Observations {
			o := llm()
			o[qErrors] = ser(map[string]float64{"rate_limit": 1.5, "timeout": 0.001}, map[string]float64{"rate_limit": 0.01})
			return o
		}, want: map[string]Verdict{ExternalAPI: s, Adversarial: ns, Capacity: ns}, reason: map[string]string{ExternalAPI: "rate_limit errors rose"}},
		{name: "provider slower, same load", obs: func() Observations {
			o := llm()
			o[qLatencyP95] = ser(one(6), one(2))
			return o
		}, want: map[string]Verdict{ExternalAPI: s, Capacity: ns}, reason: map[string]string{Capacity: "neither load, queue nor CPU rose"}},
		{name: "token runaway", obs: func() Observations {
			o := llm()
			o[qTokensPerCall] = ser(one(4000), one(800))
			return o
		}, want: map[string]Verdict{Adversarial: s, ExternalAPI: ns, Capacity: ns}, reason: map[string]string{Adversarial: "tokens per call ×5"}},
		{name: "latency with a rising queue", obs: func() Observations {
			o := llm()
			o[qLatencyP95] = ser(one(6), one(2))
			o[qQueue] = ser(one(40), one(2))
			return o
		}, want: map[string]Verdict{Capacity: s, ExternalAPI: ns, Adversarial: ns}, reason: map[string]string{Capacity: "queue depth 40"}},
		{name: "latency with more requests", obs: func() Observations {
			o := healthy()
			o[qLatencyP95] = ser(one(0.5), one(0.05))
			o[qVolume] = ser(one(60), one(21))
			return o
		}, want: map[string]Verdict{Capacity: s, InputsChanged: s}},
		{name: "no data at all", obs: func() Observations { return Observations{} },
			want: map[string]Verdict{InputsChanged: u, VersionMismatch: u, Capacity: u, ExternalAPI: ns, Adversarial: ns}},
		{name: "Prometheus failed", obs: func() Observations {
			o := Observations{}
			for _, q := range querySpecs {
				o[q.name] = Series{Query: "q", Err: errors.New("timeout")}
			}
			return o
		}, want: map[string]Verdict{InputsChanged: u, VersionMismatch: u, ExternalAPI: u, Adversarial: u, Capacity: u}},
		{name: "one query failed, the others decide", obs: func() Observations {
			o := healthy()
			o[qDrifted] = Series{Query: "q", Err: errors.New("timeout")}
			return o
		}, want: map[string]Verdict{InputsChanged: u, VersionMismatch: ns, Capacity: ns}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := Judge(tc.obs(), tc.subj, DefaultRules())
			require.Len(t, cs, len(Causes))
			for i, c := range cs {
				require.Equal(t, Causes[i], c.Name)
				require.NotEmpty(t, c.Reason, c.Name)
			}
			got := verdicts(cs)
			for cause, v := range tc.want {
				require.Equal(t, v, got[cause], "%s: %+v", cause, cs)
			}
			for cause, sub := range tc.reason {
				for _, c := range cs {
					if c.Name == cause {
						require.Contains(t, c.Reason, sub)
					}
				}
			}
		})
	}
}

// The shifted feature is the first finding, ranked by drift score.
func TestInputsChangedRanksFeatures(t *testing.T) {
	o := healthy()
	o[qDrifted] = ser(map[string]float64{"a": 1, "b": 1, "c": 0}, nil)
	o[qDriftScore] = ser(map[string]float64{"a": 0.2, "b": 0.7, "c": 0.9}, nil)
	c := inputsChanged(o, nil, DefaultRules())
	require.Equal(t, Supported, c.Verdict)
	require.Equal(t, "drifted feature b", c.Findings[0].Name)
	require.Equal(t, 0.7, *c.Findings[0].Now)
	require.Equal(t, "drifted feature a", c.Findings[1].Name)
	require.Equal(t, PanelDrift, c.Findings[0].Panel)
}

// The panel links point at panels of the committed dashboards that plot the finding's
// metric (the dashboards are generated by dashboards/gen; a renumbering must move these).
func TestPanelsExist(t *testing.T) {
	type panel struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	dashboards := map[string]map[int]panel{}
	files, err := filepath.Glob("../../../dashboards/json/*.json")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var d struct {
			UID    string  `json:"uid"`
			Panels []panel `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(b, &d), f)
		dashboards[d.UID] = map[int]panel{}
		for _, p := range d.Panels {
			dashboards[d.UID][p.ID] = p
		}
	}
	for link, metric := range map[string]string{
		PanelDrift: "aiops_feature_drift_score", PanelNulls: "aiops_feature_null_ratio", PanelOutliers: "aiops_feature_outlier_ratio",
		PanelVolume: "aiops_events_total", PanelAccuracy: "aiops_model_accuracy",
		PanelErrors: "aiops_inference_errors_total", PanelLatency: "aiops_inference_duration_seconds", PanelTokens: "aiops_tokens_total",
		PanelInputLength: "aiops_input_length", PanelQueue: "aiops_queue_depth", PanelNodeCPU: "node_cpu_seconds_total",
	} {
		u, err := url.Parse(link)
		require.NoError(t, err)
		uid := strings.TrimPrefix(u.Path, "/d/")
		id, err := strconv.Atoi(u.Query().Get("viewPanel"))
		require.NoError(t, err, link)
		p, ok := dashboards[uid][id]
		require.True(t, ok, "%s: no panel %d in dashboard %s", link, id, uid)
		require.NotEqual(t, "row", p.Type, "%s points at a row", link)
		require.NotEmpty(t, p.Targets, link)
		require.Contains(t, p.Targets[0].Expr, metric, "%s plots another metric", link)
	}
}
