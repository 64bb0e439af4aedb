package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The limits of the cardinality invariant: small, so that a leak of one open label shows.
const (
	capModels     = 4
	capVersions   = 3
	capFeatures   = 6
	capLabelVals  = 5
	capCategories = 5
	capClasses    = 4
)

var cardinalityConfig = fmt.Sprintf(`limits:
  max_models: %d
  max_versions_per_model: %d
  max_features_per_model: %d
  max_label_values: %d
  max_categories_per_feature: %d
labels:
  max_classes: %d
`, capModels, capVersions, capFeatures, capLabelVals, capCategories, capClasses)

// distinct is the number of distinct values each input path is fed.
const distinct = 100000

// openLabelCap is the most values each open label may take under cardinalityConfig: the
// limit, plus __other__, plus the fixed values the exporter adds (__unknown__, __null__,
// __unseen__, __prediction__, "default", the numeric bins of a reference): across the
// exporter for model, type, name and currency; per model for version; per model version for feature and
// class; per feature for bin. Every other label of the exporter is a closed set, which
// closedLabelCap bounds.
func openLabelCap(name string) int {
	switch name {
	case "model":
		return capModels + 2 // + __other__, __unknown__
	case "version":
		return capVersions + 3 // + __other__, __unknown__, default
	case "feature":
		return capFeatures + 2 // + __other__, __prediction__
	case "bin":
		// categories + __unseen__ + __null__, or a numeric reference's bins (at most 21, the
		// builder's per-value maximum 20 plus unseen) + __null__, or booleans.
		return max(capCategories+2, 22)
	case "class", "actual", "predicted":
		return capClasses + 1
	case "type", "name", "currency":
		return capLabelVals + 1 + 8 // + __other__ and the fixed token/error types
	}
	return closedLabelCap
}

// closedLabelCap bounds a closed label (method, reason, result, le, …): each is a short
// fixed list in the code, so more values than this can only come from input.
const closedLabelCap = 40

