package output

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/rulegen/internal/compile"
)

// ruleYAML writes rule groups byte for byte as gopkg.in/yaml.v3 encodes them with an indent
// of 2 (the format of every rule file rulegen has written), without reflection: encoding
// through yaml.v3 took a fifth of the CPU and a third of the allocations of a large run.
//
// Scalars take a fast path for the cases that cover nearly every rule (plain or
// single-quoted single-line text); anything else — a string yaml.v3 would double-quote, a
// multi-line runbook written as a literal block, text starting with a digit or sign that
// could read as a number or timestamp — is encoded by yaml.v3 itself, one key/value pair at a
// time, and cached. FuzzScalar checks the fast path against yaml.v3 for arbitrary strings.
type ruleYAML struct {
	mu    sync.Mutex
	cache map[string]string // key "\x00" value → lines of the pair from yaml.v3
}

// maxPairCache bounds the pairs kept from the yaml.v3 fallback; the ones that repeat
// (durations, tier labels) are met early.
const maxPairCache = 4096

func newRuleYAML() *ruleYAML { return &ruleYAML{cache: map[string]string{}} }

// groups appends "groups:" at column ind and the groups under it.
func (y *ruleYAML) groups(dst []byte, ind int, gs []*compile.Group) []byte {
	if len(gs) == 0 {
		return append(spaces(dst, ind), "groups: []\n"...)
	}
	dst = append(spaces(dst, ind), "groups:\n"...)
	for _, g := range gs {
		dst = y.group(dst, ind+2, g)
	}
	return dst
}

// group appends one group as a sequence item whose "- " is at column ind.
func (y *ruleYAML) group(dst []byte, ind int, g *compile.Group) []byte {
	dst = y.pair(dst, ind+2, true, "name", "opscentre-"+g.Name)
	if len(g.Rules) == 0 {
		return append(spaces(dst, ind+2), "rules: []\n"...)
	}
	dst = append(spaces(dst, ind+2), "rules:\n"...)
	for i := range g.Rules {
		dst = y.rule(dst, ind+6, &g.Rules[i])
	}
	return dst
}

// rule appends one rule as a sequence item whose mapping is at column ind.
func (y *ruleYAML) rule(dst []byte, ind int, r *compile.Rule) []byte {
	item := true
	if r.Record != "" {
		dst = y.pair(dst, ind, item, "record", r.Record)
		item = false
	}
	if r.Alert != "" {
		dst = y.pair(dst, ind, item, "alert", r.Alert)
		item = false
	}
	dst = y.pair(dst, ind, item, "expr", r.Expr)
	if s := durStr(r.For); s != "" {
		dst = y.pair(dst, ind, false, "for", s)
	}
	if s := durStr(r.KeepFiringFor); s != "" {
		dst = y.pair(dst, ind, false, "keep_firing_for", s)
	}
	dst = y.mapping(dst, ind, "labels", r.Labels, false)
	return y.mapping(dst, ind, "annotations", r.Annotations, true)
}

