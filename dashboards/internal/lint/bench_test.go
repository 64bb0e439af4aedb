package lint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func overviewJSON(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "json", "overview.json"))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkDecode is the SDK's plain decode, the baseline for BenchmarkLoad.
func BenchmarkDecode(b *testing.B) {
	raw := overviewJSON(b)
	for b.Loop() {
		var d dashboard.Dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad is the strict load (strict verdict + plain decode + Validate).
func BenchmarkLoad(b *testing.B) {
	raw := overviewJSON(b)
	for b.Loop() {
		if _, err := Load(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck runs every lint rule, PromQL parsing included, on a loaded dashboard.
func BenchmarkCheck(b *testing.B) {
	d, err := Load(overviewJSON(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ps := Check(d); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
}
