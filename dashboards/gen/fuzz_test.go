package gen

import "testing"

// FuzzIncidentsQuery checks the plugin query decoder: any input gives a query
// or an error, and a decoded query re-validates without panicking.
func FuzzIncidentsQuery(f *testing.F) {
	f.Add([]byte(`{"queryType":"counts","state":"open","splitBy":"tier","refId":"A"}`))
	f.Add([]byte(`{"queryType":"stats","stat":"mttr","datasource":{"type":"opscentre-incidents-datasource","uid":"${incidents}"}}`))
	f.Add([]byte(`{"tier":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		q, err := unmarshalIncidentsQueryStrict(raw)
		if err != nil {
			return
		}
		_ = q.Validate()
		_ = q.Equals(q)
	})
}
