// Command aiops-soak runs normal ingest against a running aiops_exporter alone and then
// beside slow-body and idle-connection clients, and prints the normal clients' latency and
// the exporter's peak RSS and file descriptors for both. See exporter/soak.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/opscentre/opscentre/exporter/soak"
)

func main() {
	var o soak.Options
	flag.StringVar(&o.URL, "url", "http://127.0.0.1:9477", "exporter base URL (loopback)")
	flag.IntVar(&o.PID, "exporter-pid", 0, "exporter pid, for RSS and file descriptors")
	flag.DurationVar(&o.Phase, "phase", 10*time.Second, "length of the quiet and of the attack phase")
	flag.IntVar(&o.Workers, "workers", 4, "normal clients")
	flag.IntVar(&o.Batch, "batch", 100, "events per normal request")
	flag.IntVar(&o.SlowClients, "slow-clients", 100, "slow-body clients")
	flag.IntVar(&o.SlowPrefix, "slow-prefix", 1<<20, "bytes each slow client sends at once")
	flag.IntVar(&o.SlowDeclared, "slow-declared", 10<<20, "body length each slow client declares")
	flag.IntVar(&o.IdleConns, "idle-conns", 300, "connections held without a request")
	rssBound := flag.Int64("rss-bound-mib", 0, "RSS the attack must stay under, in MiB (0: not judged)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 4*o.Phase+time.Minute)
	defer cancel()
	r, err := soak.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiops-soak:", err)
		os.Exit(1)
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Printf("%-7s %9s %7s %10s %10s %10s %7s\n", "phase", "requests", "failed", "p50", "p99", "peak RSS", "fds")
	for _, p := range []struct {
		name string
		p    soak.Phase
	}{{"quiet", r.Quiet}, {"attack", r.Attack}} {
		fmt.Printf("%-7s %9d %7d %10s %10s %8.1fMiB %7d\n", p.name, p.p.Requests, p.p.Failed,
			p.p.P50.Round(10*time.Microsecond), p.p.P99.Round(10*time.Microsecond), mib(p.p.PeakRSS), p.p.PeakFDs)
	}
	fmt.Printf("attack: %d slow-body clients (%d bytes sent at once of %d declared), %d idle connections; the server cut %d slow bodies (%d with 503) and closed %d idle connections\n",
		o.SlowClients, o.SlowPrefix, o.SlowDeclared, o.IdleConns, r.SlowCut, r.SlowRefused, r.IdleClosed)
	ratio := float64(r.Attack.P99) / float64(r.Quiet.P99)
	fmt.Printf("normal clients' p99 under attack / quiet: %.2fx (target <= 2x: %s)\n", ratio, verdict(ratio <= 2))
	if *rssBound > 0 {
		fmt.Printf("peak RSS under attack: %.1fMiB (bound %dMiB: %s)\n", mib(r.Attack.PeakRSS), *rssBound, verdict(mib(r.Attack.PeakRSS) <= float64(*rssBound)))
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
