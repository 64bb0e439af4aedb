#!/usr/bin/env bash
# Go benchmarks of every package, then each component's loopback load test. Figures that
# matter are reported as ratios measured side by side in this one run (the machine is shared).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHTIME=${BENCHTIME:-1s}
echo ">> go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" ./...
for s in scripts/load/*.sh; do
  [ -e "$s" ] || continue
  echo ">> load test $s"
  "$s"
done
