#!/usr/bin/env bash
# Load test for rulegen: synthetic specs of N alerts (default 1, 100, 1000, 10000) of every
# kind and preset ("mixed") and of N SLOs ("slo"), timed with GNU time: wall seconds, CPU
# seconds (user+system) and peak RSS of `rulegen check`, `rulegen generate` and
# `rulegen generate --check` (CI's stale-output check, run on what generate just wrote).
#
# With SLOTH=/path/to/sloth (built from github.com/slok/sloth; not downloaded here), the same
# SLOs in Sloth's prometheus/v1 format run through `sloth validate` and `sloth generate` in
# the same run, interleaved with rulegen's, and the ratios rulegen/Sloth are printed.
# Each figure is the best of REPEAT runs (default 3; 1 at 10,000). RULEGEN=/path/to/rulegen
# times that binary instead of building this tree's (an older build, for before/after).
#
#   SLOTH=/tmp/sloth scripts/load/rulegen.sh          # NS="1000" REPEAT=5 to narrow it
set -euo pipefail
cd "$(dirname "$0")/../.."
NS=${NS:-1 100 1000 10000}
REPEAT=${REPEAT:-3}
SLOTH=${SLOTH:-}
[ -x /usr/bin/time ] || { echo "GNU time is missing: run scripts/tools.sh (Debian package time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${RULEGEN:-}" ]; then
	cp "$RULEGEN" "$tmp/rulegen"
else
	go build -o "$tmp/rulegen" ./cmd/rulegen
fi
go build -o "$tmp/benchspec" ./rulegen/internal/benchspec/cmd/benchspec

# measure LABEL CMD...: best wall, CPU and RSS of REPEAT runs, appended to $tmp/results.
measure() {
	local label=$1 reps=$2 r
	shift 2
	local best=""
	for ((r = 0; r < reps; r++)); do
		/usr/bin/time -o "$tmp/t" -f "%e %U %S %M" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; echo "failed: $*" >&2; exit 1; }
		best=$(awk -v b="$best" '{cpu = $2 + $3; if (b == "") {print $1, cpu, $4; exit} split(b, o, " "); w = ($1 < o[1]) ? $1 : o[1]; c = (cpu < o[2]) ? cpu : o[2]; m = ($4 < o[3]) ? $4 : o[3]; print w, c, m}' "$tmp/t")
	done
	echo "$label $best" >>"$tmp/results"
	awk -v l="$label" '{printf "%-34s wall %7.3f s  cpu %7.3f s  rss %7.1f MiB\n", l, $1, $2, $3 / 1024}' <<<"$best"
}

: >"$tmp/results"
for n in $NS; do
	reps=$REPEAT
	[ "$n" -ge 10000 ] && reps=1
	for kind in mixed slo; do
		"$tmp/benchspec" -kind "$kind" -n "$n" >"$tmp/$kind-$n.yaml"
	done
	echo ">> rulegen at $n alerts / SLOs (best of $reps)"
	measure "mixed/$n rulegen check" "$reps" "$tmp/rulegen" check "$tmp/mixed-$n.yaml"
	measure "mixed/$n rulegen generate" "$reps" "$tmp/rulegen" generate "$tmp/mixed-$n.yaml" -o "$tmp/out-mixed"
	measure "mixed/$n rulegen generate --check" "$reps" "$tmp/rulegen" generate "$tmp/mixed-$n.yaml" -o "$tmp/out-mixed" --check
	if [ -n "$SLOTH" ]; then
		"$tmp/benchspec" -kind sloth -n "$n" >"$tmp/sloth-$n.yaml"
	fi
	for ((r = 0; r < reps; r++)); do
		# Interleaved, one run each per round, so load on the machine hits both alike.
		measure "slo/$n rulegen check" 1 "$tmp/rulegen" check "$tmp/slo-$n.yaml" >/dev/null
		measure "slo/$n rulegen generate" 1 "$tmp/rulegen" generate "$tmp/slo-$n.yaml" -o "$tmp/out-slo" >/dev/null
		if [ -n "$SLOTH" ]; then
			measure "slo/$n sloth validate" 1 "$SLOTH" validate --no-log -i "$tmp/sloth-$n.yaml" >/dev/null
			measure "slo/$n sloth generate" 1 "$SLOTH" generate --no-log -i "$tmp/sloth-$n.yaml" -o "$tmp/sloth-out.yaml" >/dev/null
		fi
	done
	# Best of the rounds for each.
	awk -v n="$n" '$1 == "slo/" n {k = $1 " " $2 " " $3; if (!(k in w) || $4 < w[k]) w[k] = $4; if (!(k in c) || $5 < c[k]) c[k] = $5; if (!(k in m) || $6 < m[k]) m[k] = $6; if (!(k in seen)) {seen[k] = 1; order[++o] = k}}
		END {for (i = 1; i <= o; i++) {k = order[i]; printf "%-34s wall %7.3f s  cpu %7.3f s  rss %7.1f MiB\n", k, w[k], c[k], m[k] / 1024; print k, w[k], c[k], m[k] > "/dev/stderr"}}' "$tmp/results" 2>"$tmp/best"
	if [ -n "$SLOTH" ]; then
		awk '{k = $2 " " $3; w[k] = $4; c[k] = $5; m[k] = $6}
			END {
				printf "   ratio rulegen/sloth: generate wall %.2f× cpu %.2f× rss %.2f×; rulegen check / sloth validate: wall %.2f× cpu %.2f× rss %.2f×\n",
					w["rulegen generate"] / w["sloth generate"], c["rulegen generate"] / c["sloth generate"], m["rulegen generate"] / m["sloth generate"],
					w["rulegen check"] / w["sloth validate"], c["rulegen check"] / c["sloth validate"], m["rulegen check"] / m["sloth validate"]
			}' "$tmp/best"
	fi
done
