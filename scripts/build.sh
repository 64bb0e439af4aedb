#!/usr/bin/env bash
# Builds every Go binary into ${BIN:-bin} in one `go build` (the packages they share compile
# once), stamped with version, revision, branch and build date the way Prometheus's promu does,
# and shows progress: a first build on two cores compiles ~900 packages for several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin}
go=${GO:-go}
mkdir -p "$bin"

pkgs=()
for d in cmd/*/; do pkgs+=("./${d%/}"); done
pkgs+=(./deploy/demo)

v=github.com/prometheus/common/version
version=$(cat VERSION 2>/dev/null || echo 0.0.0)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
ldflags="-X $v.Version=$version -X $v.Revision=$revision -X $v.Branch=$branch -X $v.BuildUser=$(id -un)@$(hostname) -X $v.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo ">> building ${#pkgs[@]} binaries into $bin/ ($version, ${revision:0:12})"
start=$(date +%s)
# -v names each package as it is compiled: counting them shows that a long first build moves.
$go build ${GOFLAGS:-} -v -ldflags "$ldflags" -o "$bin/" "${pkgs[@]}" >"$log" 2>&1 &
pid=$!
last=$start
while kill -0 "$pid" 2>/dev/null; do
  sleep 1
  now=$(date +%s)
  if [ $(( now - last )) -ge 15 ]; then
    last=$now
    echo ">>   $(( now - start ))s: $(grep -vc '^#\|: ' "$log" || true) packages compiled"
  fi
done
if ! wait "$pid"; then
  grep -v '^[a-zA-Z0-9._/-]*$' "$log" >&2 || cat "$log" >&2
  echo "!! go build failed after $(( $(date +%s) - start ))s" >&2
  exit 1
fi
echo ">> built $(cd "$bin" && ls | tr '\n' ' ')in $(( $(date +%s) - start ))s"
