#!/usr/bin/env bash
# Load test for rulegen: builds a spec of N alerts (default 1000, cycling through every
# preset) and times `rulegen check` and `rulegen generate` on it, side by side with a spec
# of N/10 alerts, so the report is a ratio that does not depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/rulegen" ./cmd/rulegen
presets=(accuracy_drop canary_worse drifted_share error_rate escalation_rate f1_slo feature_drift latency_p95 null_rate recall_slo task_completion_slo token_spend volume_drop)
mkspec() {
	local n=$1 out=$2
	sed -n '1,/^alerts:/p' rules/spec.yaml >"$out"
	for ((i = 0; i < n; i++)); do
		echo "  - {name: Alert$i, tier: P1, preset: ${presets[i % ${#presets[@]}]}, runbook_url: https://runbooks.example.com/x}" >>"$out"
	done
}
mkspec "$N" "$tmp/big.yaml"
mkspec $((N / 10)) "$tmp/small.yaml"
measure() {
	local label=$1
	shift
	/usr/bin/time -f "$label: wall %es cpu %Us+%Ss rss %MKB" "$@" >/dev/null
}
for spec in small big; do
	measure "check $spec" "$tmp/rulegen" check "$tmp/$spec.yaml"
	measure "generate $spec" "$tmp/rulegen" generate "$tmp/$spec.yaml" -o "$tmp/out-$spec"
done
