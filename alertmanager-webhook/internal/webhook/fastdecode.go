package webhook

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// decodeFast reads the shape Alertmanager sends — known keys, string labels, RFC 3339
// times — with fastjson, whose reused parser costs about a third of encoding/json's
// reflection (the largest cost of a notification outside the database). It gives up (ok
// false) at anything else: unknown or repeated keys, nulls, \u escapes, invalid UTF-8,
// numbers that are not integers. The caller then decodes with encoding/json, which also words
// the errors; what decodeFast accepts, it decodes exactly as encoding/json does
// (FuzzDecodeFast compares them).
func decodeFast(pool *fastjson.ParserPool, b []byte) (*Message, bool) {
	if !plainStrings(b) {
		return nil, false
	}
	p := pool.Get()
	defer pool.Put(p)
	root, err := p.ParseBytes(b)
	if err != nil {
		return nil, false
	}
	o, err := root.Object()
	if err != nil {
		return nil, false
	}
	var m Message
	var seen fieldSet
	ok := true
	o.Visit(func(key []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		switch string(key) {
		case "version":
			ok = seen.first(0) && str(v, &m.Version)
		case "groupKey":
			ok = seen.first(1) && str(v, &m.GroupKey)
		case "truncatedAlerts":
			ok = seen.first(2) && integer(v)
			if ok {
				m.TruncatedAlerts, err = v.Uint64()
				ok = err == nil
			}
		case "receiver":
			ok = seen.first(3) && str(v, &m.Receiver)
		case "status":
			ok = seen.first(4) && str(v, &m.Status)
		case "alerts":
			ok = seen.first(5) && alerts(v, &m.Alerts)
		case "groupLabels":
			ok = seen.first(6) && labels(v, &m.GroupLabels)
		case "commonLabels":
			ok = seen.first(7) && labels(v, &m.CommonLabels)
		case "commonAnnotations":
			ok = seen.first(8) && labels(v, &m.CommonAnnotations)
		case "externalURL":
			ok = seen.first(9) && str(v, &m.ExternalURL)
		case "notification_reason":
			ok = seen.first(10) && str(v, &m.NotificationReason)
		case "routeLabels":
			ok = seen.first(11) && labels(v, &m.RouteLabels)
		case "orgId":
			ok = seen.first(12) && integer(v)
			if ok {
				m.OrgID, err = v.Int64()
				ok = err == nil
			}
		case "title":
			ok = seen.first(13) && str(v, &m.Title)
		case "state":
			ok = seen.first(14) && str(v, &m.State)
		case "message":
			ok = seen.first(15) && str(v, &m.Message)
		default:
			ok = false
		}
	})
	if !ok {
		return nil, false
	}
	return &m, true
}

// plainStrings reports whether every string in b uses only the escapes both parsers read
// alike and no control characters: fastjson is lenient with invalid escapes and raw control
// characters, which encoding/json rejects, and it keeps lone \u surrogates that encoding/json
// turns into U+FFFD. Alertmanager writes none of these.
func plainStrings(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			in = !in
		case !in:
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(b) || bytes.IndexByte([]byte(`"\\/bfnrt`), b[i+1]) < 0 {
				return false
			}
			i++
		}
	}
	return true
}

// fieldSet records which fields an object had, to give up on a repeated one (encoding/json
// would let the last win, or merge maps).
type fieldSet uint32

// first reports whether field i is seen for the first time.
func (f *fieldSet) first(i int) bool {
	if *f&(1<<i) != 0 {
		return false
	}
	*f |= 1 << i
	return true
}

// integer reports whether v is a number written as JSON allows an integer: fastjson also
// takes leading zeros.
func integer(v *fastjson.Value) bool {
	if v.Type() != fastjson.TypeNumber {
		return false
	}
	var buf [24]byte
	t := v.MarshalTo(buf[:0])
	if len(t) > 0 && t[0] == '-' {
		t = t[1:]
	}
	if len(t) == 0 || (t[0] == '0' && len(t) > 1) {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// str reads a string that is valid UTF-8 (encoding/json would replace invalid bytes).
func str(v *fastjson.Value, dst *string) bool {
	b, err := v.StringBytes()
	if err != nil || !utf8.Valid(b) {
		return false
	}
	*dst = string(b)
	return true
}

// labels reads an object of strings with distinct keys.
func labels(v *fastjson.Value, dst *map[string]string) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	m := make(map[string]string, o.Len())
	ok := true
	o.Visit(func(key []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		var s string
		if ok = utf8.Valid(key) && str(v, &s); !ok {
			return
		}
		if _, dup := m[string(key)]; dup {
			ok = false
			return
		}
		m[string(key)] = s
	})
	*dst = m
	return ok
}

// timestamp reads an RFC 3339 time the way time.Time's UnmarshalJSON does.
func timestamp(v *fastjson.Value, dst *time.Time) bool {
	b, err := v.StringBytes()
	return err == nil && dst.UnmarshalText(b) == nil
}

func alerts(v *fastjson.Value, dst *[]Alert) bool {
	arr, err := v.Array()
	if err != nil {
		return false
	}
	out := make([]Alert, len(arr))
	for i, av := range arr {
		o, err := av.Object()
		if err != nil {
			return false
		}
		a := &out[i]
		var seen fieldSet
		ok := true
		o.Visit(func(key []byte, v *fastjson.Value) {
			if !ok {
				return
			}
			switch string(key) {
			case "status":
				ok = seen.first(0) && str(v, &a.Status)
			case "labels":
				ok = seen.first(1) && labels(v, &a.Labels)
			case "annotations":
				ok = seen.first(2) && labels(v, &a.Annotations)
			case "startsAt":
				ok = seen.first(3) && timestamp(v, &a.StartsAt)
			case "endsAt":
				ok = seen.first(4) && timestamp(v, &a.EndsAt)
			case "generatorURL":
				ok = seen.first(5) && str(v, &a.GeneratorURL)
			case "fingerprint":
				ok = seen.first(6) && str(v, &a.Fingerprint)
			case "silenceURL":
				ok = seen.first(7) && str(v, &a.SilenceURL)
			case "dashboardURL":
				ok = seen.first(8) && str(v, &a.DashboardURL)
			case "panelURL":
				ok = seen.first(9) && str(v, &a.PanelURL)
			default:
				ok = false
			}
		})
		if !ok {
			return false
		}
	}
	*dst = out
	return true
}
