#!/usr/bin/env bash
# Go benchmarks of every package, the Python client's benchmark, then each component's
# loopback load test. Figures that matter are reported as ratios measured side by side in
# this one run (the machine is shared).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHTIME=${BENCHTIME:-1s}
echo ">> go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" ./...
echo ">> python client (exporter/client/python/bench.py)"
PYTHON=${OPSCENTRE_PYTHON:-/usr/bin/python3}
OPSCENTRE_BIN_DIR="$PWD/bin" "$PYTHON" exporter/client/python/bench.py
for s in scripts/load/*.sh; do
  [ -e "$s" ] || continue
  echo ">> load test $s"
  "$s"
done
