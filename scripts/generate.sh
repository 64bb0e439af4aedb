#!/usr/bin/env bash
# Regenerates every committed artifact from its one source: the alert-tier specs (rules/ and the
# demo's) into rules, Alertmanager config, promtool tests and catalogs, then the dashboards.
# CI's tests fail when any committed output differs from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./cmd/rulegen generate rules/spec.yaml -o rules/generated
go run ./cmd/rulegen generate deploy/demo/spec.yaml -o deploy/demo/generated
go run ./dashboards/cmd/dashgen generate
# deploy/alertmanager.yml is the example deployment's copy of rulegen's routing (a test keeps them equal).
cp rules/generated/alertmanager.yml deploy/alertmanager.yml
