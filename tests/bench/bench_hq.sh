#!/bin/bash
# HQ ingest benchmarks (issue: hq ingest at scale).  Each figure sits
# beside a baseline measured in the same run on the same machine:
#  - backlog drain: HQ_BENCH_SHELTERS x HQ_BENCH_PER status reports queued
#    at a private mosquitto for hq's persistent session while hq is
#    stopped, then the time from starting hq until every shelter's
#    acknowledgement says all are committed; against mosquitto_sub
#    draining the same backlog from its own persistent session;
#  - end-to-end latency publish->ack (p50/p99), HQ_BENCH_LAT_SHELTERS x
#    HQ_BENCH_LAT_PER reports as one burst, and paced at HQ_BENCH_LAT_RATE/s;
#  - peak resident memory of hq (VmHWM) during the drain.
# Quick run: HQ_BENCH_SHELTERS=1000 HQ_BENCH_PER=20 HQ_BENCH_LAT_SHELTERS=1000 tests/bench/bench_hq.sh
. "$(dirname "$0")/../integration/lib.sh"
LOAD="$ROOT/$BUILD/bench/hq_load"
S=${HQ_BENCH_SHELTERS:-10000}
PER=${HQ_BENCH_PER:-100}
LAT_S=${HQ_BENCH_LAT_SHELTERS:-10000}
LAT_PER=${HQ_BENCH_LAT_PER:-5}
LAT_RATE=${HQ_BENCH_LAT_RATE:-500}
N=$((S * PER))
TOPIC="shelterlink/v1/$MUNI/+/status"
SUB_ID=sl-bench-sub

# Unlimited per-client queues: the backlog must not hit a broker limit.
BROKER_EXTRA="max_queued_messages 0" start_broker
HQ_EXTRA="${HQ_BENCH_CONF:-}" write_hq_conf
echo "# hq configuration: $(grep -E '^batch' "$T/hq.conf" | tr '\n' ' ')"

# Both persistent sessions exist before anything is published.
start_hq
for _ in $(seq 50); do grep -q "connected to" "$T/hq.log" && break; sleep 0.1; done
stop_hq
mosquitto_sub -p "$PORT" -c -i "$SUB_ID" -q 1 -t "$TOPIC" -E

p0=$(date +%s.%N)
"$LOAD" -b "$BROKER" -s "$S" -n "$PER" -c 2 | tail -1 >"$T/pub.out" ||
	{ echo "bench: publishing failed"; cat "$T/pub.out"; exit 1; }
p1=$(date +%s.%N)
echo "# queued $N reports from $S shelters in $(awk "BEGIN {printf \"%.1f\", $p1 - $p0}") s"

b0=$(date +%s.%N)
mosquitto_sub -p "$PORT" -c -i "$SUB_ID" -q 1 -t "$TOPIC" -C "$N" >/dev/null
b1=$(date +%s.%N)

# Custody: from hq's start until the inbox has committed all N (its row
# ids only grow; hq's own retained hq_state may count for one or two).
# Polled every 5 ms on one read connection, printed as wall-clock time.
custody_poll() {
	python3 - "$T/hq.db.inbox" "$N" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=5)
def seq():
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").fetchone()
    return row[0] if row else 0
goal = seq() + int(sys.argv[2])
while seq() < goal:
    time.sleep(0.005)
print(f"{time.time():.3f}")
PY
}

# hq: from its start until every shelter's acked_seq is PER.
"$LOAD" -b "$BROKER" -s "$S" -n "$PER" -a -W -t 3600 >"$T/drain.out" 2>&1 &
waiter=$!
custody_poll >"$T/custody.out" &
poller=$!
sleep 1
h0=$(date +%s.%N)
start_hq
hwm=0
while kill -0 "$waiter" 2>/dev/null; do
	v=$(awk '/^VmHWM/ {print $2}' "/proc/$HQ_PID/status" 2>/dev/null)
	[ -n "$v" ] && hwm=$v
	sleep 0.2
