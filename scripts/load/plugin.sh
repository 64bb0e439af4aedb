#!/usr/bin/env bash
# Load figures of the Grafana plugin, measured side by side in one run:
#  1. BenchmarkQuery10k (in-process gRPC, incidentd fake with pre-encoded pages): a query over
#     10,000 incidents vs reading the same 20 pages with the client alone (fetch-only).
#  2. BenchmarkBinaryQuery10k: the built plugin binary over go-plugin/gRPC against the real
#     incidentd holding 10,000 incidents vs incidentd's API read directly (the full view in
#     20 pages of 500, and the table view in one page).
#  3. BenchmarkDecodePage: fastjson vs encoding/json on a page of 500 incidents;
#     BenchmarkDecodeTable: 10,000 incidents of the compact table view into columns vs the
#     same incidents as 20 full pages (into columns, and into incidents as before).
#  4. BenchmarkListHandler10k: incidentd's list handler over 10,000 incidents, table view vs
#     full view (CPU per incident).
# BENCH_COUNT (default 3) repeats each benchmark.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${BENCH_COUNT:-3}
mkdir -p bin
go build -o bin/incidentd ./cmd/incidentd
grafana-plugin/build.sh --backend-only
echo ">> plugin: in-process gRPC, 10,000 incidents"
go test -count=1 -run XXX -bench 'Query10k' -benchtime 20x -count "$count" ./grafana-plugin/pkg/internal/plugin/ | grep -E '^(Benchmark|ok)'
echo ">> plugin: built binary against the real incidentd, 10,000 incidents"
go test -count=1 -run XXX -bench 'BinaryQuery10k' -benchtime 10x -count "$count" ./grafana-plugin/pkg/e2e/ | grep -E '^(Benchmark|ok)'
echo ">> incident page decoding"
go test -count=1 -run XXX -bench 'DecodePage|DecodeTable' -benchtime 10x -count "$count" ./grafana-plugin/pkg/internal/incidentd/ | grep -E '^(Benchmark|ok)'
echo ">> incidentd list handler, 10,000 incidents"
go test -count=1 -run XXX -bench 'ListHandler10k' -benchtime 10x -count "$count" ./alertmanager-webhook/internal/api/ | grep -E '^(Benchmark|ok)'
