#!/usr/bin/env bash
# Build the opscentre-incidents-datasource plugin into grafana-plugin/dist/:
#   backend   gpx_opscentre_incidents_<os>_<arch> (the SDK's naming; Grafana runs <executable>_<GOOS>_<GOARCH>)
#   frontend  module.js, plugin.json, img/ (skipped with --backend-only or when npm is missing and
#             OPSCENTRE_PLUGIN_FRONTEND is not "required")
# Usage: grafana-plugin/build.sh [--backend-only] [--all-platforms]
set -euo pipefail
cd "$(dirname "$0")"

backend_only=false
platforms="$(go env GOOS)/$(go env GOARCH)"
for arg in "$@"; do
  case "$arg" in
    --backend-only) backend_only=true ;;
    --all-platforms) platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64" ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done

mkdir -p dist
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
buildinfo="{\"time\":$(date +%s)000,\"pluginID\":\"opscentre-incidents-datasource\",\"version\":\"${version}\",\"hash\":\"${commit}\"}"
for p in $platforms; do
  os=${p%/*}; arch=${p#*/}
  out="dist/gpx_opscentre_incidents_${os}_${arch}"
  echo ">> backend ${out}"
  # The same flags as the SDK's mage build: static, stripped, Arrow's JSON via the stdlib.
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -tags arrow_json_stdlib \
    -ldflags "-w -s -extldflags \"-static\" -X 'github.com/grafana/grafana-plugin-sdk-go/build/buildinfo.buildInfoJSON=${buildinfo}'" \
    -o "$out" ./pkg
done

if $backend_only; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "${OPSCENTRE_PLUGIN_FRONTEND:-}" = required ]; then
    echo "npm is required to build the frontend" >&2; exit 1
  fi
  echo ">> npm not found: frontend skipped (dist/ has the backend only)" >&2
  exit 0
fi
if [ ! -d node_modules ]; then
  echo ">> npm ci"
  npm ci --no-audit --no-fund
fi
echo ">> frontend"
npm run --silent build