done
wait "$waiter" || { echo "bench: hq did not drain the backlog"; cat "$T/drain.out"; exit 1; }
h1=$(date +%s.%N)
wait "$poller" || { echo "bench: the inbox never held the backlog"; exit 1; }
c1=$(cat "$T/custody.out")
stored=$(sql "SELECT count(*) FROM messages")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$HQ_PID/status")
# CPU seconds hq used for the drain (all threads; the main thread alone):
# on a shared machine a steadier measure than the wall clock.
tck=$(getconf CLK_TCK)
cpu=$(awk -v t="$tck" '{printf "%.2f", ($14 + $15) / t}' "/proc/$HQ_PID/stat")
cpu_main=$(awk -v t="$tck" '{printf "%.2f", ($14 + $15) / t}' "/proc/$HQ_PID/task/$HQ_PID/stat")

# Latency: new shelters (prefix LAT, PAC) on the same broker and hq.
"$LOAD" -b "$BROKER" -p LAT -s "$LAT_S" -n "$LAT_PER" -a -t 3600 >"$T/lat.out" 2>&1 ||
	{ echo "bench: latency run failed"; cat "$T/lat.out"; exit 1; }
"$LOAD" -b "$BROKER" -p PAC -s "$LAT_S" -n 1 -R "$LAT_RATE" -a -t 3600 >"$T/pace.out" 2>&1 ||
	{ echo "bench: paced latency run failed"; cat "$T/pace.out"; exit 1; }
stop_hq
counters=$(tail -1 "$T/hq.log" | sed 's/.*hq\[info\] //')
# what hq warned about (slow feeds, lost connections), for the record
grep 'hq\[warn' "$T/hq.log" | tail -5 | sed 's/^/# hq: /' || true

python3 - "$N" "$S" "$PER" "$b0" "$b1" "$h0" "$h1" "$c1" "$stored" "$hwm" "$rss" "$cpu" "$cpu_main" \
	"$(grep RESULT "$T/lat.out")" "$(grep RESULT "$T/pace.out")" \
	"$LAT_S" "$LAT_PER" "$LAT_RATE" "$counters" <<'PY'
import sys
(n, s, per, b0, b1, h0, h1, c1, stored, hwm, rss, cpu, cpu_main, lat, pace, lat_s,
 lat_per, rate, counters) = sys.argv[1:]
n = int(n)
base = n / (float(b1) - float(b0))
ours = n / (float(h1) - float(h0))
def kv(line):
    return dict(f.split("=", 1) for f in line.split()[1:])
lat, pace = kv(lat), kv(pace)
custody = n / (float(c1) - float(h0))
print(f"backlog drain into custody: {n} reports from {s} shelters x {per}: "
      f"hq's inbox committed all in {float(c1) - float(h0):.2f} s = "
      f"{custody:.0f}/s; mosquitto_sub -c -q 1 drained the same backlog in "
      f"{float(b1) - float(b0):.2f} s = {base:.0f}/s; ratio hq/mosquitto_sub "
      f"{custody / base:.3f} (goal 0.8)")
print(f"backlog processed: {n} reports from {s} shelters x {per}: hq stored and "
      f"acknowledged all in {float(h1) - float(h0):.1f} s = {ours:.0f}/s "
      f"({stored} rows); mosquitto_sub -c -q 1 drained the same backlog in "
      f"{float(b1) - float(b0):.1f} s = {base:.0f}/s; ratio hq/mosquitto_sub "
      f"{ours / base:.3f} (goal 0.8)")
print(f"hq CPU during the drain: {cpu} s in all threads, {cpu_main} s in the "
      f"main thread = {float(cpu) / n * 1e6:.0f} us and "
      f"{float(cpu_main) / n * 1e6:.0f} us per report")
print(f"latency publish->ack, {lat_s} shelters x {lat_per} as one burst: "
      f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms "
      f"(all acknowledged {lat['ack_s']} s after the first publish)")
print(f"latency publish->ack, {lat_s} shelters x 1 paced at {rate}/s: "
      f"p50 {pace['p50_ms']} ms, p99 {pace['p99_ms']} ms")
print(f"memory: hq run peak resident (VmHWM) {int(hwm) / 1024:.1f} MiB during "
      f"the drain; {int(rss) / 1024:.1f} MiB resident at the end")
print(f"hq counters at stop: {counters}")
PY
tail -1 "$T/hq.log" | grep -q 'rejected 0,' || { echo "bench: hq rejected messages"; exit 1; }
