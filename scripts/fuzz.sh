#!/usr/bin/env bash
# Runs every Go fuzz target for FUZZTIME (default 30s) each; new crashers land in the package's
# testdata/fuzz/ and then run as ordinary test cases from `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  dir=$(dirname "$f")
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r target; do
    echo ">> $dir $target ($FUZZTIME)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$dir"
  done
done
