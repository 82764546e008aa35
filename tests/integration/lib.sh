# Shared helpers for integration tests: a private mosquitto on a free
# loopback port, temporary directories cleaned on exit (logs kept and
# printed only when a test failed), and TAP output.
#
# Source it; then use start_broker, start_hq, write_agent_conf, check, ...
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AGENT="$ROOT/$BUILD/shelter-agent"
HQ="$ROOT/$BUILD/hq"
MUNI=172022

T=$(mktemp -d "${TMPDIR:-/tmp}/sl-test.XXXXXX")
# mosquitto started as root drops to its own user: it must read configs
# and certificates here.
chmod 755 "$T"
# SL_VALGRIND=1 runs every program under valgrind (through wrappers, so
# "$HQ" stays one word); any valgrind error fails the run.
if [ "${SL_VALGRIND:-0}" = 1 ]; then
	mkdir -p "$T/bin"
	for prog in hq shelter-agent; do
		printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "%s" "$@"\n' \
			"$ROOT/$BUILD/$prog" >"$T/bin/$prog"
		chmod +x "$T/bin/$prog"
	done
	AGENT="$T/bin/shelter-agent"
	HQ="$T/bin/hq"
fi
PIDS=()
TESTNO=0
FAILURES=0

cleanup() {
	stop_all
	if [ "$FAILURES" -gt 0 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- $f"
			# a sanitizer report's first frames say the most
			if grep -qE '^==[0-9]+==' "$f"; then
				sed -n '/^==[0-9]*==/,$p' "$f" | head -80
			else
				tail -30 "$f"
			fi | sed 's/^/#   /'
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { TESTNO=$((TESTNO + 1)); echo "ok $TESTNO - $*"; }
not_ok() {
	TESTNO=$((TESTNO + 1)); FAILURES=$((FAILURES + 1))
	echo "not ok $TESTNO - $*"
}
# check DESCRIPTION COMMAND...: one TAP line from a command's status.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# eventually SECONDS DESCRIPTION COMMAND...: retries until true.
eventually() {
	local secs=$1 desc=$2; shift 2
	local end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		if "$@"; then ok "$desc"; return 0; fi
		sleep 0.2
	done
	not_ok "$desc (not true within ${secs}s)"
	return 1
}
stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	PIDS=()
}

# done_testing: stops the daemons, fails on any sanitizer or valgrind
# report in their logs, prints the plan; exit status says if all passed.
done_testing() {
	stop_all
	if grep -qE 'Sanitizer|runtime error|^==[0-9]+== ' "$T"/*.log 2>/dev/null; then
		not_ok "daemon logs free of sanitizer and valgrind reports"
	else
		ok "daemon logs free of sanitizer and valgrind reports"
	fi
	echo "1..$TESTNO"
	[ "$FAILURES" -eq 0 ]
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_broker: a private mosquitto on 127.0.0.1; sets PORT and BROKER.
# Queues sized so tests never hit mosquitto's silent drop at 1000.
start_broker() {
	PORT=${PORT:-$(free_port)}
	BROKER="tcp://127.0.0.1:$PORT"
	cat >"$T/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 0
log_dest stderr
log_type error
log_type warning
${BROKER_EXTRA:-}
CONF
	mosquitto -c "$T/mosquitto.conf" >>"$T/mosquitto.log" 2>&1 &
	BROKER_PID=$!
	PIDS+=("$BROKER_PID")
	local i
	for i in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "# mosquitto did not start on port $PORT" >&2
	return 1
}

stop_broker() {
	kill "$BROKER_PID" 2>/dev/null
	wait "$BROKER_PID" 2>/dev/null
}

write_hq_conf() {
	cat >"$T/hq.conf" <<CONF
broker = $BROKER
database = $T/hq.db
municipality = $MUNI
schemas = $ROOT/schemas
batch_wait_ms = 5
${HQ_EXTRA:-}
CONF
}

start_hq() {
	"$HQ" -c "$T/hq.conf" run >>"$T/hq.log" 2>&1 &
	HQ_PID=$!
	PIDS+=("$HQ_PID")
}

stop_hq() {
	kill "$HQ_PID" 2>/dev/null
	wait "$HQ_PID" 2>/dev/null
}

# write_agent_conf ID [NAME]: writes $T/agent-ID.conf
write_agent_conf() {
	cat >"$T/agent-$1.conf" <<CONF
broker = $BROKER
database = $T/agent-$1.db
municipality = $MUNI
shelter_id = $1
shelter_name = ${2:-Shelter $1}
schemas = $ROOT/schemas
resend_s = 2
CONF
}

agent() { local id=$1; shift; "$AGENT" -c "$T/agent-$id.conf" "$@"; }

# field_is ID FIELD VALUE / sql_is QUERY VALUE: conditions that are
# evaluated afresh on every try of `eventually`.
field_is() { [ "$(shelter_field "$1" "$2")" = "$3" ]; }
sql_is() { [ "$(sql "$1")" = "$2" ]; }

# sql QUERY: one value from HQ's database.
sql() { sqlite3 -cmd '.timeout 5000' "$T/hq.db" "$1"; }

# shelter_field ID FIELD: from `hq shelters --format json`.
shelter_field() {
	"$HQ" -c "$T/hq.conf" shelters --format json |
		python3 -c 'import json,sys
rows=[r for r in json.load(sys.stdin) if r["shelter_id"]==sys.argv[1]]
print(rows[0][sys.argv[2]] if rows else "")' "$1" "$2"
}
