#!/bin/bash
# HQ ingest at scale with crashes: 1,000 simulated shelters x 100 status
# reports (100,000 messages, QoS 1) into a real mosquitto while hq
# ingests; hq is killed with SIGKILL at random moments during ingest (at
# least 3 times) and restarted on its persistent session.
#
# The MQTT client sends the PUBACK for an incoming message when it
# receives it, not when hq has committed it to its inbox, so a SIGKILL
# loses whatever hq held in memory (docs/protocol.md, section 9).  The end-to-end acked_seq is the
# guarantee: like the agents, the generator resends everything above a
# shelter's acked_seq when acknowledgements stop advancing.  At the end
# every report is stored exactly once and every acked_seq is 100.
. "$(dirname "$0")/lib.sh"
LOAD="$ROOT/$BUILD/bench/hq_load"
# Under the sanitizers (make sanitize) 30,000 messages cover the
# same paths in CI's time; make test runs the full 100,000.
if [ -n "${SL_SANITIZE:-}" ]; then
	SHELTERS=${HQ_KILL_SHELTERS:-300} PER=${HQ_KILL_PER:-100}
else
	SHELTERS=${HQ_KILL_SHELTERS:-1000} PER=${HQ_KILL_PER:-100}
fi
KILLS=${HQ_KILL_KILLS:-3}
TOTAL=$((SHELTERS * PER))

[ -x "$LOAD" ] || { not_ok "load generator $LOAD built (make $BUILD/bench/hq_load)"; done_testing; exit 1; }
start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
start_hq
# hq's persistent session must exist before anything is published.
eventually 10 "hq is connected" grep -q "connected to" "$T/hq.log"

"$LOAD" -b "$BROKER" -s "$SHELTERS" -n "$PER" -a -r 3 -t 160 \
	>"$T/load.out" 2>"$T/load.log" &
LOAD_PID=$!
PIDS+=("$LOAD_PID")

# Kill at random moments while rows are still missing, restart at once:
# kill k waits for a random point in the k-th of KILLS equal slices of
# the stored count, so a faster hq cannot finish before the last kill.
kills=0 during=0
while [ "$kills" -lt "$KILLS" ] && kill -0 "$LOAD_PID" 2>/dev/null; do
	target=$((TOTAL * kills / KILLS + RANDOM % (TOTAL / KILLS)))
	target=$((target * 9 / 10))
	stored=0
	while [ "${stored:-0}" -lt "$target" ] && kill -0 "$LOAD_PID" 2>/dev/null; do
		sleep 0.05
		stored=$(sql "SELECT count(*) FROM messages")
	done
	kill -KILL "$HQ_PID"
	wait "$HQ_PID" 2>/dev/null
	stored=$(sql "SELECT count(*) FROM messages")
	kills=$((kills + 1))
	[ "${stored:-0}" -lt "$TOTAL" ] && during=$((during + 1))
	echo "# SIGKILL $kills with $stored of $TOTAL stored"
	start_hq
done
check "hq was killed with SIGKILL $KILLS times, each during ingest" \
	[ "$during" -ge "$KILLS" ]

wait "$LOAD_PID"
load_rc=$?
sed 's/^/# /' "$T/load.out" "$T/load.log"
check "every shelter's report is acknowledged end to end (acked_seq $PER)" \
	[ "$load_rc" -eq 0 ]
stop_hq

check "messages holds exactly $TOTAL rows" sql_is "SELECT count(*) FROM messages" "$TOTAL"
check "no (shelter, seq) is stored twice" \
	sql_is "SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY shelter_id, seq HAVING count(*) > 1)" 0
check "every shelter has seq 1..$PER, $PER rows" \
	sql_is "SELECT count(*) FROM (SELECT shelter_id FROM messages GROUP BY shelter_id
		HAVING count(*) = $PER AND min(seq) = 1 AND max(seq) = $PER)" "$SHELTERS"
check "every shelter's acked_seq is $PER" \
	sql_is "SELECT count(*) FROM shelters WHERE acked_seq = $PER" "$SHELTERS"
check "every stored report has its headcount row" \
	sql_is "SELECT count(*) FROM headcounts" "$TOTAL"
check "nothing was dead-lettered" sql_is "SELECT count(*) FROM dead_letters" 0
check "hq rejected nothing (counters on the last clean stop)" \
	sh -c "tail -1 '$T/hq.log' | grep -q 'rejected 0,' && ! grep -q 'rejected message' '$T/hq.log'"
lost=$(sed -n 's/.*republished=\([0-9]*\).*/\1/p' "$T/load.out")
echo "# $kills SIGKILLs; the generator resent ${lost:-?} reports above acked_seq"
done_testing
