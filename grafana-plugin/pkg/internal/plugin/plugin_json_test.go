package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/grafana-plugin/pkg/internal/incidentd"
)

// Top-level keys of a datasource plugin.json in Grafana's published schema
// (additionalProperties: false), so a typo is caught here and not by a Grafana that
// refuses to load the plugin.
var pluginJSONKeys = []string{"$schema", "alerting", "annotations", "autoEnabled", "backend", "builtIn", "category",
	"dependencies", "enterpriseFeatures", "executable", "hideFromList", "id", "includes", "info", "logs", "metrics",
	"multiValueFilterOperators", "name", "preload", "queryOptions", "routes", "skipDataQuery", "state", "streaming",
	"tracing", "type", "iam", "languages", "buildMode", "roles", "sort", "tables"}

type pluginJSON struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	ID          string `json:"id"`
	Backend     bool   `json:"backend"`
	Executable  string `json:"executable"`
	Alerting    bool   `json:"alerting"`
	Annotations bool   `json:"annotations"`
	Metrics     bool   `json:"metrics"`
	Info        struct {
		Description string   `json:"description"`
		Keywords    []string `json:"keywords"`
		Version     string   `json:"version"`
		Updated     string   `json:"updated"`
		Logos       struct {
			Small string `json:"small"`
			Large string `json:"large"`
		} `json:"logos"`
		Author struct {
			Name string `json:"name"`
		} `json:"author"`
	} `json:"info"`
	Dependencies struct {
		GrafanaDependency string `json:"grafanaDependency"`
	} `json:"dependencies"`
}

func TestPluginJSON(t *testing.T) {
	raw, err := os.ReadFile("../../../src/plugin.json")
	require.NoError(t, err)
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &keys))
	for k := range keys {
		require.True(t, slices.Contains(pluginJSONKeys, k), "plugin.json: %q is not a plugin.json property", k)
	}
	var p pluginJSON
	require.NoError(t, json.Unmarshal(raw, &p))

	require.Equal(t, "datasource", p.Type)
	require.NotEmpty(t, p.Name)
	require.Regexp(t, regexp.MustCompile(`^[0-9a-z]+-([0-9a-z]+-)?datasource$`), p.ID, "Grafana's id pattern for datasources")
	require.Equal(t, ID, p.ID, "the id the backend registers with")
	require.True(t, p.Backend)
	require.True(t, p.Alerting, "stats queries serve alert rules")
	require.True(t, p.Annotations)
	require.True(t, p.Metrics)
	// Grafana runs <executable>_<GOOS>_<GOARCH>; build.sh must produce that name.
	build, err := os.ReadFile("../../../build.sh")
	require.NoError(t, err)
	require.Contains(t, string(build), "dist/"+p.Executable+"_${os}_${arch}")

	require.NotEmpty(t, p.Info.Description)
	require.NotEmpty(t, p.Info.Author.Name)
	require.NotEmpty(t, p.Info.Keywords)
	require.Regexp(t, `^\d+\.\d+\.\d+$`, p.Info.Version)
	_, err = time.Parse("2006-01-02", p.Info.Updated)
	require.NoError(t, err, "info.updated: expected YYYY-MM-DD")
	for _, logo := range []string{p.Info.Logos.Small, p.Info.Logos.Large} {
		_, err := os.Stat(filepath.Join("../../../src", logo))
		require.NoError(t, err, "logo %s", logo)
	}
	require.Regexp(t, `^>=\d+\.\d+\.\d+`, p.Dependencies.GrafanaDependency)

	// The frontend's package.json carries the same version.
	var pkg struct {
		Version      string            `json:"version"`
		Dependencies map[string]string `json:"dependencies"`
	}
	raw, err = os.ReadFile("../../../package.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &pkg))
	require.Equal(t, p.Info.Version, pkg.Version)
	// @grafana/* at one major version, the one grafanaDependency names.
	major := strings.SplitN(strings.TrimPrefix(p.Dependencies.GrafanaDependency, ">="), ".", 2)[0]
	for name, v := range pkg.Dependencies {
		if strings.HasPrefix(name, "@grafana/") {
			require.True(t, strings.HasPrefix(strings.TrimLeft(v, "^~"), major+"."), "%s %s: expected major %s", name, v, major)
		}
	}
}

