// Package reference reads reference (baseline) data — CSV tables or NDJSON files of events —
// and freezes it into a drift.Profile. A file is either loaded completely or not at all: the
// first bad row stops the load with an error naming the row and the column.
package reference

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opscentre/opscentre/exporter/drift"
)

// PredictionFeature is the name the model's output gets in a profile, so it cannot collide
// with an input feature.
const PredictionFeature = "__prediction__"

// Options control reading. The zero value means the defaults.
type Options struct {
	Profile drift.ProfileOptions
	// Kinds fixes the kind of some columns/features; the others take the kind of their first
	// non-null value (a number, true/false, or anything else as a category).
	Kinds map[string]drift.Kind
	// PredictionColumn is the CSV column holding the prediction (default "prediction").
	PredictionColumn string
	// Ignore lists CSV columns to skip, such as ids and timestamps.
	Ignore []string
	// MaxFeatures bounds the number of features (default 1000); MaxLineBytes the NDJSON line
	// length (default 1 MiB).
	MaxFeatures  int
	MaxLineBytes int
}

func (o Options) withDefaults() Options {
	if o.PredictionColumn == "" {
		o.PredictionColumn = "prediction"
	}
	if o.MaxFeatures <= 0 {
		o.MaxFeatures = 1000
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 1 << 20
	}
	return o
}

// RowError says where a reference file is wrong.
type RowError struct {
	Row    int    // 1-based data row (CSV: not counting the header)
	Line   int    // 1-based line in the file, 0 when unknown
	Column string // column or feature name, "" for the row as a whole
	Err    error
}

func (e *RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "row %d", e.Row)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ", column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RowError) Unwrap() error { return e.Err }

// isNullText reports the spellings of a missing value in a CSV cell.
func isNullText(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "null", "na", "nan", "none":
		return true
	}
	return false
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// ReadCSV reads a CSV table with a header row, one reference row per record.
func ReadCSV(r io.Reader, opts Options) (*drift.Profile, error) {
	opts = opts.withDefaults()
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("reference CSV: empty file, want a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("reference CSV header: %w", err)
	}
	header = slices.Clone(header) // ReuseRecord would overwrite it
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // a byte-order mark from spreadsheet exports
	}
	names := make([]string, len(header))
	seen := map[string]bool{}
	used := 0
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("reference CSV header: column %d has no name", i+1)
		}
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("reference CSV header: the name of column %d is not valid UTF-8", i+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("reference CSV header: column %q appears twice", h)
		}
		seen[h] = true
		if contains(opts.Ignore, h) {
			continue
		}
		names[i] = h
		if h == opts.PredictionColumn {
			names[i] = PredictionFeature
		}
		used++
	}
	if used > opts.MaxFeatures {
		return nil, fmt.Errorf("reference CSV header: %d columns, more than the limit of %d features", used, opts.MaxFeatures)
	}
	l := newLoader(opts.Profile)
	b := l.b
	for i, n := range names {
		if n == "" {
			continue
		}
		if k, ok := opts.Kinds[header[i]]; ok {
			if err := b.Declare(n, k); err != nil {
				return nil, fmt.Errorf("reference CSV: column %q: %w", header[i], err)
			}
		}
	}
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line, err = pe.Line, pe.Err
			}
			return nil, &RowError{Row: row, Line: line, Err: err}
		}
		line, _ := cr.FieldPos(0)
		for i, cell := range rec {
			if names[i] == "" {
				continue
			}
			if err := l.addCell(names[i], cell); err != nil {
				return nil, &RowError{Row: row, Line: line, Column: header[i], Err: err}
			}
		}
		l.b.EndRow() // a row's values belong together (multivariate drift)
	}
	return l.finish()
}

// loader wraps the builder for the readers.
type loader struct{ b *drift.Builder }

func newLoader(opts drift.ProfileOptions) *loader { return &loader{b: drift.NewBuilder(opts)} }

func (l *loader) null(name string) error { return l.b.AddNull(name) }

func (l *loader) addCell(name, cell string) error { return l.addCellValue(name, cell) }

func (l *loader) addCellValue(name, cell string) error {
	b := l.b
	kind := b.Kind(name)
	if isNullText(cell) {
		return l.null(name)
	}
	if kind == "" {
		switch {
		case isNumber(cell):
			kind = drift.Numeric
		case isBool(cell):
			kind = drift.Boolean
		default:
			kind = drift.Categorical
		}
	}
	switch kind {
	case drift.Numeric:
		v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
		if err != nil || math.IsInf(v, 0) {
			return fmt.Errorf("want a number like the earlier rows, got %q (declare the column categorical if it is)", cell)
		}
		return b.AddFloat(name, v)
	case drift.Boolean:
		v, ok := parseBool(cell)
		if !ok {
			return fmt.Errorf("want true or false like the earlier rows, got %q (declare the column categorical if it is)", cell)
		}
		return b.AddBool(name, v)
	default:
		return b.AddString(name, cell)
	}
}

