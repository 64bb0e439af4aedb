package labels

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkTmpEvict(b *testing.B) {
	var ss [4]*Store
	for i := range ss {
		ss[i] = New(Options{MaxCount: 2000, MaxAge: 30 * 24 * time.Hour, Now: func() time.Time { return time.Unix(1e9, 0) }})
	}
	ids := make([][]byte, 20000)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "req-%02d-%08d", i/1000, i%1000)
	}
	at := time.Now()
	i := 0
	for b.Loop() {
		ss[i%4].PutBytes(ids[i%len(ids)], Prediction{At: at, Class: "legit"})
		i++
	}
}