// The one provisioning file (deploy/grafana) names this plugin, and the incidents dashboard
// the plugin's links open (dashboards/json/incidents.json) only uses query types, fields and
// actions the backend knows.
func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, UID, Access, URL string
			JSONData                     map[string]any    `yaml:"jsonData"`
			SecureJSONData               map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	raw, err := os.ReadFile("../../../../deploy/grafana/provisioning/datasources/opscentre.yaml")
	require.NoError(t, err)
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	require.NoError(t, dec.Decode(&ds))
	require.Equal(t, 1, ds.APIVersion)
	found := -1
	for i, d := range ds.Datasources {
		if d.Type == ID {
			require.Equal(t, -1, found, "one incidents datasource")
			found = i
		}
	}
	require.NotEqual(t, -1, found, "the provisioning file lists the incidents datasource")
	d := ds.Datasources[found]
	require.Equal(t, "proxy", d.Access)
	require.Contains(t, d.SecureJSONData, "apiToken", "the token goes to secureJsonData")
	// jsonData keys are the ones settings.Load reads.
	b, err := json.Marshal(d.JSONData)
	require.NoError(t, err)
	s := instanceSettings("http://incidentd:9478", nil, "")
	s.JSONData = b
	_, err = New(s, Options{})
	require.NoError(t, err)

	var dash struct {
		UID        string
		Templating struct {
			List []struct {
				Name       string
				Datasource *struct{ Type, UID string }
				Query      any
			}
		}
		Annotations struct {
			List []struct {
				Datasource struct{ Type, UID string }
				Target     json.RawMessage
			}
		}
		Panels []struct {
			Title       string
			Datasource  struct{ Type, UID string }
			Targets     []json.RawMessage
			FieldConfig struct {
				Defaults struct {
					Actions []struct {
						Title     string
						Fetch     struct{ Method, URL, Body string }
						Variables []struct{ Key, Name, Type string }
					}
				}
			}
		}
	}
	raw, err = os.ReadFile("../../../../dashboards/json/incidents.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &dash))
	// The dashboards pick the datasource through their ${incidents} variable, by type.
	const dsVar = "${incidents}"
	check := func(where string, ref struct{ Type, UID string }, target json.RawMessage) {
		require.Equal(t, ID, ref.Type, where)
		require.Equal(t, dsVar, ref.UID, where)
		var q struct {
			QueryType string `json:"queryType"`
		}
		require.NoError(t, json.Unmarshal(target, &q), where)
		require.Contains(t, []string{QueryIncidents, QueryCounts, QueryStats, QueryTimeline, QueryAnnotations, QueryVariables, QueryEvidence}, q.QueryType, where)
		// The frontend expands variables before the query reaches the backend; "All" arrives
		// as $__all.
		expanded := strings.NewReplacer(`"$team"`, `"$__all"`, `"$tier"`, `"$__all"`, `"$model"`, `"$__all"`, `"$incident"`, `"1"`).Replace(string(target))
		_, err := parseQuery(json.RawMessage(expanded), q.QueryType)
		require.NoError(t, err, where)
		require.Empty(t, unknownKeys(target), where)
	}
	require.Equal(t, DashboardUID, dash.UID, "incident links point at this dashboard")
	hasIncidentVar := false
	for _, v := range dash.Templating.List {
		hasIncidentVar = hasIncidentVar || v.Name == "incident"
	}
	require.True(t, hasIncidentVar, "the links set var-incident")
	require.NotEmpty(t, dash.Panels)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			check("panel "+p.Title, p.Datasource, tg)
		}
	}
	for _, a := range dash.Annotations.List {
		check("annotation", a.Datasource, a.Target)
	}

	// The table's actions post to this datasource's resources; each must be a route that
	// works for an Editor, and reach incidentd as that user with the body it expects.
	fake := newFake(fixture())
	fake.containments = []incidentd.Containment{}
	// Incident 2's labels name its version and fallback, which a contain action without a
	// model takes, as incidentd's policies do.
	inc2 := fixture()[1]
	inc2.Labels = map[string]string{"alertname": "AccuracyLow", "version": "v2", "fallback_version": "v1"}
	fake.details[2] = &incidentd.Detail{Incident: inc2}
	srv := fake.start(t)
	plug := newTestDS(t, srv.URL, nil, "plugin")
	prefix := "/api/datasources/uid/" + dsVar + "/resources/"
	var titles []string
	for _, p := range dash.Panels {
		for _, a := range p.FieldConfig.Defaults.Actions {
			titles = append(titles, a.Title)
			require.True(t, strings.HasPrefix(a.Fetch.URL, prefix), "action %q: %s", a.Title, a.Fetch.URL)
			path := strings.ReplaceAll(strings.TrimPrefix(a.Fetch.URL, prefix), "${__data.fields.id}", "2")
			// Grafana prompts for the action's variables and puts the answers in place of
			// $key before sending.
			body := a.Fetch.Body
			for _, v := range a.Variables {
				require.Equal(t, "string", v.Type, a.Title)
				require.Contains(t, body, "$"+v.Key, "action %q: variable %s is not used", a.Title, v.Key)
				body = strings.ReplaceAll(body, "$"+v.Key, "typed into "+a.Title)
			}
			require.NotContains(t, body, "$", "action %q: a variable Grafana would not fill", a.Title)
			var in any
			require.NoError(t, json.Unmarshal([]byte(body), &in), a.Title)
			code, m, _ := call(t, plug, &backend.User{Login: "erin", Role: "Editor"}, a.Fetch.Method, path, in)
			require.Equal(t, 200, code, "action %q: %v", a.Title, m)
		}
	}
	require.Equal(t, []string{"Acknowledge", "Start investigating", "Assign to me", "Resolve", "Contain: fallback", "Contain: disable", "Lift containment"}, titles)
	require.Len(t, fake.actions, 8, "the lift action lifts both containments")
	for _, a := range fake.actions {
		require.Equal(t, "erin (via plugin)", a.Actor, a.Action)
	}
	body := func(i int) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(fake.actions[i].Body), &m))
		return m
	}
	require.Equal(t, "contain", fake.actions[4].Action)
	require.Equal(t, int64(2), fake.actions[4].ID)
	require.Equal(t, map[string]any{"model": "support-llm", "version": "v2", "action": "fallback", "fallback_version": "v1",
		"reason": "typed into Contain: fallback"}, body(4))
	require.Equal(t, "contain", fake.actions[5].Action)
	require.Equal(t, map[string]any{"model": "support-llm", "version": "v2", "action": "disable", "reason": "typed into Contain: disable"}, body(5))
	for i, id := range []int64{1, 2} {
		require.Equal(t, "lift", fake.actions[6+i].Action)
		require.Equal(t, id, fake.actions[6+i].ID, "the lift names the containment")
		require.Equal(t, map[string]any{"reason": "typed into Lift containment"}, body(6+i))
	}
	for _, c := range fake.containments {
		require.False(t, c.Active)
		require.Equal(t, "erin (via plugin)", c.LiftedBy)
	}
	for _, v := range dash.Templating.List {
		if v.Datasource != nil {
			require.Contains(t, []string{ID, "prometheus"}, v.Datasource.Type, v.Name)
		}
	}
}

