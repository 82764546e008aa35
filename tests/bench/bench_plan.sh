#!/bin/bash
# hq plan (issue 5, "Must show"): the whole plan at the Kashiwazaki and
# Kumamoto scales, first in memory (build/bench/bench_plan: allocation
# plus trucks, beside the allocation alone), then end to end as an
# operator runs it: `hq scenario` loads the seeded event into a fresh
# database and `hq plan` estimates, plans and stores it, beside
# `hq plans` on the same database (start-up and open) as the baseline.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
"$B/bench/bench_plan" "${PLAN_RUNS:-5}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
secs() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; awk "BEGIN { print $EPOCHREALTIME - $t0 }"; }
echo
echo "| scale | hq plan, end to end | hq plans (baseline) | ratio | plan lines | orders |"
echo "|---|---|---|---|---|---|"
for scale in kashiwazaki kumamoto; do
	printf 'database = %s/%s.db\nmunicipality = 152056\n' "$T" "$scale" >"$T/$scale.conf"
	"$B/hq" -c "$T/$scale.conf" scenario "$scale" --seed 20070716 >/dev/null
	plan=$(secs "$B/hq" -c "$T/$scale.conf" plan)
	base=$(secs "$B/hq" -c "$T/$scale.conf" plans)
	read -r lines orders < <(sqlite3 "$T/$scale.db" \
		"SELECT (SELECT count(*) FROM plan_fills), (SELECT count(*) FROM dispatches)" | tr '|' ' ')
	printf '| %s | %.3f s | %.3f s | %.1f | %s | %s |\n' "$scale" "$plan" "$base" \
		"$(awk "BEGIN { print $plan / $base }")" "$lines" "$orders"
done
