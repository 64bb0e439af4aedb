#!/usr/bin/env bash
# `make demo`: builds everything, installs Prometheus and Alertmanager from the OS packages when
# they are missing, then runs the whole loop on loopback with a live view (deploy/demo).
# DURATION=3m runs unattended and exits 0 only when the scripted faults produced their incidents.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    echo ">> installing ${missing[*]} from the OS packages (apt-get)"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "demo needs Prometheus and Alertmanager on PATH; on Debian/Ubuntu: sudo apt-get install prometheus prometheus-alertmanager" >&2
    echo "elsewhere: install prometheus and alertmanager from your package manager or prometheus.io" >&2
    exit 1
  fi
fi
# Debian starts the packaged daemons on their default ports; the demo runs its own instances.
for s in prometheus prometheus-alertmanager; do
  (command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$s" 2>/dev/null && echo ">> note: the system's $s service is running; the demo uses other ports if its own are taken") || true
done

args=()
[ -n "${DURATION:-}" ] && args+=(--duration="$DURATION")
exec bin/demo "${args[@]}"
