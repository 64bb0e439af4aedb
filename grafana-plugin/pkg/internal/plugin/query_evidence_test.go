package plugin

import (
	"encoding/json"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/stretchr/testify/require"
)

// evidenceJSON is an answer of incidentd's GET /api/v1/incidents/{id}/evidence.
const evidenceJSON = `{"incident_id":2,"gathered_at":"2026-11-29T09:30:12Z","tier":"P2","model":"fraud-v3","at":"2026-11-29T09:30:00Z",
"window":"10m","baseline":"1h","queries":12,"duration_ms":84,"errors":["node_cpu_busy: timeout"],
"causes":[
 {"name":"inputs_changed","verdict":"supported","hinted":true,"reason":"drifted: amount","findings":[
   {"name":"drifted feature amount","now":0.81,"before":0.02,"query":"max by (feature) (aiops_feature_drift_score{model=\"fraud-v3\",method=\"psi\"})","panel":"/d/opscentre-data-quality-drift?var-model=fraud-v3&viewPanel=1"}]},
 {"name":"version_mismatch","verdict":"not_supported","reason":"the same versions served traffic before, and no deployment was recorded"},
 {"name":"capacity","verdict":"unknown","reason":"no latency series for this model"}],
"similar":[{"id":1,"title":"amount drift","score":1,"resolved_by":"alice","root_cause":"ETL switched to cents"}]}`

func TestEvidenceQuery(t *testing.T) {
	fake := newFake(fixture())
	fake.evidence = map[int64]json.RawMessage{2: json.RawMessage(evidenceJSON)}
	srv := fake.start(t)
	d := newTestDS(t, srv.URL, nil, "plugin")

	r := run(t, d, nil, nil, q{queryType: QueryEvidence, json: map[string]any{"incidentId": "2"}}).Responses["A"]
	require.NoError(t, r.Error)
	experimental.CheckGoldenJSONResponse(t, "testdata", "evidence", &r, *update)
	f := r.Frames[0]
	require.Equal(t, 3, f.Rows(), "one row per finding, one per cause without findings")
	cause, _ := f.FieldByName("cause")
	verdict, _ := f.FieldByName("verdict")
	finding, _ := f.FieldByName("finding")
	now, _ := f.FieldByName("now")
	before, _ := f.FieldByName("before")
	require.Equal(t, "inputs_changed", cause.At(0))
	require.Equal(t, "supported", verdict.At(0))
	require.Equal(t, "drifted feature amount", finding.At(0))
	require.Equal(t, 0.81, *now.At(0).(*float64))
	require.Equal(t, 0.02, *before.At(0).(*float64))
	require.Nil(t, now.At(2).(*float64), "no number: null, not zero")
	require.Len(t, f.Meta.Notices, 2, "the failed query and the most similar incident")

	for _, tc := range []struct {
		id     any
		status backend.Status
		msg    string
	}{
		{nil, backend.StatusBadRequest, "incidentId: required"},
		{1, backend.StatusNotFound, "not gathered yet"},
	} {
		r := run(t, d, nil, nil, q{queryType: QueryEvidence, json: map[string]any{"incidentId": tc.id}}).Responses["A"]
		require.ErrorContains(t, r.Error, tc.msg)
		require.Equal(t, tc.status, r.Status)
	}
}