func isNumber(s string) bool {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && !math.IsInf(v, 0)
}

func isBool(s string) bool { _, ok := parseBool(s); return ok }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ReadProfile reads a profile saved as JSON (what the store keeps and the API exports),
// refusing unknown fields, and validates it.
func ReadProfile(r io.Reader) (*drift.Profile, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p drift.Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	if dec.More() {
		return nil, errors.New("reference profile: want one JSON object, found more after it")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	return &p, nil
}

// event is the part of an exporter event a reference needs.
type event struct {
	Features   map[string]json.RawMessage `json:"features"`
	Prediction json.RawMessage            `json:"prediction"`
	// Embedding is the event's embedding (embedding drift).
	Embedding []float64 `json:"embedding"`
}

// ReadNDJSON reads events, one JSON object per line, in the exporter's event format: the
// object's "features" and its "prediction" make the reference. Blank lines are skipped.
func ReadNDJSON(r io.Reader, opts Options) (*drift.Profile, error) {
	opts = opts.withDefaults()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64*1024, opts.MaxLineBytes)), opts.MaxLineBytes)
	l := newLoader(opts.Profile)
	b := l.b
	for name, k := range opts.Kinds {
		if err := b.Declare(name, k); err != nil {
			return nil, fmt.Errorf("reference NDJSON: feature %q: %w", name, err)
		}
	}
	features := map[string]bool{}
	row, line := 0, 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		row++
		var ev event
		dec := json.NewDecoder(bytes.NewReader(text))
		if err := dec.Decode(&ev); err != nil {
			return nil, &RowError{Row: row, Line: line, Err: fmt.Errorf("want one JSON event object: %w", err)}
		}
		if dec.More() {
			return nil, &RowError{Row: row, Line: line, Err: errors.New("want one JSON object per line, found more after it")}
		}
		if ev.Features == nil && len(ev.Prediction) == 0 && ev.Embedding == nil {
			return nil, &RowError{Row: row, Line: line, Err: errors.New(`want an event with "features", "prediction" or "embedding"`)}
		}
		if ev.Embedding != nil {
			if err := l.b.AddEmbedding(ev.Embedding); err != nil {
				return nil, &RowError{Row: row, Line: line, Column: "embedding", Err: err}
			}
		}
		if len(ev.Prediction) > 0 {
			if ev.Features == nil {
				ev.Features = map[string]json.RawMessage{}
			}
			ev.Features[PredictionFeature] = ev.Prediction
		}
		// Sorted, so the profile's feature order and the reservoir do not depend on map order.
		for _, name := range slices.Sorted(maps.Keys(ev.Features)) {
			raw := ev.Features[name]
			col := name
			if name == PredictionFeature {
				col = "prediction"
			}
			if name == "" {
				return nil, &RowError{Row: row, Line: line, Column: col, Err: errors.New("a feature needs a name")}
			}
			if !features[name] {
				if len(features) >= opts.MaxFeatures {
					return nil, &RowError{Row: row, Line: line, Column: col, Err: fmt.Errorf("more than the limit of %d features", opts.MaxFeatures)}
				}
				features[name] = true
			}
			if err := l.addJSON(name, raw); err != nil {
				return nil, &RowError{Row: row, Line: line, Column: col, Err: err}
			}
		}
		l.b.EndRow() // an event's values belong together (multivariate drift)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &RowError{Row: row + 1, Line: line + 1, Err: fmt.Errorf("line longer than %d bytes", opts.MaxLineBytes)}
		}
		return nil, fmt.Errorf("reference NDJSON: %w", err)
	}
	return l.finish()
}

func (l *loader) addJSON(name string, raw json.RawMessage) error { return l.addJSONValue(name, raw) }

func (l *loader) addJSONValue(name string, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("want a JSON value: %w", err)
	}
	b := l.b
	kind := b.Kind(name)
	switch x := v.(type) {
	case nil:
		return l.null(name)
	case float64:
		if kind == drift.Categorical {
			return b.AddString(name, drift.FormatCategory(x))
		}
		if kind != "" && kind != drift.Numeric {
			return fmt.Errorf("want a %s value like the earlier rows, got the number %s", kind, raw)
		}
		return b.AddFloat(name, x)
	case string:
		if kind != "" && kind != drift.Categorical {
			return fmt.Errorf("want a %s value like the earlier rows, got the string %s", kind, raw)
		}
		return b.AddString(name, x)
	case bool:
		if kind != "" && kind != drift.Boolean {
			return fmt.Errorf("want a %s value like the earlier rows, got %s", kind, raw)
		}
		return b.AddBool(name, x)
	default:
		return fmt.Errorf("want a number, string, boolean or null, got %s", describe(v))
	}
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

func (l *loader) finish() (*drift.Profile, error) {
	p := l.b.Profile()
	if len(p.Features) == 0 && p.Embedding == nil {
		return nil, errors.New("reference: no feature has a value; the file holds no usable data")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	return p, nil
}