// mapping appends a string map with sorted keys, left out when empty (omitempty); empty
// values are skipped when skipEmpty is set, as annotations always were.
func (y *ruleYAML) mapping(dst []byte, ind int, name string, m map[string]string, skipEmpty bool) []byte {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != "" || !skipEmpty {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return dst
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	dst = append(spaces(dst, ind), name...)
	dst = append(dst, ":\n"...)
	for _, k := range keys {
		dst = y.pair(dst, ind+2, false, k, m[k])
	}
	return dst
}

// pair appends "key: value" of a mapping at column ind; item starts a sequence item, with
// "- " in the two columns before ind.
func (y *ruleYAML) pair(dst []byte, ind int, item bool, key, value string) []byte {
	if item {
		dst = append(spaces(dst, ind-2), "- "...)
	} else {
		dst = spaces(dst, ind)
	}
	if k, ok := fastScalar(key, true); ok {
		if v, ok := fastScalar(value, false); ok {
			dst = appendScalar(dst, key, k)
			dst = append(dst, ": "...)
			dst = appendScalar(dst, value, v)
			return append(dst, '\n')
		}
	}
	lines := y.slow(ind, key, value)
	return append(dst, lines[ind:]...)
}

// slow encodes one pair with yaml.v3, nested so that it sits at column ind: a scalar that
// holds a line break (a literal block, or a Unicode line separator in quotes) is followed
// by indentation that depends on the column.
func (y *ruleYAML) slow(ind int, key, value string) string {
	ck := strconv.Itoa(ind) + "\x00" + key + "\x00" + value
	y.mu.Lock()
	out, ok := y.cache[ck]
	y.mu.Unlock()
	if ok {
		return out
	}
	var v any = map[string]string{key: value}
	for range ind / 2 {
		v = map[string]any{"a": v}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil || enc.Close() != nil {
		// yaml.v3 encodes every string (invalid UTF-8 as !!binary); should it ever fail,
		// JSON strings are valid YAML double-quoted scalars.
		k, _ := json.Marshal(key)
		val, _ := json.Marshal(value)
		return strings.Repeat(" ", ind) + string(k) + ": " + string(val) + "\n"
	}
	out = b.String()
	for range ind / 2 {
		out = out[strings.IndexByte(out, '\n')+1:]
	}
	if len(ck) <= 256 {
		y.mu.Lock()
		if len(y.cache) < maxPairCache {
			y.cache[ck] = out
		}
		y.mu.Unlock()
	}
	return out
}

type scalarStyle uint8

const (
	plainStyle scalarStyle = iota
	singleQuoted
)

// fastScalar reports how yaml.v3 writes s as a block-context scalar (a mapping key when key
// is true) when that is plain or single-quoted text it can be sure of; ok is false otherwise.
// It follows yaml.v3's encoder (stringv, resolve) and emitter (analyze_scalar,
// select_scalar_style).
func fastScalar(s string, key bool) (scalarStyle, bool) {
	if s == "" || (key && len(s) > 128) || !utf8.ValidString(s) {
		return 0, false
	}
	// Would s read back as something other than a string when plain? Strings that may be
	// numbers, timestamps or base-60 floats go to yaml.v3.
	switch c := s[0]; {
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return 0, false
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE", "~", "null", "Null", "NULL",
			"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF":
			return 0, false
		}
	}
	blockIndicators := false
	precededByWS := true
	for i := 0; i < len(s); {
		c := s[i]
		w := utf8width(c)
		followedByWS := i+w >= len(s) || s[i+w] == ' ' || s[i+w] == '\t'
		if i == 0 {
			switch c {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				blockIndicators = true
			case '?', ':':
				if followedByWS {
					blockIndicators = true
				}
			}
		} else {
			switch c {
			case ':':
				if followedByWS {
					blockIndicators = true
				}
			case '#':
				if precededByWS {
					blockIndicators = true
				}
			}
		}
		// Tabs, line breaks and characters yaml.v3 does not print as they are make it
		// double-quote or write a block: leave those to yaml.v3.
		if c == '\t' || c == '\n' || c == '\r' || !printable(s, i) {
			return 0, false
		}
		if c >= 0x80 && (c == 0xC2 && s[i+1] == 0x85 || c == 0xE2 && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9)) {
			return 0, false // NEL, LS, PS are line breaks to YAML
		}
		precededByWS = c == ' '
		i += w
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		// Leading or trailing space: single-quoted.
		return singleQuoted, true
	}
	if len(s) >= 3 && (strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...")) {
		blockIndicators = true
	}
	if blockIndicators {
		return singleQuoted, true
	}
	return plainStyle, true
}

func appendScalar(dst []byte, s string, st scalarStyle) []byte {
	if st == plainStyle {
		return append(dst, s...)
	}
	dst = append(dst, '\'')
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '\'')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '\'')
}

// utf8width is the length of the UTF-8 sequence starting with c.
func utf8width(c byte) int {
	switch {
	case c&0x80 == 0:
		return 1
	case c&0xE0 == 0xC0:
		return 2
	case c&0xF0 == 0xE0:
		return 3
	case c&0xF8 == 0xF0:
		return 4
	}
	return 0
}

// printable is yaml.v3's is_printable for valid UTF-8 (it excludes all four-byte
// sequences, the BOM and U+FFFE/U+FFFF).
func printable(s string, i int) bool {
	c := s[i]
	switch {
	case c == 0x0A || (c >= 0x20 && c <= 0x7E):
		return true
	case c == 0xC2:
		return s[i+1] >= 0xA0
	case c > 0xC2 && c < 0xED:
		return true
	case c == 0xED:
		return s[i+1] < 0xA0
	case c == 0xEE:
		return true
	case c == 0xEF:
		return !(s[i+1] == 0xBB && s[i+2] == 0xBF) && !(s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF))
	}
	return false
}

func spaces(dst []byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, ' ')
	}
	return dst
}

// keyLess orders mapping keys as yaml.v3 does (its keyList): letters in rune order, runs of
// digits by their value, so "a2" comes before "a10".
func keyLess(a, b string) bool {
	ar, br := []rune(a), []rune(b)
	digits := false
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			digits = unicode.IsDigit(ar[i])
			continue
		}
		al := unicode.IsLetter(ar[i])
		bl := unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			if digits {
				return al
			}
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}