// Every open label is bounded, whatever path the values come in by: events, labels and
// references in each format, each fed 10⁵ distinct values. The scrape must stay under a bound
// computed from the configured limits alone.
func TestEveryOpenLabelIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 10⁵ values per input path")
	}
	a, srv := newApp(t, cardinalityConfig)
	post := func(path, contentType string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		require.NoError(t, err)
		if strings.HasSuffix(path, "/reference") {
			req.Method = http.MethodPut
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}

	// Events: distinct models, versions, feature names, categories, error types, business
	// names, currencies and predicted classes, in batches under the body limit.
	const batch = 5000
	for start := 0; start < distinct; start += batch {
		var b bytes.Buffer
		for i := start; i < start+batch; i++ {
			fmt.Fprintf(&b, `{"model":"m%d","version":"v%d","id":"e%d","prediction":"p%d","error":"err%d",`+
				`"features":{"f%d":"c%d","cat":"c%d"},"business":{"b%d":1}}`+"\n", i%50, (i/50)%40, i, i, i, i, i, i, i)
		}
		status, out := post("/api/v1/events", "application/x-ndjson", b.Bytes())
		require.Equal(t, http.StatusOK, status, out)
	}
	// Labels: distinct models, ids and classes, with inline predictions.
	for start := 0; start < distinct; start += batch {
		var b bytes.Buffer
		for i := start; i < start+batch; i++ {
			fmt.Fprintf(&b, `{"model":"m%d","id":"l%d","label":"t%d","prediction":"q%d"}`+"\n", i%3, i, i, i)
		}
		status, out := post("/api/v1/labels", "application/x-ndjson", b.Bytes())
		require.Equal(t, http.StatusOK, status, out)
	}

	// check scrapes and asserts the invariant; what gets scraped is the last reference of
	// each version, so it runs after every upload.
	check := func(what string) {
		t.Helper()
		fams, err := a.opts.Registry.Gather()
		require.NoError(t, err)
		values := map[string]map[string]bool{}
		series, bound := 0, 0
		for _, f := range fams {
			if !strings.HasPrefix(f.GetName(), "aiops_") && !strings.HasPrefix(f.GetName(), "gen_ai_") {
				continue
			}
			names := map[string]map[string]bool{}
			for _, m := range f.GetMetric() {
				series++
				var model, mv, feature string
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "model":
						model = l.GetValue() + "\x00"
						mv += model
					case "version":
						mv += l.GetValue() + "\x00"
					case "feature":
						feature = l.GetValue()
					}
				}
				for _, l := range m.GetLabel() {
					if names[l.GetName()] == nil {
						names[l.GetName()] = map[string]bool{}
					}
					names[l.GetName()][l.GetValue()] = true
					// Features, bins and classes are bounded per model version (and bins
					// per feature); the others across the exporter.
					scope := l.GetName()
					switch l.GetName() {
					case "version":
						scope = model + scope
					case "feature", "class", "actual", "predicted":
						scope = mv + scope
					case "bin":
						scope = mv + feature + "\x00" + scope
					}
					if values[scope] == nil {
						values[scope] = map[string]bool{}
					}
					values[scope][l.GetValue()] = true
				}
			}
			// The family's bound: the product of its open labels' caps and of the sizes of
			// its closed labels' sets (fixed in the code; each checked against
			// closedLabelCap below).
			fb := 1
			for n, vs := range names {
				if c := openLabelCap(n); c != closedLabelCap {
					fb *= c
				} else {
					fb *= len(vs)
				}
			}
			bound += fb
		}
		for scope, vs := range values {
			name := scope[strings.LastIndexByte(scope, 0)+1:]
			require.LessOrEqual(t, len(vs), openLabelCap(name), "after %s: label %q has %d values, more than its limit allows", what, name, len(vs))
		}
		t.Logf("after %s: %d series, bound %d computed from the limits", what, series, bound)
		require.LessOrEqual(t, series, bound)
	}
	check("events and labels")

	// References in every format, each with 10⁵ distinct categories, into the versions
	// already learnt (m0's first versions, v0 to v2) so they are scraped.
	ref := func(version string) string { return "/api/v1/models/m0/versions/" + version + "/reference" }
	var csvBody bytes.Buffer
	csvBody.WriteString("cat,prediction\n")
	for i := range distinct {
		fmt.Fprintf(&csvBody, "r%d,s%d\n", i, i)
	}
	status, out := post(ref("v0"), "text/csv", csvBody.Bytes())
	t.Logf("CSV reference: %d %.300s", status, out)
	check("a CSV reference")

	var ndjsonBody bytes.Buffer
	for i := range distinct {
		fmt.Fprintf(&ndjsonBody, `{"features":{"cat":"n%d","x%d":1},"prediction":"o%d"}`+"\n", i, i, i)
	}
	status, out = post(ref("v1"), "application/x-ndjson", ndjsonBody.Bytes())
	t.Logf("NDJSON reference: %d %.300s", status, out)
	check("an NDJSON reference")

	// A saved profile: one categorical feature with 10⁵ categories, then one with 10⁵ features.
	cats := make([]string, distinct)
	cells := make([]float64, distinct+1)
	for i := range cats {
		cats[i], cells[i] = fmt.Sprintf("j%d", i), 1
	}
	profile, err := json.Marshal(map[string]any{"features": []map[string]any{{
		"name": "cat", "kind": "categorical", "rows": distinct, "distinct": distinct,
		"categories": cats, "ref_cells": cells,
	}}})
	require.NoError(t, err)
	status, out = post(ref("v2"), "application/json", profile)
	t.Logf("profile with 10⁵ categories: %d %.300s", status, out)
	check("a profile with 10⁵ categories")

	features := make([]map[string]any, distinct)
	for i := range features {
		features[i] = map[string]any{"name": fmt.Sprintf("g%d", i), "kind": "boolean", "rows": 50, "distinct": 2, "ref_cells": []float64{25, 25}}
	}
	profile, err = json.Marshal(map[string]any{"features": features})
	require.NoError(t, err)
	status, out = post(ref("v0"), "application/json", profile)
	t.Logf("profile with 10⁵ features: %d %.300s", status, out)
	check("a profile with 10⁵ features")

	// A numeric feature with 10⁵ per-value bins.
	edges := make([]float64, distinct)
	numCells, sums := make([]float64, 2*distinct+1), make([]float64, 2*distinct+1)
	for i := range edges {
		edges[i] = float64(i)
		numCells[2*i+1], sums[2*i+1] = 1, float64(i)
	}
	profile, err = json.Marshal(map[string]any{"features": []map[string]any{{
		"name": "num", "kind": "numeric", "rows": distinct, "distinct": distinct, "per_value": true,
		"edges": edges, "ref_cells": numCells, "ref_sums": sums, "min": 0, "max": distinct - 1,
	}}})
	require.NoError(t, err)
	status, out = post(ref("v1"), "application/json", profile)
	t.Logf("profile with 10⁵ numeric bins: %d %.300s", status, out)
	check("a profile with 10⁵ numeric bins")

	// Reference paths naming distinct models and versions.
	for i := range 200 {
		body := fmt.Appendf(nil, "x\n%d\n", i)
		post(fmt.Sprintf("/api/v1/models/rm%d/versions/rv%d/reference", i, i), "text/csv", body)
	}

	check("references naming distinct models and versions")

}
