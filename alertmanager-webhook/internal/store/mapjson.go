package store

import "slices"

// marshalStringMap is json.Marshal(m) for a label set, byte for byte (listings hand the
// stored JSON out as it is, so it must be what encoding the map gives), at a fraction of
// the reflection's cost: ingest encodes the labels and annotations of every alert.
func marshalStringMap(m map[string]string) []byte {
	if m == nil {
		return []byte("null")
	}
	keys := make([]string, 0, len(m))
	n := 2
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}
