#!/usr/bin/env bash
# Installs the external tools the tests use, when missing:
#   - Debian's prometheus (2.42), promtool and prometheus-alertmanager (0.25), postgresql;
#   - Debian's Python 3 with pytest, scikit-learn, pandas, mypy, build, venv, pip and setuptools
#     (the Python client in exporter/client/python);
#   - GNU time (the rulegen load script's peak RSS);
#   - Prometheus 3 (prometheus, promtool) built from the Go module proxy into .tools/prometheus-v3.
# Idempotent; safe to run again. Needs root for apt-get (CI and the dev machines are root).
set -euo pipefail
cd "$(dirname "$0")/.."

PROM3_VERSION=${PROM3_VERSION:-v0.316.0}
need_apt=()
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
[ -x /usr/bin/time ] || need_apt+=(time)   # GNU time: peak RSS in scripts/load/rulegen.sh
command -v prometheus-alertmanager >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
# The Python client's tests, type check and wheel build use Debian's Python only (no PyPI).
for p in python3 python3-pytest python3-sklearn python3-pandas python3-mypy python3-build \
         python3-venv python3-pip python3-setuptools python3-wheel; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)   # the client's TLS test makes a certificate
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

# Prometheus 3 is built once per user, into a cache every clone shares ($XDG_CACHE_HOME or
# ~/.cache), and linked into this clone's .tools/: a second clone does not build it again.
cache="${XDG_CACHE_HOME:-$HOME/.cache}/opscentre/prometheus-$PROM3_VERSION"
if [ ! -x "$cache/promtool" ] || [ ! -x "$cache/prometheus" ]; then
  echo ">> building Prometheus 3 ($PROM3_VERSION) into $cache, once per user (5–15 minutes on two busy cores)"
  start=$(date +%s)
  mkdir -p "$cache"
  GOBIN="$cache" go install \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROM3_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROM3_VERSION" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    [ $(( ($(date +%s) - start) % 60 )) -lt 5 ] && echo ">>   still building Prometheus 3: $(( $(date +%s) - start ))s"
  done
  wait "$pid"
  echo ">> built Prometheus 3 in $(( $(date +%s) - start ))s"
fi
mkdir -p .tools/prometheus-v3
for b in prometheus promtool; do
  [ "$(readlink .tools/prometheus-v3/$b 2>/dev/null)" = "$cache/$b" ] || ln -sfn "$cache/$b" .tools/prometheus-v3/$b
done

# staticcheck for `make lint`, built once per user beside Prometheus 3.
STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
sc="${XDG_CACHE_HOME:-$HOME/.cache}/opscentre/staticcheck-$STATICCHECK_VERSION"
if [ ! -x "$sc/staticcheck" ]; then
  echo ">> building staticcheck $STATICCHECK_VERSION into $sc"
  mkdir -p "$sc"
  GOBIN="$sc" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
mkdir -p .tools
ln -sfn "$sc/staticcheck" .tools/staticcheck
