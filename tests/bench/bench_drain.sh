#!/bin/bash
# The floor under hq's backlog drain (docs/benchmarks.md, "hq ingest"):
# the same backlog of DRAIN_SHELTERS x DRAIN_PER status reports, queued
# once for several persistent sessions, drained by
#  - mosquitto_sub -q 1 >/dev/null (the issue's baseline),
#  - libmosquitto and paho clients that drop every message,
#  - a libmosquitto client that only appends topic and payload to a
#    file (stdio, one fsync at the end): the least any durable store of
#    these bytes costs,
#  - a libmosquitto client putting them into hq's inbox (common/inbox.c)
#    until it has committed all: hq's custody without the processing,
# each as a ratio of mosquitto_sub's rate.  mosquitto_sub runs first and
# last, to show how much the machine moved meanwhile.
. "$(dirname "$0")/../integration/lib.sh"
LOAD="$ROOT/$BUILD/bench/hq_load"
DRAIN="$ROOT/$BUILD/bench/bench_drain"
S=${DRAIN_SHELTERS:-10000}
PER=${DRAIN_PER:-100}
N=$((S * PER))
TOPIC="shelterlink/v1/$MUNI/+/status"

BROKER_EXTRA="max_queued_messages 0" start_broker
for id in sub1 sub2 mosq paho file inbox; do
	mosquitto_sub -p "$PORT" -c -i "sl-drain-$id" -q 1 -t "$TOPIC" -E
done
"$LOAD" -b "$BROKER" -s "$S" -n "$PER" -c 2 | tail -1 >"$T/pub.out" ||
	{ echo "bench: publishing failed"; cat "$T/pub.out"; exit 1; }

# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
# sub_rate ID: mosquitto_sub's rate; also leaves its CPU seconds and the
# broker's during the drain in $T/cpu.
sub_rate() {
	local t0 t1 b0 b1
	b0=$(cpu_s "$BROKER_PID")
	t0=$(date +%s.%N)
	TIMEFORMAT='%U %S'
	{ time mosquitto_sub -p "$PORT" -c -i "sl-drain-$1" -q 1 -t "$TOPIC" -C "$N" >/dev/null; } 2>"$T/sub.time"
	t1=$(date +%s.%N)
	b1=$(cpu_s "$BROKER_PID")
	awk -v b="$(awk "BEGIN {print $b1 - $b0}")" -v w="$(awk "BEGIN {print $t1 - $t0}")" \
		'{printf "%.2f %.2f %.2f", $1 + $2, b, w}' "$T/sub.time" >"$T/cpu"
	awk "BEGIN {printf \"%.0f\", $N / ($t1 - $t0)}"
}
rate_of() { sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }

first=$(sub_rate sub1)
read -r sub_cpu broker_cpu wall <"$T/cpu"
mosq=$("$DRAIN" mosquitto "$PORT" sl-drain-mosq "$N" | rate_of)
paho=$("$DRAIN" paho "$PORT" sl-drain-paho "$N" | rate_of)
file=$("$DRAIN" file "$PORT" sl-drain-file "$N" "$T/backlog.bin" | rate_of)
inbox=$("$DRAIN" inbox "$PORT" sl-drain-inbox "$N" "$T/backlog.inbox" | rate_of)
last=$(sub_rate sub2)
bytes=$(stat -c %s "$T/backlog.bin")

python3 - "$N" "$first" "$last" "$mosq" "$paho" "$file" "$inbox" "$bytes" \
	"$sub_cpu" "$broker_cpu" "$wall" <<'PY'
import sys
n, first, last, mosq, paho, file, inbox, size, sub_cpu, broker_cpu, wall = \
    map(float, sys.argv[1:])
base = (first + last) / 2
print(f"drain floor, {int(n)} reports: mosquitto_sub {first:.0f}/s before and "
      f"{last:.0f}/s after (baseline {base:.0f}/s); in the first, over {wall:.2f} s, "
      f"mosquitto_sub used {sub_cpu:.2f} s of CPU and the broker {broker_cpu:.2f} s")
for name, rate in (("libmosquitto, dropped", mosq), ("paho async, dropped", paho),
                   (f"libmosquitto into a file ({size / 1e6:.0f} MB, one fsync)", file),
                   ("libmosquitto into hq's inbox, all committed", inbox)):
    print(f"  {name}: {rate:.0f}/s, ratio {rate / base:.3f}")
PY
