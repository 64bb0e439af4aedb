package window

import (
	"testing"
	"time"
)

// FuzzRestore: a saved ring read back from disk may be damaged; Restore returns an error or
// a ring that still works, never a panic.
func FuzzRestore(f *testing.F) {
	f.Add([]byte(`{"width":60000000000,"epochs":[28333333,28333334],"slots":[{"N":7},{"N":8}]}`))
	f.Add([]byte(`{"width":60000000000,"epochs":[-9223372036854775808],"slots":[{"N":1}]}`))
	f.Add([]byte(`{"width":60000000000,"epochs":[1,2,3],"slots":[{}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := New(4, time.Minute, resetCounts)
		if err := r.Restore(data); err != nil {
			return
		}
		now := time.Unix(1_700_000_000, 0)
		r.Each(now, func(*counts) {})
		if s := r.At(now); s != nil {
			s.N++
		}
	})
}
