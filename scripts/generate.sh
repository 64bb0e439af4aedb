#!/usr/bin/env bash
# Regenerates the committed artifacts from their sources.
set -euo pipefail
cd "$(dirname "$0")/.."
