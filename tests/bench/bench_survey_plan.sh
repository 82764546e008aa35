#!/bin/bash
# hq survey planning (issue 6, "Field planning"): survey_plan.c on a
# seeded Kumamoto instance (40 teams, 20,000 pending surveys) and a
# national one (500 teams, 500,000), each beside its baselines in the
# same run: nearest-neighbour ordering of the same assignment and the
# Held-Karp lower bound.  See tests/bench/bench_survey_plan.c.
set -euo pipefail
cd "$(dirname "$0")/../.."
"${BUILD:-build}/bench/bench_survey_plan" "${SURVEY_PLAN_RUNS:-5}"
