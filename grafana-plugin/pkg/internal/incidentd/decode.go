package incidentd

import (
	"fmt"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/valyala/fastjson"
)

// decodePage reads a page of /api/v1/incidents. It is the plugin's hot path — a six-month
// range is tens of pages of 500 incidents — and does with fastjson what encoding/json's
// reflection does about four times slower (BenchmarkDecodePage). It accepts what
// encoding/json accepts into Page, ignores unknown fields like it, and fails on a wrong
// type naming the field; TestDecodePageMatchesEncodingJSON and FuzzDecodePage hold it to
// that.
func decodePage(p *fastjson.Parser, data []byte) (*Page, error) {
	v, err := p.ParseBytes(data)
	if err != nil {
		return nil, err
	}
	root, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("page: expected a JSON object, got %s", v.Type())
	}
	page := &Page{Incidents: []Incident{}}
	var ferr error
	root.Visit(func(key []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		switch string(key) {
		case "next_cursor":
			page.NextCursor, ferr = str(v, "next_cursor")
		case "incidents":
			// A later key replaces an earlier one, null with none, as with encoding/json.
			if page.Incidents, ferr = decodeIncidents(v); page.Incidents == nil {
				page.Incidents = []Incident{}
			}
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	return page, nil
}

// decodeIncidents reads the incidents array of a page; null is none (nil).
func decodeIncidents(v *fastjson.Value) ([]Incident, error) {
	if v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	arr, err := v.Array()
	if err != nil {
		return nil, fmt.Errorf("incidents: expected an array, got %s", v.Type())
	}
	incidents := make([]Incident, len(arr))
	for i, item := range arr {
		if err := decodeIncident(item, &incidents[i]); err != nil {
			return nil, fmt.Errorf("incidents[%d].%w", i, err)
		}
	}
	return incidents, nil
}

func decodeIncident(v *fastjson.Value, in *Incident) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return fmt.Errorf("incident: expected an object, got %s", v.Type())
	}
	var ferr error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		k := string(key)
		switch k {
		case "id":
			in.ID, ferr = i64(v, k)
		case "group_key":
			in.GroupKey, ferr = str(v, k)
		case "title":
			in.Title, ferr = str(v, k)
		case "summary":
			in.Summary, ferr = str(v, k)
		case "tier":
			in.Tier, ferr = named[incidentapi.Tier](v, k)
		case "alert_tier":
			in.AlertTier, ferr = named[incidentapi.Tier](v, k)
		case "team":
			in.Team, ferr = str(v, k)
		case "model":
			in.Model, ferr = str(v, k)
		case "state":
			in.State, ferr = named[incidentapi.State](v, k)
		case "assignee":
			in.Assignee, ferr = str(v, k)
		case "labels":
			in.Labels, ferr = strMap(v, k)
		case "runbook_url":
			in.RunbookURL, ferr = str(v, k)
		case "detected_at":
			in.DetectedAt, ferr = tm(v, k)
		case "triaged_at":
			in.TriagedAt, ferr = tm(v, k)
		case "contained_at":
			in.ContainedAt, ferr = tm(v, k)
		case "investigating_at":
			in.InvestigAt, ferr = tm(v, k)
		case "resolved_at":
			in.ResolvedAt, ferr = tm(v, k)
		case "reviewed_at":
			in.ReviewedAt, ferr = tm(v, k)
		case "resolved_by":
			in.ResolvedBy, ferr = str(v, k)
		case "created_at":
			in.CreatedAt, ferr = tm(v, k)
		case "updated_at":
			in.UpdatedAt, ferr = tm(v, k)
		case "reopen_count":
			var n int64
			n, ferr = i64(v, k)
			in.ReopenCount = int(n)
		case "alerts_firing":
			var n int64
			n, ferr = i64(v, k)
			in.AlertsFiring = int(n)
		case "alerts_total":
			var n int64
			n, ferr = i64(v, k)
			in.AlertsTotal = int(n)
		case "mtta_seconds":
			in.MTTASeconds, ferr = f64(v, k)
		case "mttr_seconds":
			in.MTTRSeconds, ferr = f64(v, k)
		case "sla_breached":
			in.SLABreached, ferr = boolean(v, k)
		}
	})
	return ferr
}

// The helpers keep encoding/json's rule that null leaves the zero value.

// named reads a string into a named string type (tier, state).
func named[S ~string](v *fastjson.Value, field string) (S, error) {
	s, err := str(v, field)
	return S(s), err
}

func str(v *fastjson.Value, field string) (string, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return "", nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b), nil
	}
	return "", fmt.Errorf("%s: expected a string, got %s", field, v.Type())
}

func i64(v *fastjson.Value, field string) (int64, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return 0, nil
	case fastjson.TypeNumber:
	default:
		return 0, fmt.Errorf("%s: expected an integer, got %s", field, v.Type())
	}
	n, err := v.Int64()
	if err != nil {
		return 0, fmt.Errorf("%s: expected an integer, got %s", field, v)
	}
	return n, nil
}

func f64(v *fastjson.Value, field string) (float64, error) {
	if v.Type() == fastjson.TypeNull {
		return 0, nil
	}
	if v.Type() != fastjson.TypeNumber {
		return 0, fmt.Errorf("%s: expected a number, got %s", field, v.Type())
	}
	f, err := v.Float64()
	if err != nil {
		return 0, fmt.Errorf("%s: expected a number, got %s", field, v)
	}
	return f, nil
}

func boolean(v *fastjson.Value, field string) (bool, error) {
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeFalse:
		return false, nil
	case fastjson.TypeTrue:
		return true, nil
	}
	return false, fmt.Errorf("%s: expected true or false, got %s", field, v.Type())
}

func tm(v *fastjson.Value, field string) (time.Time, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return time.Time{}, nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: expected an RFC 3339 time, got %q", field, b)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: expected an RFC 3339 time, got %s", field, v.Type())
}

func strMap(v *fastjson.Value, field string) (map[string]string, error) {
	if v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	o, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("%s: expected an object of strings, got %s", field, v.Type())
	}
	m := make(map[string]string, o.Len())
	var ferr error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		if v.Type() != fastjson.TypeString {
			if v.Type() == fastjson.TypeNull {
				m[string(key)] = ""
				return
			}
			ferr = fmt.Errorf("%s.%s: expected a string, got %s", field, key, v.Type())
			return
		}
		b, _ := v.StringBytes()
		m[string(key)] = string(b)
	})
	return m, ferr
}
