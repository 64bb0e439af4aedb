package reference

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// BenchmarkReadCSV loads a 20,000-row × 20-column reference (16 numeric, 4 categorical).
func BenchmarkReadCSV(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var buf bytes.Buffer
	cols := make([]string, 20)
	for j := range cols {
		cols[j] = fmt.Sprint("c", j)
	}
	buf.WriteString(strings.Join(cols, ",") + "\n")
	for i := 0; i < 20000; i++ {
		for j := range cols {
			if j > 0 {
				buf.WriteByte(',')
			}
			if j < 16 {
				fmt.Fprintf(&buf, "%.4f", rng.NormFloat64()*float64(j+1))
			} else {
				buf.WriteString([]string{"a", "b", "c"}[rng.IntN(3)])
			}
		}
		buf.WriteByte('\n')
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadCSV(bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
