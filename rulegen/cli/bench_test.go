package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opscentre/opscentre/rulegen/cli"
	"github.com/opscentre/opscentre/rulegen/internal/benchspec"
)

// BenchmarkCLI runs `rulegen check` and `rulegen generate` in-process on synthetic specs of
// every kind (mixed) and of SLOs only, at 1, 100 and 1,000 alerts. Profile one with e.g.
// go test ./rulegen/cli -run '^$' -bench 'CLI/generate/slo/1000' -cpuprofile cpu.out
func BenchmarkCLI(b *testing.B) {
	for _, kind := range []string{"mixed", "slo"} {
		for _, n := range []int{1, 100, 1000} {
			var buf bytes.Buffer
			write := benchspec.Mixed
			if kind == "slo" {
				write = benchspec.SLOs
			}
			if err := write(&buf, n); err != nil {
				b.Fatal(err)
			}
			path := filepath.Join(b.TempDir(), "spec.yaml")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
			out := b.TempDir()
			for _, cmd := range [][]string{{"check", path}, {"generate", path, "-o", out}} {
				b.Run(fmt.Sprintf("%s/%s/%d", cmd[0], kind, n), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						var stdout, stderr strings.Builder
						if err := cli.Run(context.Background(), cmd, nil, &stdout, &stderr); err != nil {
							b.Fatal(err, stderr.String())
						}
					}
				})
			}
		}
	}
}
