package compile

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	n := math.NaN()
	cases := []struct {
		in   []float64
		want string
	}{
		{[]float64{1, 2, 3, n, n, 5, 5, 5}, "1+1x2 _x1 5x2"},
		{[]float64{0, 60, 120, 180, 180}, "0+60x3 180"},
		{[]float64{3, 1}, "3 1"},
		{[]float64{10, 8, 6, 4}, "10-2x3"},
		{[]float64{n}, "_"},
		{[]float64{0.1, 0.2, 0.30000000000000004}, "0.1+0.1x2"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, expand(tc.in))
	}
}

// TestExpandRoundTrip re-expands the notation the way promtool does (a+bxn is n+1 values)
// and compares with the input.
func TestExpandRoundTrip(t *testing.T) {
	in := make([]float64, 0, 300)
	acc := 0.0
	for i := 0; i < 300; i++ {
		slope := 0.25
		if i > 100 {
			slope = 1.7
		}
		acc += slope * 60
		in = append(in, acc)
	}
	out := expandBack(t, expand(in))
	require.Len(t, out, len(in))
	for i := range in {
		require.InDelta(t, in[i], out[i], 1e-6*math.Max(1, in[i]))
	}
}

func expandBack(t *testing.T, s string) []float64 {
	t.Helper()
	var out []float64
	var a, b float64
	var n int
	for _, tok := range splitFields(s) {
		switch {
		case scan(tok, "%g+%gx%d", &a, &b, &n):
			for i := 0; i <= n; i++ {
				out = append(out, a+b*float64(i))
			}
		case scan(tok, "%g-%gx%d", &a, &b, &n):
			for i := 0; i <= n; i++ {
				out = append(out, a-b*float64(i))
			}
		case scan(tok, "%gx%d", &a, &n):
			for i := 0; i <= n; i++ {
				out = append(out, a)
			}
		case scan(tok, "%g", &a):
			out = append(out, a)
		default:
			t.Fatalf("unparsable token %q", tok)
		}
	}
	return out
}

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		op string
		v  float64
	}{{">", 0.05}, {">", 3}, {">", 0}, {"<", 0.9}, {"<", 0}, {">=", 10000}, {"<=", -2}} {
		bad, inside, normal := levels(tc.op, tc.v)
		fires := func(x float64) bool {
			switch tc.op {
			case ">":
				return x > tc.v
			case ">=":
				return x >= tc.v
			case "<":
				return x < tc.v
			}
			return x <= tc.v
		}
		require.True(t, fires(bad), "%s %v: bad %v", tc.op, tc.v, bad)
		require.False(t, fires(inside), "%s %v: inside %v", tc.op, tc.v, inside)
		require.False(t, fires(normal), "%s %v: normal %v", tc.op, tc.v, normal)
		require.Less(t, math.Abs(inside-tc.v), math.Abs(normal-tc.v)+1e-12, "inside is closer to the threshold than normal")
	}
}
