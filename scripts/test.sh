#!/usr/bin/env bash
# The test command CI runs (through `make test`): every Go test, with the real tools on PATH.
# With CI=true, tests that need Prometheus, Alertmanager, promtool or PostgreSQL fail instead
# of skipping when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${OPSCENTRE_TEST_POSTGRES_DSN:-}" ] && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  OPSCENTRE_TEST_POSTGRES_DSN=$(scripts/postgres.sh)
  export OPSCENTRE_TEST_POSTGRES_DSN
  # The server is this run's: stop it however the tests end.
  trap 'scripts/postgres.sh stop' EXIT
fi
export OPSCENTRE_BIN_DIR="$PWD/bin"
export OPSCENTRE_PROM3_DIR="$PWD/.tools/prometheus-v3"

# The Grafana plugin's frontend: type check and component tests (node_modules from `make build`).
if command -v npm >/dev/null 2>&1 || [ "${CI:-}" = true ]; then
  (cd grafana-plugin && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run --silent typecheck && npm test --silent)
fi

# The OpenTelemetry JavaScript SDK and OpenAI instrumentation that exporter/app's OTLP test runs.
if command -v npm >/dev/null 2>&1 || [ "${CI:-}" = true ]; then
  (cd test/otlp-js && { [ -d node_modules ] || npm ci --no-audit --no-fund; })
fi

go test -count=1 -timeout 30m ${GOTESTFLAGS:-} ./...
