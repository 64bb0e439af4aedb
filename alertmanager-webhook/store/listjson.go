package store

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the page as encoding/json would encode it (plus the newline a
// json.Encoder writes), without reflection: listing pages of 500 incidents spent as much
// time in reflective encoding as in SQLite. The incident JSON tests check the bytes are the
// same as json.Marshal's.
func (p *Page) AppendJSON(b []byte) []byte {
	b = append(b, `{"incidents":[`...)
	for k := range p.Incidents {
		if k > 0 {
			b = append(b, ',')
		}
		b = p.Incidents[k].AppendJSON(b)
	}
	b = append(b, ']')
	if p.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendString(b, p.NextCursor)
	}
	return append(b, "}\n"...)
}

// AppendJSON appends the incident's JSON, byte for byte what json.Marshal gives.
func (i *Incident) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i.ID, 10)
	b = appendField(b, "group_key", i.GroupKey)
	b = appendField(b, "title", i.Title)
	b = appendField(b, "summary", i.Summary)
	b = appendField(b, "tier", string(i.Tier))
	b = appendField(b, "alert_tier", string(i.AlertTier))
	b = appendField(b, "team", i.Team)
	b = appendField(b, "model", i.Model)
	b = append(b, `,"labels":`...)
	if i.labelsJSON != nil {
		b = append(b, i.labelsJSON...)
	} else {
		l, _ := json.Marshal(i.Labels) // a map[string]string always encodes
		b = append(b, l...)
	}
	b = appendField(b, "state", string(i.State))
	b = appendField(b, "assignee", i.Assignee)
	b = appendTime(b, "detected_at", i.DetectedAt, false)
	b = appendTime(b, "triaged_at", i.TriagedAt, true)
	b = appendTime(b, "contained_at", i.ContainedAt, true)
	b = appendTime(b, "investigating_at", i.InvestigAt, true)
	b = appendTime(b, "resolved_at", i.ResolvedAt, true)
	b = appendTime(b, "reviewed_at", i.ReviewedAt, true)
	if i.ResolvedBy != "" {
		b = appendField(b, "resolved_by", i.ResolvedBy)
	}
	b = append(b, `,"alerts_firing":`...)
	b = strconv.AppendInt(b, int64(i.AlertsFiring), 10)
	b = append(b, `,"alerts_total":`...)
	b = strconv.AppendInt(b, int64(i.AlertsTotal), 10)
	b = append(b, `,"reopen_count":`...)
	b = strconv.AppendInt(b, int64(i.ReopenCount), 10)
	b = appendTime(b, "created_at", i.CreatedAt, false)
	b = appendTime(b, "updated_at", i.UpdatedAt, false)
	if i.MTTASeconds != 0 {
		b = append(b, `,"mtta_seconds":`...)
		b = appendFloat(b, i.MTTASeconds)
	}
	if i.MTTRSeconds != 0 {
		b = append(b, `,"mttr_seconds":`...)
		b = appendFloat(b, i.MTTRSeconds)
	}
	b = append(b, `,"sla_breached":`...)
	b = strconv.AppendBool(b, i.SLABreached)
	return append(b, '}')
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString quotes plain ASCII directly and leaves anything encoding/json escapes
// (quotes, backslashes, control characters, <, >, &, non-ASCII) to encoding/json.
func appendString(b []byte, s string) []byte {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendTime(b []byte, name string, t time.Time, omitZero bool) []byte {
	if omitZero && t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	// Stored times are int64 nanoseconds (years 1678–2262), always within RFC 3339's range.
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat formats like encoding/json: shortest representation, exponent only for
// very small or very large magnitudes.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...) // unreachable for durations; json.Marshal would fail
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
