#!/bin/bash
# The agent's database on a disk that fills up, and on a file that is not
# a database: each refusal names the file and the reason, exits 1, and
# leaves what was stored intact; once there is room again numbering goes
# on without a gap and every report reaches HQ.
#
# The full disk is a 256 KiB tmpfs mounted in a private mount namespace
# (unshare -m, or -rm when not root), so nothing outside this test sees it.
. "$(dirname "$0")/mountns.sh"
. "$(dirname "$0")/lib.sh"

start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
ID=CC0000000518
write_agent_conf $ID "山王小学校"
mkdir "$T/small"
mount -t tmpfs -o size=256k tmpfs "$T/small" ||
	{ not_ok "mount a small tmpfs"; done_testing; exit 1; }
sed -i "s|^database = .*|database = $T/small/agent.db|" "$T/agent-$ID.conf"
DB="$T/small/agent.db"

# A 1000-character note (the most allowed) makes each report about 3 KB.
NOTE=$(python3 -c 'print("断水" * 500)')
stored=0 rc=0
for i in $(seq 400); do
	seq_out=$(agent $ID report --total $((100 + i)) --note "$NOTE" 2>"$T/err")
	rc=$?
	[ "$rc" = 0 ] && [ "$seq_out" = $((stored + 1)) ] || break
	stored=$((stored + 1))
done
between() { [ "$1" -gt "$2" ] && [ "$1" -lt "$3" ]; }
check "reports are stored until the disk is full ($stored stored)" \
	between "$stored" 3 400
check "the refused report exits 1" [ "$rc" = 1 ]
says_full() { grep -qF "$DB" "$T/err" && grep -qi "full" "$T/err"; }
check "the error names the database and says the disk is full: $(head -c 200 "$T/err")" \
	says_full
check "the database passes integrity_check" \
	[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ]
check "the outbox holds exactly seq 1..$stored" \
	[ "$(sqlite3 "$DB" 'SELECT count(*)||":"||min(seq)||":"||max(seq) FROM outbox')" = "$stored:1:$stored" ]
check "no sequence number was used by the refused report" \
	[ "$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'next_seq'")" = $((stored + 1)) ]
status_ok() { agent $ID status --format json | grep -q "\"outbox\": $stored"; }
check "status still reads the full disk's outbox" status_ok

mount -o remount,size=8m "$T/small"
check "with room again, the next report takes seq $((stored + 1))" \
	[ "$(agent $ID report --total 99)" = $((stored + 1)) ]
start_hq
check "run --until-acked delivers everything" \
	agent $ID run --until-acked --timeout 60
check "HQ holds seq 1..$((stored + 1)) exactly once" \
	[ "$(sql "SELECT count(DISTINCT seq)||':'||count(*)||':'||min(seq)||':'||max(seq) FROM messages WHERE shelter_id = '$ID'")" = \
	  "$((stored + 1)):$((stored + 1)):1:$((stored + 1))" ]

# --- a database file that is not a database
write_agent_conf BROKEN "壊れたDB"
head -c 8192 /dev/urandom >"$T/agent-BROKEN.db"
cp "$T/agent-BROKEN.db" "$T/broken.copy"
refused() {
	agent BROKEN "$@" >"$T/out" 2>"$T/err"
	[ $? = 1 ] && grep -qF "$T/agent-BROKEN.db" "$T/err" &&
		grep -q "not a database" "$T/err"
}
check "report on a file that is not a database: exit 1, naming it" refused report --total 5
check "status too" refused status
check "run too" refused run --until-acked --timeout 5
check "the file is left as it was" cmp -s "$T/agent-BROKEN.db" "$T/broken.copy"

# --- a database path in a directory that does not exist
write_agent_conf NODIR "無い場所"
sed -i "s|^database = .*|database = $T/no/such/dir/agent.db|" "$T/agent-NODIR.conf"
check "a database in a missing directory: exit 1, naming it" \
	sh -c "'$AGENT' -c '$T/agent-NODIR.conf' report --total 5 2>&1 >/dev/null | grep -qF '$T/no/such/dir/agent.db'"

umount "$T/small"
done_testing
