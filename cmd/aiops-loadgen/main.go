// Command aiops-loadgen sends NDJSON event batches to a running aiops_exporter and prints
// the events/s it sustained. scripts/load/exporter.sh runs it against a fresh exporter.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/opscentre/opscentre/exporter/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := loadgen.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "aiops-loadgen:", err)
		os.Exit(1)
	}
}
