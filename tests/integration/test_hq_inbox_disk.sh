#!/bin/bash
# hq's inbox on a disk that fills up: hq keeps running, says why, stops
# reading from the broker (which keeps the rest of the backlog), drops
# nothing; once there is room again every report arrives exactly once.
#
# The disk is a 512 KiB tmpfs in a private mount namespace (unshare -m,
# or -rm when not root), so nothing outside this test sees it.
. "$(dirname "$0")/mountns.sh"
. "$(dirname "$0")/lib.sh"
LOAD="$ROOT/$BUILD/bench/hq_load"
SHELTERS=50 PER=100
TOTAL=$((SHELTERS * PER))

[ -x "$LOAD" ] || { not_ok "load generator $LOAD built"; done_testing; exit 1; }
start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
mkdir "$T/small"
mount -t tmpfs -o size=512k tmpfs "$T/small" ||
	{ not_ok "mount a small tmpfs"; done_testing; exit 1; }
HQ_EXTRA="inbox = $T/small/hq.inbox" write_hq_conf
start_hq
eventually 10 "hq is connected with its inbox on the small disk" \
	sh -c "grep -q 'connected to' '$T/hq.log' && [ -s '$T/small/hq.inbox' ]"
stop_hq

# About 2.8 MB of reports for a 512 KiB disk.
"$LOAD" -b "$BROKER" -s "$SHELTERS" -n "$PER" -c 2 >"$T/load.out" 2>&1
check "$TOTAL reports queued for hq's session" grep -q "published=$TOTAL .*failed=0" "$T/load.out"
start_hq
eventually 30 "hq says the inbox's disk is full, naming the file" \
	grep -q "$T/small/hq.inbox: .*disk is full" "$T/hq.log"
sleep 2
stored=$(sql "SELECT count(*) FROM messages")
check "hq keeps running while the disk is full" kill -0 "$HQ_PID"
check "and has not stored everything ($stored of $TOTAL)" [ "$stored" -lt "$TOTAL" ]

mount -o remount,size=32m "$T/small"
eventually 60 "with room again, every report arrives" \
	sql_is "SELECT count(*) FROM messages" "$TOTAL"
check "each exactly once" \
	sql_is "SELECT count(*) FROM (SELECT DISTINCT shelter_id, seq FROM messages)" "$TOTAL"
check "every shelter's acked_seq is $PER" \
	sql_is "SELECT count(*) FROM shelters WHERE acked_seq = $PER" "$SHELTERS"
stop_hq
check "hq rejected nothing" grep -q 'rejected 0,' "$T/hq.log"
umount "$T/small"
lines=$(grep -c "disk is full" "$T/hq.log")
check "the full disk is logged once a minute, not in a loop ($lines lines)" [ "$lines" -le 5 ]
done_testing