// The generated dashboards (dashboards/json) use this datasource; every target they hold
// must be a query the backend accepts.
func TestGeneratedDashboardQueries(t *testing.T) {
	files, err := filepath.Glob("../../../../dashboards/json/*.json")
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("no generated dashboards in this checkout")
	}
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var dash struct {
			Panels []struct {
				Title   string
				Targets []json.RawMessage
			}
		}
		require.NoError(t, json.Unmarshal(raw, &dash))
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				var q struct {
					QueryType  string `json:"queryType"`
					IncidentID any    `json:"incidentId"`
					Datasource struct{ Type string }
				}
				require.NoError(t, json.Unmarshal(tg, &q))
				if q.Datasource.Type != ID {
					continue
				}
				n++
				// Grafana expands variables before the query reaches the backend.
				expanded := strings.NewReplacer(`"$model"`, `"fraud-v3,support-llm"`, `"$incident"`, `"1"`).Replace(string(tg))
				parsed, err := parseQuery(json.RawMessage(expanded), q.QueryType)
				require.NoError(t, err, "%s: panel %q", f, p.Title)
				require.Empty(t, unknownKeys(tg), "%s: panel %q uses fields the plugin ignores", f, p.Title)
				if q.QueryType == QueryTimeline {
					_, err := parsed.incidentID()
					require.NoError(t, err, "%s: panel %q is a timeline query, which shows one incident: it needs incidentId", filepath.Base(f), p.Title)
				}
			}
		}
	}
	t.Logf("%d incidents-datasource targets checked", n)
}
