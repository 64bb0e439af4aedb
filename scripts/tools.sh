#!/usr/bin/env bash
# Installs the external tools the tests use, when missing:
#   - Debian's prometheus (2.42), promtool and prometheus-alertmanager (0.25), postgresql,
#     GNU time (the rulegen load script's peak RSS);
#   - Prometheus 3 (prometheus, promtool) built from the Go module proxy into .tools/prometheus-v3.
# Idempotent; safe to run again. Needs root for apt-get (CI and the dev machines are root).
set -euo pipefail
cd "$(dirname "$0")/.."

PROM3_VERSION=${PROM3_VERSION:-v0.316.0}
need_apt=()
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
[ -x /usr/bin/time ] || need_apt+=(time)   # GNU time: peak RSS in scripts/load/rulegen.sh
command -v prometheus-alertmanager >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo ">> installing Debian packages: ${need_apt[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"
    # Debian starts the packaged daemons through policy-rc.d only on real systems; the tests
    # start their own instances, so stop any that did start.
    for s in prometheus prometheus-alertmanager prometheus-node-exporter; do
      (command -v service >/dev/null && service "$s" stop >/dev/null 2>&1) || true
    done
  else
    echo "missing: ${need_apt[*]}; install them with: sudo apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .tools/prometheus-v3/promtool ] || [ ! -x .tools/prometheus-v3/prometheus ]; then
  echo ">> building Prometheus 3 ($PROM3_VERSION) into .tools/prometheus-v3 (about two minutes)"
  mkdir -p .tools/prometheus-v3
  GOBIN="$PWD/.tools/prometheus-v3" go install \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROM3_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROM3_VERSION"
fi
