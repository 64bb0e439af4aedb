// Command rulegen compiles an OpsCentre alert-tier spec into Prometheus rules, an
// Alertmanager routing fragment and promtool tests; see rulegen/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/opscentre/opscentre/rulegen/cli"
)

func main() {
	// rulegen is a short-lived batch process that allocates a lot of short-lived test series;
	// fewer collections cut the CPU of checking 1,000 SLOs by a quarter for ~15 MB more.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(cli.ExitCode(err))
	}
}
