#!/usr/bin/env bash
# Runs the whole stack on embedded defaults, on loopback, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "run: components are being built; nothing to run yet" >&2
