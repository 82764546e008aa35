#!/bin/bash
# Agent benchmarks (issue: shelter-agent).  Each figure sits beside a
# baseline measured in the same run on the same machine:
#  - enqueue: reports stored per second (schema, rules, synced commit)
#    against raw synced one-row SQLite INSERTs of the same text;
#  - flush after an outage: N queued reports until HQ acknowledged them
#    all, against mosquitto_pub -q 1 publishing the same payloads;
#  - resident memory of `run` while flushing and idle, idle CPU;
#  - bytes on the wire per report, from the broker's own $SYS counters.
. "$(dirname "$0")/../integration/lib.sh"
N=${N:-5000}
BENCH="$ROOT/$BUILD/bench/bench_outbox"
ID=CC0000000518

mkdir -p "$T/enq"
"$BENCH" enqueue "$T/enq" "${ENQ_N:-2000}"

# A broker that publishes its byte counters every second.
PORT=$(free_port)
BROKER_EXTRA="sys_interval 1" start_broker
# One shelter's N reports at once: beyond hq's default burst (2000) the
# flush would measure the rate limit (20/s), not the pipeline.
HQ_EXTRA="shelter_burst = $((N + 1000))" write_hq_conf
write_agent_conf "$ID" "山王小学校"
start_hq
"$BENCH" fill "$T/agent-$ID.db" "$N"
sys() { mosquitto_sub -p "$PORT" -t "\$SYS/broker/bytes/$1" -C 1 -W 5; }
sleep 2
rx0=$(sys received); tx0=$(sys sent)

t0=$(date +%s.%N)
"$AGENT" -c "$T/agent-$ID.conf" run --until-acked --timeout 600 2>"$T/agent.log" &
pid=$!
hwm=0
while kill -0 "$pid" 2>/dev/null; do
	v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	[ -n "$v" ] && hwm=$v
	sleep 0.05
done
wait "$pid" || { echo "bench: flush failed"; tail "$T/agent.log"; exit 1; }
t1=$(date +%s.%N)
sleep 2.5
rx1=$(sys received); tx1=$(sys sent)

# Baseline: the same payloads, one per line, through mosquitto_pub -q 1.
"$BENCH" payload >"$T/one.json"
python3 - "$T/one.json" "$N" >"$T/payloads.txt" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for i in range(1, int(sys.argv[2]) + 1):
    m["seq"] = i
    print(json.dumps(m, ensure_ascii=False, separators=(",", ":")))
PY
b0=$(date +%s.%N)
mosquitto_pub -p "$PORT" -q 1 -l -t "bench/baseline" <"$T/payloads.txt"
b1=$(date +%s.%N)

python3 - "$N" "$t0" "$t1" "$b0" "$b1" "$rx0" "$rx1" "$tx0" "$tx1" "$hwm" <<'PY'
import sys
n, t0, t1, b0, b1, rx0, rx1, tx0, tx1, hwm = sys.argv[1:]
n = int(n)
ours = n / (float(t1) - float(t0))
base = n / (float(b1) - float(b0))
print(f"flush after outage: {n} reports HQ-acknowledged at {ours:.0f}/s; "
      f"mosquitto_pub -q 1 same payloads {base:.0f}/s; ratio {ours / base:.2f}")
print(f"wire: broker received {(int(rx1) - int(rx0)) / n:.0f} B and sent "
      f"{(int(tx1) - int(tx0)) / n:.0f} B per report (agent, HQ, acks, PUBACKs)")
print(f"memory: shelter-agent run peak resident {int(hwm) / 1024:.1f} MiB while flushing")
PY

# Idle: connected, nothing to send.
"$AGENT" -c "$T/agent-$ID.conf" run 2>>"$T/agent.log" &
pid=$!
sleep 2
c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep 10
c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
rss=$(awk '/^Rss/ {print $2}' "/proc/$pid/smaps_rollup")
priv=$(awk '/^Private/ {p += $2} END {print p}' "/proc/$pid/smaps_rollup")
kill "$pid"; wait "$pid"
python3 -c "import os,sys; t=os.sysconf('SC_CLK_TCK'); c=int(sys.argv[2])-int(sys.argv[1]); print(f'idle: resident {int(sys.argv[3])/1024:.1f} MiB of which private {int(sys.argv[4])/1024:.1f} MiB (the rest is shared library pages), CPU {c/t*1000/10:.1f} ms per second of idle')" "$c0" "$c1" "$rss" "$priv"
