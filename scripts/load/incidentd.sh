#!/usr/bin/env bash
# Loopback load test of incidentd's webhook on SQLite: starts the built binary on a fresh
# database, posts notifications of 10 alerts from concurrent senders (new groups, then the
# same again as duplicates) and prints rate, latency percentiles and incidentd's CPU time
# per notification (from its process_cpu_seconds_total).
# Knobs: N (notifications, default 5000), CONCURRENCY (default "16 64").
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-5000}
CONCURRENCY=${CONCURRENCY:-"16 64"}
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

bin="$tmp/incidentd"
go build -o "$bin" ./cmd/incidentd
go build -o "$tmp/loadgen" ./alertmanager-webhook/internal/loadgen

token=load-$$
hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
printf 'webhook:\n  bearer_token_sha256: ["%s"]\n' "$hash" > "$tmp/incidentd.yml"

for c in $CONCURRENCY; do
  rm -f "$tmp"/incidentd.db*
  "$bin" --config.file="$tmp/incidentd.yml" --storage.path="$tmp/incidentd.db" \
    --web.listen-address=127.0.0.1:0 --log.level=info >"$tmp/log" 2>&1 &
  pid=$!
  addr=""
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*msg=listening address=\([0-9.:]*\).*/\1/p' "$tmp/log" | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$tmp/log"; echo "incidentd did not start" >&2; exit 1; }
  "$tmp/loadgen" -url "http://$addr/api/v1/alertmanager" -metrics "http://$addr/metrics" -token "$token" -n "$N" -c "$c"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
