#!/bin/bash
# Custody before processing (common/inbox.h): hq takes a broker backlog
# into its inbox long before it has processed it.  Killed with SIGKILL
# between the two, hq processes the rest from the inbox when it comes
# back, even with the broker gone (the broker was PUBACKed and holds
# nothing any more, and the generator does not resend): every report
# exactly once.  A deleted inbox is a new generation, and ingest goes on;
# and the subscription works over MQTT 3.1.1 as well as 5.
. "$(dirname "$0")/lib.sh"
LOAD="$ROOT/$BUILD/bench/hq_load"
SHELTERS=${HQ_INBOX_SHELTERS:-600} PER=${HQ_INBOX_PER:-100}
TOTAL=$((SHELTERS * PER))
inbox_sql() { sqlite3 -cmd '.timeout 5000' "$T/hq.db.inbox" "$1"; }
committed() { inbox_sql "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'inbox'"; }

[ -x "$LOAD" ] || { not_ok "load generator $LOAD built"; done_testing; exit 1; }
start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
start_hq
eventually 10 "hq is connected, its session and inbox exist" \
	sh -c "grep -q 'connected to' '$T/hq.log' && [ -s '$T/hq.db.inbox' ]"
stop_hq
before=$(committed)

"$LOAD" -b "$BROKER" -s "$SHELTERS" -n "$PER" -c 2 >"$T/load.out" 2>&1
check "$TOTAL reports queued for hq's session" grep -q "published=$TOTAL .*failed=0" "$T/load.out"

start_hq
for _ in $(seq 1200); do
	[ "$(committed)" -ge $((before + TOTAL)) ] && break
	sleep 0.05
done
kill -KILL "$HQ_PID"
wait "$HQ_PID" 2>/dev/null
stored=$(sql "SELECT count(*) FROM messages")
in_custody=$(($(committed) - before))
echo "# SIGKILL with $in_custody of $TOTAL in the inbox, $stored processed"
check "the whole backlog was in the inbox before hq was killed" [ "$in_custody" -ge "$TOTAL" ]
check "and not yet processed: the rest is only in the inbox" [ "$stored" -lt "$TOTAL" ]

stop_broker
: >"$T/hq.log"
start_hq
eventually 120 "with no broker, hq processes the rest from its inbox" \
	sql_is "SELECT count(*) FROM messages" "$TOTAL"
check "each report exactly once" \
	sql_is "SELECT count(*) FROM (SELECT DISTINCT shelter_id, seq FROM messages)" "$TOTAL"
check "every shelter's acked_seq is $PER" \
	sql_is "SELECT count(*) FROM shelters WHERE acked_seq = $PER" "$SHELTERS"
check "hq said it resumed an inbox from before" \
	grep -q "messages in the inbox from before" "$T/hq.log"
eventually 30 "processed messages leave the inbox" \
	sh -c "[ \"\$(sqlite3 -cmd '.timeout 5000' '$T/hq.db.inbox' 'SELECT count(*) FROM inbox')\" = 0 ]"
stop_hq

# A lost inbox: a new file, a new generation; the old cursor is void.
old_gen=$(sql "SELECT generation FROM ingest_cursor")
rm -f "$T/hq.db.inbox" "$T/hq.db.inbox-wal" "$T/hq.db.inbox-shm"
start_broker
start_hq
eventually 10 "hq is connected again" grep -q "connected to" "$T/hq.log"
write_agent_conf CC0000000518
agent CC0000000518 report --total 42 >/dev/null
check "after the inbox was deleted, a new report is acknowledged" \
	agent CC0000000518 run --until-acked --timeout 30
check "and stored" field_is CC0000000518 total 42
check "under a new generation" \
	sh -c "[ -n '$old_gen' ] && [ \"\$(sqlite3 '$T/hq.db' 'SELECT generation FROM ingest_cursor')\" != '$old_gen' ]"
stop_hq

# The subscription speaks MQTT 3.1.1 too (mqtt_version = 4).
echo "mqtt_version = 4" >>"$T/hq.conf"
: >"$T/hq.log"
start_hq
eventually 10 "hq is connected with MQTT 3.1.1" grep -q "connected to" "$T/hq.log"
agent CC0000000518 report --total 43 >/dev/null
check "over MQTT 3.1.1 a report is acknowledged" \
	agent CC0000000518 run --until-acked --timeout 30
check "and stored" field_is CC0000000518 total 43
stop_hq
check "hq rejected nothing" grep -q 'rejected 0,' "$T/hq.log"
done_testing
