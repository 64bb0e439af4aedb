package output

import (
	"github.com/opscentre/opscentre/rulegen/compile"
)

type expAlertYAML struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations,omitempty"`
}

type alertTestYAML struct {
	EvalTime  string         `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []expAlertYAML `yaml:"exp_alerts"`
}

type seriesYAML struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type testYAML struct {
	Name        string          `yaml:"name"`
	Interval    string          `yaml:"interval"`
	InputSeries []seriesYAML    `yaml:"input_series"`
	AlertTests  []alertTestYAML `yaml:"alert_rule_test"`
}

type testFileYAML struct {
	RuleFiles          []string   `yaml:"rule_files"`
	EvaluationInterval string     `yaml:"evaluation_interval"`
	Tests              []testYAML `yaml:"tests"`
}

// testFile writes the promtool unit tests of one group; they read the group's own rule file.
func testFile(source string, g *compile.Group) ([]byte, error) {
	tf := testFileYAML{
		RuleFiles:          []string{"../rules/" + g.Name + ".rules.yml"},
		EvaluationInterval: durStr(g.Tests.EvalInterval),
	}
	for _, tc := range g.Tests.Tests {
		ty := testYAML{Name: tc.Name, Interval: durStr(tc.Interval)}
		for _, in := range tc.Inputs {
			ty.InputSeries = append(ty.InputSeries, seriesYAML(in))
		}
		for _, ch := range tc.Checks {
			at := alertTestYAML{EvalTime: durStr(ch.EvalTime), Alertname: ch.Alertname, ExpAlerts: []expAlertYAML{}}
			for _, e := range ch.Exp {
				at.ExpAlerts = append(at.ExpAlerts, expAlertYAML{ExpLabels: e.Labels, ExpAnnotations: e.Annotations})
			}
			ty.AlertTests = append(ty.AlertTests, at)
		}
		tf.Tests = append(tf.Tests, ty)
	}
	body, err := marshal(tf)
	if err != nil {
		return nil, err
	}
	h := header(source)
	for _, n := range g.NoTests {
		h += "# Not generated: " + n + "\n"
	}
	return append([]byte(h), body...), nil
}
