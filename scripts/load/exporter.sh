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
go build -o bin/aiops_exporter ./cmd/aiops_exporter
go build -o bin/aiops-loadgen ./cmd/aiops-loadgen
work=$(mktemp -d)
bin/aiops_exporter --web.listen-address=127.0.0.1:0 --storage.path="$work/data" >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
addr=""
for _ in $(seq 100); do
  addr=$(grep -o 'msg="Listening on" address=[^ ]*' "$work/log" | head -n1 | sed 's/.*address=//') || true
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/log" >&2; echo "exporter did not start" >&2; exit 1; }
for gz in false true; do
  echo ">> exporter load: $LOAD_DURATION, $LOAD_WORKERS workers, 1000-event batches, 20 features, gzip=$gz"
  bin/aiops-loadgen -url "http://$addr" -duration "$LOAD_DURATION" -workers "$LOAD_WORKERS" \
    -batch 1000 -features 20 -gzip="$gz" -exporter-pid "$pid"
done
