package drift

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The binary form of a Window is for the store: about 2.5× smaller than JSON for numeric
// features (counts as varints, value sums only for non-empty cells) and exact (floats are kept
// bit for bit).
//
//	window    = version:byte  events:f64  n:uvarint  histogram*n
//	histogram = flags:byte  cells:uvarint  nulls:f64  unbinned:f64  counts  sums
//	counts    = uvarint per cell, or f64 per cell when flags&rawCounts
//	sums      = nothing when flags&noSums, f64 per cell when flags&denseSums,
//	            otherwise f64 per cell with a non-zero count
const (
	binaryVersion = 1

	rawCounts = 1 << iota
	noSums
	denseSums

	maxBinaryCells = 1 << 22
)

// MarshalBinary encodes the window.
func (w *Window) MarshalBinary() ([]byte, error) {
	buf := []byte{binaryVersion}
	buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(w.Events))
	buf = binary.AppendUvarint(buf, uint64(len(w.Histograms)))
	for i := range w.Histograms {
		buf = w.Histograms[i].appendBinary(buf)
	}
	return buf, nil
}

func (h *Histogram) appendBinary(buf []byte) []byte {
	var flags byte
	for _, c := range h.Counts {
		if c < 0 || c != math.Trunc(c) || c > 1<<53 {
			flags |= rawCounts
			break
		}
	}
	switch {
	case h.Sums == nil:
		flags |= noSums
	default:
		for i, s := range h.Sums {
			if h.Counts[i] == 0 && s != 0 {
				flags |= denseSums
				break
			}
		}
	}
	buf = append(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(len(h.Counts)))
	buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(h.Nulls))
	buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(h.Unbinned))
	for _, c := range h.Counts {
		if flags&rawCounts != 0 {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(c))
		} else {
			buf = binary.AppendUvarint(buf, uint64(c))
		}
	}
	if flags&noSums == 0 {
		for i, s := range h.Sums {
			if flags&denseSums != 0 || h.Counts[i] != 0 {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(s))
			}
		}
	}
	return buf
}

// errShort is what every truncated field reports.
var errShort = errors.New("unexpected end of data")

type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errShort
	}
	r.off++
	return r.b[r.off-1], nil
}

func (r *reader) f64() (float64, error) {
	if len(r.b)-r.off < 8 {
		return 0, errShort
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v, nil
}

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, errShort
	}
	r.off += n
	return v, nil
}

// UnmarshalBinary decodes a window written by MarshalBinary. It checks every length against
// the data, so corrupt input is an error, never a panic or a huge allocation. The result must
// still match the profile it is used with (Merge and Compare check the shapes).
func (w *Window) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	v, err := r.byte()
	if err != nil {
		return fmt.Errorf("window: version: %w", err)
	}
	if v != binaryVersion {
		return fmt.Errorf("window: version %d, want %d", v, binaryVersion)
	}
	events, err := r.f64()
	if err != nil {
		return fmt.Errorf("window: events: %w", err)
	}
	n, err := r.uvarint()
	if err != nil {
		return fmt.Errorf("window: histogram count: %w", err)
	}
	// Every histogram takes at least 18 bytes, which bounds n by the data.
	if n > uint64(len(data)/18) {
		return fmt.Errorf("window: %d histograms cannot fit in %d bytes", n, len(data))
	}
	out := Window{Events: events, Histograms: make([]Histogram, n)}
	for i := range out.Histograms {
		if err := out.Histograms[i].read(r); err != nil {
			return fmt.Errorf("window: histogram %d: %w", i, err)
		}
	}
	if r.off != len(data) {
		return fmt.Errorf("window: %d bytes left after the last histogram", len(data)-r.off)
	}
	if math.IsNaN(out.Events) || out.Events < 0 {
		return fmt.Errorf("window: events must be a non-negative number, got %v", out.Events)
	}
	*w = out
	return nil
}

func (h *Histogram) read(r *reader) error {
	flags, err := r.byte()
	if err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if flags&^(rawCounts|noSums|denseSums) != 0 {
		return fmt.Errorf("flags: unknown bits %#x", flags)
	}
	cells, err := r.uvarint()
	if err != nil {
		return fmt.Errorf("cells: %w", err)
	}
	if cells > maxBinaryCells || cells > uint64(len(r.b)-r.off) {
		return fmt.Errorf("cells: %d cannot fit in the remaining %d bytes", cells, len(r.b)-r.off)
	}
	if h.Nulls, err = r.f64(); err != nil {
		return fmt.Errorf("nulls: %w", err)
	}
	if h.Unbinned, err = r.f64(); err != nil {
		return fmt.Errorf("unbinned: %w", err)
	}
	h.Counts = make([]float64, cells)
	for i := range h.Counts {
		if flags&rawCounts != 0 {
			h.Counts[i], err = r.f64()
		} else {
			var u uint64
			u, err = r.uvarint()
			h.Counts[i] = float64(u)
		}
		if err != nil {
			return fmt.Errorf("counts[%d]: %w", i, err)
		}
	}
	if flags&noSums == 0 {
		h.Sums = make([]float64, cells)
		for i := range h.Sums {
			if flags&denseSums == 0 && h.Counts[i] == 0 {
				continue
			}
			if h.Sums[i], err = r.f64(); err != nil {
				return fmt.Errorf("sums[%d]: %w", i, err)
			}
		}
	}
	for _, v := range append([]float64{h.Nulls, h.Unbinned}, h.Counts...) {
		if !finiteNonNeg(v) {
			return fmt.Errorf("counts must be finite and non-negative, got %v", v)
		}
	}
	for i, v := range h.Sums {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sums[%d]: must be finite, got %v", i, v)
		}
	}
	return nil
}
