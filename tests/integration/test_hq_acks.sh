#!/bin/bash
# hq's acknowledgements are coalesced per shelter (docs/protocol.md,
# section 5, HQ rule 2): at most one per ack_interval_ms, always the
# latest committed acked_seq, and the last one of a burst follows its
# commit within about one interval.  They go out on hq's second
# connection (<client_id>-ack), so they keep flowing while hq drains a
# backlog from a broker that pushes the whole backlog at once
# (lib.sh's mosquitto has max_inflight_messages 0).
. "$(dirname "$0")/lib.sh"
LOAD="$ROOT/$BUILD/bench/hq_load"
[ -x "$LOAD" ] || { not_ok "load generator $LOAD built (make $BUILD/bench/hq_load)"; done_testing; exit 1; }
start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
HQ_EXTRA="ack_interval_ms = 1000" write_hq_conf
start_hq
eventually 10 "hq is connected" grep -q "connected to" "$T/hq.log"

ack_of() { # the retained ack of shelter $1: its acked_seq
	mosquitto_sub -p "$PORT" -t "shelterlink/v1/$MUNI/$1/ack" -C 1 -W 5 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["acked_seq"])'
}

# One shelter, 300 reports over 3 s: about 300 batches (one ack each
# before coalescing), and an ack at most every second.
"$LOAD" -b "$BROKER" -p ONE -s 1 -n 300 -R 100 -a -t 60 >"$T/one.out" 2>&1
check "a burst of 300 reports from one shelter is acknowledged" grep -q "acknowledged 300 of 300" "$T/one.out"
acks=$(sed -n 's/.*(\([0-9]*\) ack messages.*/\1/p' "$T/one.out")
echo "# $acks ack messages for 300 reports in $(sed -n 's/.*ack_s=\([0-9.]*\).*/\1/p' "$T/one.out") s"
check "coalesced: about one ack per interval, not one per batch ($acks)" \
	[ "${acks:-999}" -le 6 ]
check "the retained ack carries the last seq" [ "$(ack_of ONE0000001)" = 300 ]
ack_s=$(sed -n 's/.*ack_s=\([0-9.]*\).*/\1/p' "$T/one.out")
check "the last ack follows the last report within about an interval (${ack_s} s after the first)" \
	python3 -c "import sys; sys.exit(not float(sys.argv[1]) < 6)" "${ack_s:-99}"

# A backlog for hq's persistent session, then a second wave while hq
# drains it: the second wave's shelters are acknowledged before the
# backlog is gone only if acks do not wait behind the backlog.
stop_hq
"$LOAD" -b "$BROKER" -p BKL -s 400 -n 100 -c 2 >"$T/backlog.out" 2>&1
check "40,000 reports queued for hq's session" grep -q "published 40000" "$T/backlog.out"
"$LOAD" -b "$BROKER" -p BKL -s 400 -n 100 -a -W -t 180 >"$T/drain.out" 2>&1 &
drain=$!
PIDS+=("$drain")
start_hq
eventually 60 "hq stores reports from the backlog" \
	sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$T/hq.db' \"SELECT count(*) FROM messages WHERE shelter_id LIKE 'BKL%'\") -gt 2000 ]"
# Before the acks had their own connection, 64 went out and then none
# until the drain ended: every shelter has reports stored by now.
seen_mid=$(timeout 1 mosquitto_sub -p "$PORT" -t "shelterlink/v1/$MUNI/+/ack" 2>/dev/null |
	grep -o '"BKL[0-9]*"' | sort -u | wc -l)
stored_mid=$(sql "SELECT count(*) FROM messages WHERE shelter_id LIKE 'BKL%'")
echo "# mid-drain: retained acks of $seen_mid of 400 shelters; $stored_mid of 40000 stored"
check "acks keep reaching the broker while the backlog drains ($seen_mid > 100)" \
	[ "$seen_mid" -gt 100 ]
wait "$drain"
drain_rc=$?
check "every backlog shelter is acknowledged at 100" [ "$drain_rc" -eq 0 ]
check "hq stored the backlog once" sql_is "SELECT count(*) FROM messages WHERE shelter_id LIKE 'BKL%'" 40000
stop_hq
check "hq rejected nothing" sh -c "tail -1 '$T/hq.log' | grep -q 'rejected 0,'"
done_testing
