package spec

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
)

// roundSig rounds to 12 significant digits so values computed from the spec (1 - 0.999,
// 0.02 * 720) print as the number a person would write (0.001, 14.4) and not as
// 0.0010000000000000009.
func roundSig(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return f
}

// formatNum writes a number exactly and without exponent for ordinary magnitudes.
func formatNum(v float64) string {
	v = roundSig(v)
	a := math.Abs(v)
	if a != 0 && (a < 1e-6 || a >= 1e15) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// RoundSig is roundSig for other packages.
func RoundSig(v float64) float64 { return roundSig(v) }

// FormatNum is formatNum for other packages.
func FormatNum(v float64) string { return formatNum(v) }

// FormatDuration writes a duration the Prometheus way (1d, 90m → 1h30m).
func FormatDuration(d time.Duration) string { return durString(d) }

func parseDur(s string) (time.Duration, error) {
	v, err := model.ParseDuration(s)
	return time.Duration(v), err
}
