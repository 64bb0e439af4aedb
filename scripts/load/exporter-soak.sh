#!/usr/bin/env bash
# Soak of aiops_exporter's server limits, loopback only and bounded in time: a fresh
# exporter with its default limits; normal ingest alone for SOAK_PHASE (default 10s), then
# beside slow-body clients (1 MiB sent at once of a declared 10 MiB, then a byte every
# 100ms) and idle connections. Two attacks: within the in-flight budget (100 slow clients,
# 300 idle connections) and past it (300 slow clients, which then get 503 and reconnect at
# once). Prints the normal clients' p50/p99 and failures, the exporter's peak RSS and file
# descriptors per phase, the p99 ratio (target <= 2x) and the RSS against its documented
# bound (deploy/README.md: 4 x --web.max-inflight-body-bytes + 64 MiB with default limits
# and no awaiting predictions).
set -euo pipefail
cd "$(dirname "$0")/../.."
SOAK_PHASE=${SOAK_PHASE:-10s}
mkdir -p bin
go build -o bin/aiops-soak ./cmd/aiops-soak
# shellcheck source=lib/exporter.bash
source scripts/load/lib/exporter.bash
start_exporter
echo ">> exporter soak: default limits, $SOAK_PHASE quiet then $SOAK_PHASE under an attack within the in-flight budget"
bin/aiops-soak -url "http://$addr" -exporter-pid "$pid" -phase "$SOAK_PHASE" -slow-clients 100 -idle-conns 300 -rss-bound-mib 576
echo ">> exporter soak: default limits, $SOAK_PHASE quiet then $SOAK_PHASE under an attack past the in-flight budget"
bin/aiops-soak -url "http://$addr" -exporter-pid "$pid" -phase "$SOAK_PHASE" -slow-clients 300 -idle-conns 100 -rss-bound-mib 576
