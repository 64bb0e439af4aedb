# Sourced by the exporter load scripts: start_exporter builds aiops_exporter, starts a fresh one
# (empty state, default configuration) on a free loopback port and sets $addr, $pid and $work;
# the exporter is stopped and $work removed when the script exits.
start_exporter() {
  mkdir -p bin
  go build -o bin/aiops_exporter ./cmd/aiops_exporter
  work=$(mktemp -d)
  bin/aiops_exporter --web.listen-address=127.0.0.1:0 --storage.path="$work/data" "$@" >"$work/log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
  addr=""
  for _ in $(seq 100); do
    addr=$(grep -o 'msg="Listening on" address=[^ ]*' "$work/log" | head -n1 | sed 's/.*address=//') || true
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$work/log" >&2; echo "exporter did not start" >&2; exit 1; }
}
