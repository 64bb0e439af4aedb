#!/usr/bin/env bash
# Loopback load test of aiops_exporter: starts a fresh exporter (empty state, default
# config) on a free port, runs aiops-loadgen against it for LOAD_DURATION (default 10s) with
# 20-feature events in 1000-event NDJSON batches, prints events/s and events per exporter
# CPU-second (the per-core figure), then stops the exporter.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOAD_DURATION=${LOAD_DURATION:-10s}
LOAD_WORKERS=${LOAD_WORKERS:-4}
mkdir -p bin
go build -o bin/aiops-loadgen ./cmd/aiops-loadgen
# shellcheck source=lib/exporter.bash
source scripts/load/lib/exporter.bash
start_exporter
for gz in false true; do
  echo ">> exporter load: $LOAD_DURATION, $LOAD_WORKERS workers, 1000-event batches, 20 features, gzip=$gz"
  bin/aiops-loadgen -url "http://$addr" -duration "$LOAD_DURATION" -workers "$LOAD_WORKERS" \
    -batch 1000 -features 20 -gzip="$gz" -exporter-pid "$pid"
done
