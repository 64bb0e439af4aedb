package reference

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/exporter/drift"
)

const goodCSV = `id,age,country,premium,prediction
1,34,fr,true,0.2
2,,de,false,0.7
3,51.5,fr,TRUE,0.4
4,29,,false,0.9
5,NA,us,true,0.1
`

func TestReadCSV(t *testing.T) {
	p, err := ReadCSV(strings.NewReader(goodCSV), Options{Ignore: []string{"id"}})
	require.NoError(t, err)
	require.Len(t, p.Features, 4)
	age, _ := p.Feature("age")
	require.Equal(t, drift.Numeric, age.Kind)
	require.Equal(t, 3.0, age.Rows)
	require.Equal(t, 2.0, age.Nulls)
	require.InDelta(t, (34+51.5+29)/3.0, age.Mean, 1e-12)
	country, _ := p.Feature("country")
	require.Equal(t, drift.Categorical, country.Kind)
	require.Equal(t, []string{"fr", "de", "us"}, country.Categories)
	require.Equal(t, []float64{2, 1, 1, 0}, country.RefCells)
	require.Equal(t, 1.0, country.Nulls)
	premium, _ := p.Feature("premium")
	require.Equal(t, drift.Boolean, premium.Kind)
	require.Equal(t, []float64{2, 3}, premium.RefCells)
	pred, _ := p.Feature(PredictionFeature)
	require.NotNil(t, pred)
	require.Equal(t, 5.0, pred.Rows)
	missing, _ := p.Feature("id")
	require.Nil(t, missing, "ignored columns stay out")
}

func TestReadCSVByteOrderMark(t *testing.T) {
	p, err := ReadCSV(strings.NewReader("\ufeffid,x\n1,2\n"), Options{Ignore: []string{"id"}})
	require.NoError(t, err)
	require.Len(t, p.Features, 1)
	require.Equal(t, "x", p.Features[0].Name)
}

func TestReadCSVDeclaredKind(t *testing.T) {
	in := "zip\n75001\n10115\nSW1A\n"
	_, err := ReadCSV(strings.NewReader(in), Options{})
	var re *RowError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 3, re.Row)
	require.Equal(t, 4, re.Line)
	require.Equal(t, "zip", re.Column)
	require.Contains(t, err.Error(), `want a number like the earlier rows, got "SW1A"`)

	p, err := ReadCSV(strings.NewReader(in), Options{Kinds: map[string]drift.Kind{"zip": drift.Categorical}})
	require.NoError(t, err)
	require.Equal(t, drift.Categorical, p.Features[0].Kind)
	require.Len(t, p.Features[0].Categories, 3)
}

func TestReadCSVErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want string
	}{
		"empty":            {"", "empty file"},
		"duplicate column": {"a,b,a\n1,2,3\n", `column "a" appears twice`},
		"unnamed column":   {"a,,c\n1,2,3\n", "column 2 has no name"},
		"ragged row":       {"a,b\n1,2\n3\n", "row 2 (line 3)"},
		"bad boolean":      {"flag\ntrue\nfalse\nyes\n", `row 3 (line 4), column "flag": want true or false`},
		"infinite number":  {"x\n1\n2\n1e999\n", `row 3 (line 4), column "x": want a number`},
		"only a header":    {"a,b\n", "no feature has a value"},
		"bad quote":        {"a\n\"x\n", "row 1"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := ReadCSV(strings.NewReader(tc.in), Options{})
			require.Error(t, err)
			require.Nil(t, p, "nothing half-loaded")
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestReadNDJSON(t *testing.T) {
	in := `{"model":"m","features":{"age":null,"country":"fr","premium":true},"prediction":"yes"}

{"model":"m","features":{"age":34,"country":"de","premium":false},"prediction":"no"}
{"model":"m","features":{"age":51.5,"country":"fr"},"prediction":"yes"}
`
	p, err := ReadNDJSON(strings.NewReader(in), Options{})
	require.NoError(t, err)
	age, _ := p.Feature("age")
	require.Equal(t, drift.Numeric, age.Kind)
	require.Equal(t, 2.0, age.Rows)
	require.Equal(t, 1.0, age.Nulls, "a null before the first value is kept")
	pred, _ := p.Feature(PredictionFeature)
	require.Equal(t, drift.Categorical, pred.Kind)
	require.Equal(t, []string{"yes", "no"}, pred.Categories)
	premium, _ := p.Feature("premium")
	require.Equal(t, 2.0, premium.Rows)
}

func TestReadNDJSONErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want string
	}{
		"not json":        {"{\"features\":{\"a\":1}}\nnope\n", "row 2 (line 2): want one JSON event object"},
		"two objects":     {`{"features":{"a":1}} {"features":{"a":2}}`, "row 1 (line 1): want one JSON object per line"},
		"no features":     {`{"model":"m"}`, `want an event with "features", "prediction" or "embedding"`},
		"bad embedding":   {`{"embedding":[1,"x"]}`, `want one JSON event object`},
		"short embedding": {"{\"embedding\":[1,2]}\n{\"embedding\":[1]}", `column "embedding"`},
		"nested value":    {`{"features":{"a":{"b":1}}}`, `column "a": want a number, string, boolean or null, got an object`},
		"type changes":    {"{\"features\":{\"a\":1}}\n{\"features\":{\"a\":\"x\"}}\n", `row 2 (line 2), column "a": want a numeric value like the earlier rows, got the string "x"`},
		"bool to number":  {"{\"features\":{\"a\":true}}\n{\"features\":{\"a\":2}}\n", `column "a": want a boolean value`},
		"empty name":      {`{"features":{"":1}}`, "a feature needs a name"},
		"line too long":   {`{"features":{"a":"` + strings.Repeat("x", 300) + `"}}`, "row 1 (line 1): line longer than 256 bytes"},
		"only blank rows": {"\n\n", "no feature has a value"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := ReadNDJSON(strings.NewReader(tc.in), Options{MaxLineBytes: 256})
			require.Error(t, err)
			require.Nil(t, p)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := ReadNDJSON(strings.NewReader(`{"features":{"a":1,"b":2,"c":3}}`), Options{MaxFeatures: 2})
	var re *RowError
	require.True(t, errors.As(err, &re))
	require.Contains(t, err.Error(), "more than the limit of 2 features")
}

// TestCSVAndNDJSONAgree loads the same rows from both formats and expects the same profile.
func TestCSVAndNDJSONAgree(t *testing.T) {
	var csvB, ndB strings.Builder
	csvB.WriteString("a,b,c,prediction\n")
	for i := 0; i < 400; i++ {
		a := float64(i%97) * 0.37
		b := []string{"x", "y", "z"}[i%3]
		c := i%5 == 0
		pred := float64(i%7) / 7
		csvB.WriteString(strings.Join([]string{jsonString(a), b, jsonString(c), jsonString(pred)}, ",") + "\n")
		line, _ := json.Marshal(map[string]any{"features": map[string]any{"a": a, "b": b, "c": c}, "prediction": pred})
		ndB.Write(append(line, '\n'))
	}
	p1, err := ReadCSV(strings.NewReader(csvB.String()), Options{})
	require.NoError(t, err)
	p2, err := ReadNDJSON(strings.NewReader(ndB.String()), Options{})
	require.NoError(t, err)
	require.Len(t, p2.Features, len(p1.Features))
	for _, f1 := range p1.Features {
		f2, _ := p2.Feature(f1.Name)
		require.NotNil(t, f2, f1.Name)
		j1, _ := json.Marshal(f1)
		j2, _ := json.Marshal(f2)
		require.JSONEq(t, string(j1), string(j2))
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func checkLoaded(t *testing.T, p *drift.Profile, err error) {
	if err != nil {
		require.Nil(t, p)
		return
	}
	require.NoError(t, p.Validate())
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	var back drift.Profile
	require.NoError(t, json.Unmarshal(raw, &back))
	require.NoError(t, back.Validate())
	// Every feature must accept a window without panicking.
	w := back.NewWindow()
	_, err = drift.Compare(&back, w, drift.Config{})
	require.NoError(t, err)
}

func FuzzReadCSV(f *testing.F) {
	f.Add(goodCSV)
	f.Add("a,b\n1,x\n2,y\n,\n")
	f.Add("zip\n75001\nSW1A\n")
	f.Add("x\n1e308\n-1e308\nNaN\n")
	f.Add("x\n1e99\n-1e99\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ReadCSV(strings.NewReader(in), Options{})
		checkLoaded(t, p, err)
	})
}

func FuzzReadNDJSON(f *testing.F) {
	f.Add(`{"features":{"a":1,"b":"x","c":true},"prediction":0.5}` + "\n")
	f.Add(`{"features":{"a":null}}` + "\n" + `{"features":{"a":2}}`)
	f.Add(`{"prediction":"cat"}`)
	f.Add(`{"features":{"a":[1]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ReadNDJSON(strings.NewReader(in), Options{})
		checkLoaded(t, p, err)
	})
}

func TestReadProfile(t *testing.T) {
	p, err := ReadCSV(strings.NewReader(goodCSV), Options{})
	require.NoError(t, err)
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	back, err := ReadProfile(strings.NewReader(string(raw)))
	require.NoError(t, err)
	require.Len(t, back.Features, len(p.Features))

	_, err = ReadProfile(strings.NewReader(`{"features":[],"extra":1}`))
	require.ErrorContains(t, err, "unknown field")
	_, err = ReadProfile(strings.NewReader(`{"features":[{"name":"x","kind":"numeric","rows":2,"edges":[2,1],"ref_cells":[0,1,0,1,0],"ref_sums":[0,2,0,1,0]}]}`))
	require.ErrorContains(t, err, `feature "x": edges[1]`)
	_, err = ReadProfile(strings.NewReader(`{"features":[]} {}`))
	require.ErrorContains(t, err, "more after it")
}

func FuzzReadProfile(f *testing.F) {
	p, _ := ReadCSV(strings.NewReader(goodCSV), Options{})
	raw, _ := json.Marshal(p)
	f.Add(string(raw))
	f.Add(`{"features":[{"name":"x","kind":"boolean","rows":2,"ref_cells":[1,1]}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ReadProfile(strings.NewReader(in))
		checkLoaded(t, p, err)
	})
}
