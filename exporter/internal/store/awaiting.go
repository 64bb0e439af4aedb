package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/opscentre/opscentre/exporter/internal/labels"
)

// The awaiting_labels bucket holds up to labels.max_awaiting predictions per version (a
// million by default), saved at every snapshot, so it uses a compact binary form instead of
// JSON: a format byte, then per entry the id, the prediction and store times (Unix ns, 0 for
// the zero time), the class and the value. A million entries take ~60 MB instead of ~150 MB
// and encode several times faster.
const awaitingFormat = 1

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func encodeAwaiting(entries []labels.Entry) []byte {
	size := 1
	for _, e := range entries {
		size += len(e.ID) + len(e.Prediction.Class) + 2*binary.MaxVarintLen64 + 2*binary.MaxVarintLen64 + 8
	}
	b := make([]byte, 0, size)
	b = append(b, awaitingFormat)
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(len(e.ID)))
		b = append(b, e.ID...)
		b = binary.AppendVarint(b, unixNano(e.Prediction.At))
		b = binary.AppendVarint(b, unixNano(e.Added))
		b = binary.AppendUvarint(b, uint64(len(e.Prediction.Class)))
		b = append(b, e.Prediction.Class...)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Prediction.Value))
	}
	return b
}

var errTruncated = errors.New("truncated entry")

func decodeAwaiting(b []byte) ([]labels.Entry, error) {
	if len(b) == 0 || b[0] != awaitingFormat {
		return nil, fmt.Errorf("unknown format of saved awaiting predictions (want %d)", awaitingFormat)
	}
	b = b[1:]
	var out []labels.Entry
	str := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", errTruncated
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	num := func() (int64, error) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, errTruncated
		}
		b = b[k:]
		return v, nil
	}
	for len(b) > 0 {
		var e labels.Entry
		var err error
		var at, added int64
		if e.ID, err = str(); err == nil {
			if at, err = num(); err == nil {
				if added, err = num(); err == nil {
					e.Prediction.Class, err = str()
				}
			}
		}
		if err == nil && len(b) < 8 {
			err = errTruncated
		}
		if err != nil {
			return nil, fmt.Errorf("awaiting prediction %d: %w", len(out), err)
		}
		e.Prediction.Value = math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		e.Prediction.At, e.Added = fromUnixNano(at), fromUnixNano(added)
		out = append(out, e)
	}
	return out, nil
}
