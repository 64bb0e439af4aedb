// Command benchspec writes a synthetic spec for rulegen's load script:
//
//	benchspec -kind mixed|slo|sloth -n 1000 > spec.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/opscentre/opscentre/rulegen/internal/benchspec"
)

func main() {
	kind := flag.String("kind", "mixed", "mixed (every kind and preset), slo (rulegen SLOs) or sloth (the same SLOs for Sloth)")
	n := flag.Int("n", 1000, "number of alerts or SLOs")
	flag.Parse()
	write := map[string]func(*os.File, int) error{
		"mixed": func(f *os.File, n int) error { return benchspec.Mixed(f, n) },
		"slo":   func(f *os.File, n int) error { return benchspec.SLOs(f, n) },
		"sloth": func(f *os.File, n int) error { return benchspec.Sloth(f, n) },
	}[*kind]
	if write == nil || *n < 0 {
		fmt.Fprintf(os.Stderr, "benchspec: -kind must be mixed, slo or sloth and -n >= 0\n")
		os.Exit(2)
	}
	if err := write(os.Stdout, *n); err != nil {
		fmt.Fprintln(os.Stderr, "benchspec:", err)
		os.Exit(1)
	}
}
