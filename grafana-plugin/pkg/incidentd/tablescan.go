package incidentd

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads JSON in one pass, without building a tree: the table decoder's reader.
// A page of 10,000 incidents parsed into a fastjson tree and then visited spent as much
// CPU in the tree and in the garbage collector as in reading the values. It checks the
// whole grammar (what it accepts, json.Valid accepts: FuzzDecodeTable holds it to that)
// and decodes strings as encoding/json does (invalid UTF-8 and lone surrogates become
// U+FFFD).
type scanner struct {
	b []byte
	i int
	// key and val hold decoded keys and values that had escapes, reused: a result is
	// valid until the next key or value of its kind is read.
	key, val []byte
}

// maxDepth bounds the nesting of skipped values, like fastjson's MaxDepth.
const maxDepth = 300

var errEnd = errors.New("cannot parse JSON: unexpected end")

func (s *scanner) syntax(what string) error {
	return fmt.Errorf("cannot parse JSON at offset %d: %s", s.i, what)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// typeName names the JSON type a value starting with c has, for errors.
func typeName(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't':
		return "true"
	case 'f':
		return "false"
	case 'n':
		return "null"
	}
	return "number"
}

// literal reads true, false or null.
func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.syntax("expected " + word)
	}
	s.i += len(word)
	return nil
}

// null reads null if it comes next.
func (s *scanner) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// rawString reads a string and returns its bytes; plain reports that they are the
// string's own bytes (printable ASCII without escapes) and need no decoding.
func (s *scanner) rawString() (raw []byte, plain bool, err error) {
	if s.peek() != '"' {
		return nil, false, s.syntax("expected a string")
	}
	start := s.i
	plain = true
	j := start + 1
	for j < len(s.b) && plainByte[s.b[j]] {
		j++
	}
	for ; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			if plain {
				return s.b[start+1 : j], true, nil
			}
			return s.b[start : j+1], false, nil
		case c == '\\':
			plain = false
			j++
		case c < 0x20:
			s.i = j
			return nil, false, s.syntax("control character in string")
		case c >= 0x80:
			plain = false
		}
	}
	return nil, false, errEnd
}

// plainByte marks the bytes a string holds as they are: printable ASCII but the quote and
// the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringBytes reads a string value; the result aliases the input or s.val, so it is
// valid until the next value is read.
func (s *scanner) stringBytes() ([]byte, error) {
	raw, plain, err := s.rawString()
	if err != nil || plain {
		return raw, err
	}
	s.val, err = unquote(s.val[:0], raw)
	return s.val, err
}

// keyBytes reads an object key, like stringBytes but into s.key.
func (s *scanner) keyBytes() ([]byte, error) {
	raw, plain, err := s.rawString()
	if err != nil || plain {
		return raw, err
	}
	s.key, err = unquote(s.key[:0], raw)
	return s.key, err
}

// unquote appends the decoded string of the quoted token raw to out.
func unquote(out, raw []byte) ([]byte, error) {
	raw = raw[1 : len(raw)-1]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			if i+1 >= len(raw) {
				return out, errors.New("cannot parse JSON: escape at the end of a string")
			}
			switch e := raw[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(raw[i+2:])
				if !ok {
					return out, fmt.Errorf("cannot parse JSON: invalid escape %q", raw[i:min(i+6, len(raw))])
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair makes one rune; a lone half is U+FFFD, as in encoding/json.
					if len(raw) >= i+6 && raw[i] == '\\' && raw[i+1] == 'u' {
						if r2, ok := hex4(raw[i+2:]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return out, fmt.Errorf("cannot parse JSON: invalid escape %q", raw[i:i+2])
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, raw[i:i+size]...)
			}
			i += size
		}
	}
	return out, nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number token.
func (s *scanner) number() ([]byte, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		return nil, s.syntax("expected a value")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, s.syntax("expected digits after the decimal point")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, s.syntax("expected digits in the exponent")
		}
	}
	return s.b[start:s.i], nil
}

// skip reads any value and discards it.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.syntax("too deeply nested")
	}
	switch c := s.peek(); c {
	case 0:
		return errEnd
	case '{':
		return s.object(func([]byte) error { return s.skip(depth + 1) })
	case '[':
		return s.array(func(int) error { return s.skip(depth + 1) })
	case '"':
		_, err := s.stringBytes()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, err := s.number()
		return err
	}
}

// object reads an object, calling member for each key with the scanner at its value;
// member must read the value. The key is only valid during the call.
func (s *scanner) object(member func(key []byte) error) error {
	s.i++ // {
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.syntax("expected an object key")
		}
		key, err := s.keyBytes()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.syntax("expected a colon after an object key")
		}
		s.i++
		if s.peek() == 0 {
			return errEnd
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		case 0:
			return errEnd
		default:
			return s.syntax("expected a comma or the end of the object")
		}
	}
}

// array reads an array, calling item for each element with the scanner at it.
func (s *scanner) array(item func(k int) error) error {
	s.i++ // [
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for k := 0; ; k++ {
		if s.peek() == 0 {
			return errEnd
		}
		if err := item(k); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		case 0:
			return errEnd
		default:
			return s.syntax("expected a comma or the end of the array")
		}
	}
}

// The typed readers below follow decodePage's rules: null leaves the zero value, any
// other type is an error naming the field.

func (s *scanner) str(field string) ([]byte, error) {
	switch c := s.peek(); c {
	case 'n':
		return nil, s.literal("null")
	case '"':
		return s.stringBytes()
	default:
		if err := s.skip(0); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: expected a string, got %s", field, typeName(c))
	}
}

func (s *scanner) i64(field string) (int64, error) {
	switch c := s.peek(); c {
	case 'n':
		return 0, s.literal("null")
	case '{', '[', '"', 't', 'f':
		if err := s.skip(0); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%s: expected an integer, got %s", field, typeName(c))
	}
	tok, err := s.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: expected an integer, got %s", field, tok)
	}
	return n, nil
}

func (s *scanner) boolean(field string) (bool, error) {
	switch c := s.peek(); c {
	case 'n':
		return false, s.literal("null")
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	default:
		if err := s.skip(0); err != nil {
			return false, err
		}
		return false, fmt.Errorf("%s: expected true or false, got %s", field, typeName(c))
	}
}

func (s *scanner) time(field string) (time.Time, error) {
	switch c := s.peek(); c {
	case 'n':
		return time.Time{}, s.literal("null")
	case '"':
		b, err := s.stringBytes()
		if err != nil {
			return time.Time{}, err
		}
		if t, ok := parseUTC(b); ok {
			return t, nil
		}
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: expected an RFC 3339 time, got %q", field, b)
		}
		return t, nil
	default:
		if err := s.skip(0); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, fmt.Errorf("%s: expected an RFC 3339 time, got %s", field, typeName(c))
	}
}

// parseUTC reads the form incidentd writes, 2006-01-02T15:04:05[.999999999]Z, without
// time.Parse's generality (a third of decoding a row went to it); ok is false for
// anything else, which time.Parse then reads (or refuses). Days past the 28th go to
// time.Parse too, so this never has to know month lengths.
func parseUTC(b []byte) (t time.Time, ok bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return t, false
	}
	num := func(from, to int) int {
		n := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return t, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return t, false
		}
		if nsec = num(20, len(b)-1); nsec < 0 {
			return t, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}
