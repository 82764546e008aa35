#!/bin/bash
# hq dispatch routing (issue 5, "Dispatch"): route.c on synthetic
# Kashiwazaki and Kumamoto instances, each figure beside its baseline in
# the same run (nearest-neighbour ordering of the same stops; every stop
# served alone).  See tests/bench/bench_route.c for the instances.
set -euo pipefail
cd "$(dirname "$0")/../.."
"${BUILD:-build}/bench/bench_route" "${ROUTE_RUNS:-5}"
