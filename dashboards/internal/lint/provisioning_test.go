package lint

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/dashboards/gen"
)

// The provisioning files follow Grafana's documented schema; decoding them
// with KnownFields catches a misspelt key, which Grafana would silently ignore.

type dashboardProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		OrgID                 int    `yaml:"orgId"`
		Folder                string `yaml:"folder"`
		FolderUID             string `yaml:"folderUid"`
		Type                  string `yaml:"type"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `yaml:"path"`
			FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

type datasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name           string            `yaml:"name"`
		Type           string            `yaml:"type"`
		UID            string            `yaml:"uid"`
		Access         string            `yaml:"access"`
		URL            string            `yaml:"url"`
		IsDefault      bool              `yaml:"isDefault"`
		Editable       bool              `yaml:"editable"`
		JSONData       map[string]any    `yaml:"jsonData"`
		SecureJSONData map[string]string `yaml:"secureJsonData"`
	} `yaml:"datasources"`
}

func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(v), path)
}

const provisioning = "../../../deploy/grafana/provisioning"

func TestDashboardProvisioning(t *testing.T) {
	var p dashboardProviders
	decodeStrict(t, filepath.Join(provisioning, "dashboards", "opscentre.yaml"), &p)
	require.Equal(t, 1, p.APIVersion)
	require.Len(t, p.Providers, 1)
	pr := p.Providers[0]
	require.Equal(t, "file", pr.Type)
	require.True(t, filepath.IsAbs(pr.Options.Path), "options.path must be absolute for Grafana")
	require.False(t, pr.AllowUIUpdates, "generated dashboards must not be edited in the UI")
}

// TestDatasourceProvisioningMatchesDashboards checks that for every datasource
// variable of every dashboard a datasource of that type is provisioned, so a
// fresh Grafana opens the dashboards with working panels.
func TestDatasourceProvisioningMatchesDashboards(t *testing.T) {
	var ds datasources
	decodeStrict(t, filepath.Join(provisioning, "datasources", "opscentre.yaml"), &ds)
	require.Equal(t, 1, ds.APIVersion)
	types := map[string]bool{}
	for _, d := range ds.Datasources {
		require.NotEmpty(t, d.UID, d.Name)
		require.NotEmpty(t, d.URL, d.Name)
		types[d.Type] = true
	}
	require.True(t, types[gen.IncidentsPluginID])
	for name, raw := range committed(t) {
		d, err := Load(raw)
		require.NoError(t, err)
		for _, v := range d.Templating.List {
			if v.Type != "datasource" {
				continue
			}
			require.True(t, types[*v.Query.String], "%s: variable %s needs a provisioned datasource of type %s", name, v.Name, *v.Query.String)
		}
	}
}
