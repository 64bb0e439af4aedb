#!/usr/bin/env bash
# Lint: go vet, staticcheck (scripts/tools.sh installs it), gofmt, go mod tidy must leave go.mod/go.sum unchanged, and mypy --strict
# on the Python client (its configuration is in exporter/client/python/pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

echo ">> go vet"
go vet ./...

echo ">> staticcheck"
staticcheck=.tools/staticcheck
[ -x "$staticcheck" ] || staticcheck=$(command -v staticcheck || true)
if [ -z "$staticcheck" ]; then
  echo "staticcheck is missing: run scripts/tools.sh (make tools)" >&2
  exit 1
fi
"$staticcheck" ./...

echo ">> gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null) 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change these files:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo ">> go mod tidy"
cp go.mod /tmp/go.mod.lint.$$; cp go.sum /tmp/go.sum.lint.$$
go mod tidy
if ! cmp -s go.mod /tmp/go.mod.lint.$$ || ! cmp -s go.sum /tmp/go.sum.lint.$$; then
  diff -u /tmp/go.mod.lint.$$ go.mod || true
  cp /tmp/go.mod.lint.$$ go.mod; cp /tmp/go.sum.lint.$$ go.sum
  rm -f /tmp/go.mod.lint.$$ /tmp/go.sum.lint.$$
  echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit" >&2
  exit 1
fi
rm -f /tmp/go.mod.lint.$$ /tmp/go.sum.lint.$$

echo ">> mypy (exporter/client/python)"
PYTHON=${OPSCENTRE_PYTHON:-/usr/bin/python3}
if "$PYTHON" -m mypy --version >/dev/null 2>&1; then
  (cd exporter/client/python && "$PYTHON" -m mypy --cache-dir=/tmp/opscentre-mypy-cache)
elif [ "${CI:-}" = true ]; then
  echo "python3-mypy is missing for $PYTHON: run scripts/tools.sh" >&2
  exit 1
else
  echo "skipping: python3-mypy is missing (scripts/tools.sh installs it)" >&2
fi
