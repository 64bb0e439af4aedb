#!/usr/bin/env bash
# The test command CI runs (through `make test`): every Go test, with the real tools on PATH,
# then the Python client's pytest suite.
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

# The Python client against the real exporter binary, with Debian's Python (not a pyenv one
# that may come first on PATH). Under CI a missing pytest is a failure, not a skip.
PYTHON=${OPSCENTRE_PYTHON:-/usr/bin/python3}
if "$PYTHON" -c 'import pytest' 2>/dev/null; then
  (cd exporter/client/python && CI="${CI:-}" "$PYTHON" -m pytest -q -p no:cacheprovider tests)
elif [ "${CI:-}" = true ]; then
  echo "python3-pytest is missing for $PYTHON: run scripts/tools.sh" >&2
  exit 1
else
  echo ">> skipping the Python client's tests: python3-pytest is missing (scripts/tools.sh installs it)" >&2
fi
