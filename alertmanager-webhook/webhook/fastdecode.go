package webhook

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeFast parses the shape Alertmanager sends — known keys, string labels, RFC 3339
// times — without reflection, which costs encoding/json about four times as much CPU
// (the largest cost of a notification outside the database). It gives up (ok false) at
// anything else: unknown or repeated keys, nulls, \u escapes, invalid UTF-8, numbers
// outside integers, trailing data. The caller then decodes with encoding/json, which also
// words the errors; what decodeFast accepts, it decodes exactly as encoding/json does
// (FuzzDecodeFast compares them).
func decodeFast(b []byte) (*Message, bool) {
	p := parser{b: b}
	var m Message
	var seen fieldSet
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "version":
			return seen.first(0) && p.str(&m.Version)
		case "groupKey":
			return seen.first(1) && p.str(&m.GroupKey)
		case "truncatedAlerts":
			return seen.first(2) && p.uint(&m.TruncatedAlerts)
		case "receiver":
			return seen.first(3) && p.str(&m.Receiver)
		case "status":
			return seen.first(4) && p.str(&m.Status)
		case "alerts":
			return seen.first(5) && p.alerts(&m.Alerts)
		case "groupLabels":
			return seen.first(6) && p.labels(&m.GroupLabels)
		case "commonLabels":
			return seen.first(7) && p.labels(&m.CommonLabels)
		case "commonAnnotations":
			return seen.first(8) && p.labels(&m.CommonAnnotations)
		case "externalURL":
			return seen.first(9) && p.str(&m.ExternalURL)
		case "notification_reason":
			return seen.first(10) && p.str(&m.NotificationReason)
		case "routeLabels":
			return seen.first(11) && p.labels(&m.RouteLabels)
		case "orgId":
			return seen.first(12) && p.int(&m.OrgID)
		case "title":
			return seen.first(13) && p.str(&m.Title)
		case "state":
			return seen.first(14) && p.str(&m.State)
		case "message":
			return seen.first(15) && p.str(&m.Message)
		}
		return false
	})
	p.space()
	if !ok || p.i != len(p.b) {
		return nil, false
	}
	return &m, true
}

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c if it comes next.
func (p *parser) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object calls member for each key, with the parser at the value, until the closing brace.
func (p *parser) object(member func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		key, ok := p.key()
		if !ok || !p.next(':') || !member(key) {
			return false
		}
		if p.next('}') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
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

// key reads an object key in place: printable ASCII without escapes, which every name
// decodeFast knows is (anything else is a key it does not know).
func (p *parser) key() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// str reads a string with at most the one-character escapes.
func (p *parser) str(dst *string) bool {
	if !p.next('"') {
		return false
	}
	start, ascii := p.i, true
	var buf []byte // only once an escape was seen
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			var s string
			if buf != nil {
				s = string(append(buf, p.b[start:p.i]...))
			} else {
				s = string(p.b[start:p.i])
			}
			p.i++
			if !ascii && !utf8.ValidString(s) {
				return false // encoding/json replaces invalid bytes
			}
			*dst = s
			return true
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return false
			}
			var r byte
			switch p.b[p.i+1] {
			case '"', '\\', '/':
				r = p.b[p.i+1]
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			default:
				return false // \u and invalid escapes
			}
			buf = append(append(buf, p.b[start:p.i]...), r)
			p.i += 2
			start = p.i
		case c < 0x20:
			return false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			p.i++
		}
	}
	return false
}

// digits reads a run of decimal digits without a leading zero (except "0" itself).
func (p *parser) digits() (string, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	d := string(p.b[start:p.i])
	if d == "" || (len(d) > 1 && d[0] == '0') {
		return "", false
	}
	// A fraction or exponent makes it a number encoding/json treats otherwise.
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return "", false
	}
	return d, true
}

func (p *parser) uint(dst *uint64) bool {
	p.space()
	d, ok := p.digits()
	if !ok {
		return false
	}
	v, err := strconv.ParseUint(d, 10, 64)
	*dst = v
	return err == nil
}

func (p *parser) int(dst *int64) bool {
	p.space()
	neg := p.i < len(p.b) && p.b[p.i] == '-'
	if neg {
		p.i++
	}
	d, ok := p.digits()
	if !ok {
		return false
	}
	if neg {
		d = "-" + d
	}
	v, err := strconv.ParseInt(d, 10, 64)
	*dst = v
	return err == nil
}

func (p *parser) labels(dst *map[string]string) bool {
	if !p.next('{') {
		return false
	}
	m := map[string]string{}
	*dst = m
	if p.next('}') {
		return true
	}
	for {
		var k, v string
		if !p.str(&k) || !p.next(':') || !p.str(&v) {
			return false
		}
		if _, dup := m[k]; dup {
			return false
		}
		m[k] = v
		if p.next('}') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

func (p *parser) time(dst *time.Time) bool {
	p.space()
	start := p.i
	var s string
	if !p.str(&s) {
		return false
	}
	// Time's own decoding, on the quoted text, is what encoding/json calls.
	return dst.UnmarshalJSON(p.b[start:p.i]) == nil
}

func (p *parser) alerts(dst *[]Alert) bool {
	if !p.next('[') {
		return false
	}
	as := []Alert{}
	if !p.next(']') {
		for {
			var a Alert
			var seen fieldSet
			ok := p.object(func(key []byte) bool {
				switch string(key) {
				case "status":
					return seen.first(0) && p.str(&a.Status)
				case "labels":
					return seen.first(1) && p.labels(&a.Labels)
				case "annotations":
					return seen.first(2) && p.labels(&a.Annotations)
				case "startsAt":
					return seen.first(3) && p.time(&a.StartsAt)
				case "endsAt":
					return seen.first(4) && p.time(&a.EndsAt)
				case "generatorURL":
					return seen.first(5) && p.str(&a.GeneratorURL)
				case "fingerprint":
					return seen.first(6) && p.str(&a.Fingerprint)
				case "silenceURL":
					return seen.first(7) && p.str(&a.SilenceURL)
				case "dashboardURL":
					return seen.first(8) && p.str(&a.DashboardURL)
				case "panelURL":
					return seen.first(9) && p.str(&a.PanelURL)
				}
				return false
			})
			if !ok {
				return false
			}
			as = append(as, a)
			if p.next(']') {
				break
			}
			if !p.next(',') {
				return false
			}
		}
	}
	*dst = as
	return true
}
