#!/bin/bash
# Nothing entered is ever lost: reports entered with no broker, the agent
# killed with SIGKILL at random moments during a flush, the broker killed
# and restarted mid-flush with persistence off.  HQ must end with exactly
# the set of reports the agent stored, each once.
. "$(dirname "$0")/lib.sh"

ID=CC0000000598
PORT=$(free_port)
BROKER="tcp://127.0.0.1:$PORT"
write_hq_conf
write_agent_conf "$ID" "中島小学校（体育館）"

# enter FIRST LAST: reports whose total encodes their order of entry.
enter() {
	local n
	for n in $(seq "$1" "$2"); do
		agent "$ID" report --total "$n" >/dev/null || return 1
	done
}
depth() { agent "$ID" status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["outbox"])'; }
# The agent's (seq, total) pairs and HQ's, each as sorted text.
agent_set() { sqlite3 "$T/agent-$ID.db" "SELECT seq, json_extract(payload, '$.headcount.total') FROM outbox ORDER BY seq"; }
hq_set() { sql "SELECT m.seq, h.total FROM messages m JOIN headcounts h USING (shelter_id, seq) WHERE m.shelter_id = '$ID' ORDER BY m.seq"; }
same_sets() { [ "$(agent_set)" = "$(hq_set)" ]; }

# --- 500 reports with no broker at all
check "500 reports entered with no broker running" enter 1 500
check "all 500 wait in the outbox" [ "$(depth)" = 500 ]
check "no sequence number was skipped or reused" \
	[ "$(sqlite3 "$T/agent-$ID.db" 'SELECT count(DISTINCT seq)||":"||min(seq)||":"||max(seq) FROM outbox')" = "500:1:500" ]
"$AGENT" -c "$T/agent-$ID.conf" run --until-acked --timeout 2 >/dev/null 2>&1
no_broker() {
	agent "$ID" status --format json | python3 -c 'import json,sys
s = json.load(sys.stdin)
sys.exit(0 if not s["connected"] and s["outbox"] == 500 and s["last_error"] else 1)'
}
check "with no broker, status says not connected, 500 waiting, and why" no_broker
start_broker
start_hq
check "once the broker is up, the agent delivers all 500" \
	agent "$ID" run --until-acked --timeout 120
check "the outbox ends empty" [ "$(depth)" = 0 ]
check "HQ holds all 500, each once, seq i carrying the i-th report" \
	[ "$(hq_set)" = "$(seq 1 500 | awk '{print $1"|"$1}')" ]

# --- SIGKILL the agent at random moments during a flush, 25 times,
# entering more reports between kills.
kills=0
RANDOM=4242
for round in $(seq 25); do
	enter $((500 + (round - 1) * 40 + 1)) $((500 + round * 40)) || break
	"$AGENT" -c "$T/agent-$ID.conf" run >>"$T/agent-kill.log" 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 40 + 2))"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
done
check "the agent was killed with SIGKILL at least 20 times mid-flush ($kills)" [ "$kills" -ge 20 ]
check "after the last restart the outbox drains" \
	agent "$ID" run --until-acked --timeout 120
check "HQ holds exactly the 1500 reports the agent stored, each once" \
	sh -c "[ \"\$(sqlite3 '$T/agent-$ID.db' 'SELECT count(*) FROM outbox')\" = 1500 ]"
check "HQ's set equals the agent's set" same_sets
check "no seq stored twice at HQ" \
	[ "$(sql "SELECT count(*) - count(DISTINCT seq) FROM messages WHERE shelter_id = '$ID'")" = 0 ]

# --- the broker killed and restarted mid-flush, persistence off, so it
# loses every queued and in-flight message: the end-to-end ack recovers.
enter 1501 2500
"$AGENT" -c "$T/agent-$ID.conf" run --until-acked --timeout 120 >>"$T/agent-broker.log" 2>&1 &
flush=$!
eventually 30 "the flush has started" sh -c "[ \$(sqlite3 '$T/hq.db' \"SELECT acked_seq FROM shelters WHERE shelter_id = '$ID'\") -gt 1500 ]"
kill -9 "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
left=$(depth)
check "the broker died mid-flush ($left reports not yet acknowledged)" [ "$left" -gt 0 ]
sleep 1
start_broker
check "the agent finishes after the broker came back" wait "$flush"
check "HQ holds all 2500 reports, each once" same_sets
check "HQ's acknowledgement covers all 2500" field_is "$ID" acked_seq 2500

done_testing
