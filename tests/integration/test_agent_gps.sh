#!/bin/bash
# The shelter's position: a real gpsd, started by gpsfake on 127.0.0.1,
# replays real receiver logs (data/gps, from the gpsd project) and
# `shelter-agent report` stores the fix it reads through libgps; the
# expected coordinates are decoded from the logs here, independently of
# gpsd.  Without a fix, or without gpsd, the configured fixed position is
# used, else none; and a report never waits much longer than
# gps_budget_ms, whatever is (or is not) at the gpsd address.
. "$(dirname "$0")/lib.sh"

LOGS="$ROOT/data/gps"
BROKER=tcp://127.0.0.1:1 # unused: `report` only stores
FIXED_LAT=37.04185
FIXED_LON=136.97373

# fixes_in LOG: every position the receiver reported in LOG, "lat lon"
# per line: NMEA GGA/RMC/GLL with a fix and a good checksum, and SiRF
# binary message 2 (ECEF metres, 3+ satellites) turned into WGS 84.
cat >"$T/fixes.py" <<'PY'
import math, re, struct, sys
data = open(sys.argv[1], "rb").read()
def deg(v, hemi):
    v = float(v); d = int(v / 100); x = d + (v - 100 * d) / 60
    return -x if hemi in (b"S", b"W") else x
for m in re.finditer(rb"\$(([A-Z]{2})(GGA|RMC|GLL),([^*\r\n]*))\*([0-9A-F]{2})", data):
    body, kind, f = m.group(1), m.group(3), m.group(4).split(b",")
    csum = 0
    for c in body:
        csum ^= c
    if csum != int(m.group(5), 16):
        continue
    if kind == b"GGA" and f[5] not in (b"", b"0") and f[1]:
        print(deg(f[1], f[2]), deg(f[3], f[4]))
    elif kind == b"RMC" and f[1] == b"A" and f[2]:
        print(deg(f[2], f[3]), deg(f[4], f[5]))
    elif kind == b"GLL" and len(f) > 5 and f[5] == b"A" and f[0]:
        print(deg(f[0], f[1]), deg(f[2], f[3]))
a, fl = 6378137.0, 1 / 298.257223563
e2 = fl * (2 - fl)
i = 0
while i + 8 <= len(data):
    if data[i:i + 2] != b"\xa0\xa2":
        i += 1
        continue
    n = (data[i + 2] << 8) | data[i + 3]
    p = data[i + 4:i + 4 + n]
    if len(p) != n or data[i + 6 + n:i + 8 + n] != b"\xb0\xb3" or \
            (sum(p) & 0x7fff) != (data[i + 4 + n] << 8 | data[i + 5 + n]):
        i += 1
        continue
    i += 8 + n
    if p[0] != 2 or n < 20:
        continue
    x, y, z = struct.unpack(">iii", p[1:13])
    if (p[19] & 7) < 3 or (x, y, z) == (0, 0, 0):
        continue
    r = math.hypot(x, y)
    lat = math.atan2(z, r * (1 - e2))
    for _ in range(10):
        nn = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
        h = r / math.cos(lat) - nn
        lat = math.atan2(z, r * (1 - e2 * nn / (nn + h)))
    print(math.degrees(lat), math.degrees(math.atan2(y, x)))
PY
fixes_in() { python3 "$T/fixes.py" "$1"; }

# last_position ID KEY: KEY of the position in ID's newest stored report;
# "-" when the report has no position, "" when it lacks KEY.
last_position() {
	sqlite3 "$T/agent-$1.db" "SELECT payload FROM outbox ORDER BY seq DESC LIMIT 1" |
		python3 -c 'import json, sys
p = json.load(sys.stdin).get("position")
print("-" if p is None else p.get(sys.argv[1], ""))' "$2"
}

# in_log LOG ID: ID's stored lat/lon is one of LOG's fixes (to 1e-7 deg,
# about a centimetre; gpsd prints 9 decimals).
in_log() {
	local lat lon
	lat=$(last_position "$2" lat) lon=$(last_position "$2" lon)
	[ -n "$lat" ] && [ "$lat" != - ] &&
		fixes_in "$1" | awk -v lat="$lat" -v lon="$lon" '
			function abs(v) { return v < 0 ? -v : v }
			abs($1 - lat) < 1e-7 && abs($2 - lon) < 1e-7 { found = 1 }
			END { exit !found }'
}

# gps_conf ID GPSD [KEY=VALUE...]: an agent configuration with debug
# logging, the gpsd address and the extra keys; latitude/longitude only
# when given as extra keys.
gps_conf() {
	local id=$1 gpsd=$2 kv
	shift 2
	write_agent_conf "$id"
	printf 'log_level = debug\ngpsd = %s\n' "$gpsd" >>"$T/agent-$id.conf"
	for kv in "$@"; do
		printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >>"$T/agent-$id.conf"
	done
}

# report ID: `report --total 10`, stderr to $T/report-ID.log; sets
# REPORT_MS and REPORT_SEQ.
report() {
	local t0 t1
	t0=$(date +%s%N)
	REPORT_SEQ=$(agent "$1" report --total 10 2>>"$T/report-$1.log")
	t1=$(date +%s%N)
	REPORT_MS=$(((t1 - t0) / 1000000))
}
logged() { grep -q -- "$2" "$T/report-$1.log"; }
agent_status() { "$AGENT" -c "$T/agent-$1.conf" status --format "$2"; }
# status_fix ID KEY: KEY of last_fix in `status --format json`
status_fix() {
	agent_status "$1" json | python3 -c 'import json, sys
print(json.load(sys.stdin)["last_fix"][sys.argv[1]])' "$2"
}
# took_between MIN MAX: the last report took MIN <= ms < MAX.
took_between() { [ "$REPORT_MS" -ge "$1" ] && [ "$REPORT_MS" -lt "$2" ]; }

# start_gpsfake LOG: a private gpsd on 127.0.0.1:$GPSD_PORT fed LOG in a
# loop (one sentence every 10 ms), opening the device at once (-n).
# Ready once gpsd sends a TPV (any mode): gpsd listens before gpsfake has
# added the device, and the first client waits for it to be identified.
start_gpsfake() {
	local attempt
	# On a loaded machine gpsfake sometimes never feeds its gpsd: a fresh
	# gpsfake on a fresh port is tried before the test gives up.
	for attempt in 1 2 3; do
		try_gpsfake "$1" && return 0
		echo "# gpsfake's gpsd on port $GPSD_PORT sent no TPV (attempt $attempt)" >&2
		stop_gpsfake
	done
	return 1
}
try_gpsfake() {
	GPSD_PORT=$(free_port)
	gpsfake -q -n -c 0.01 -P "$GPSD_PORT" "$1" \
		>>"$T/gpsfake-$(basename "$1" .log).log" 2>&1 &
	GPSFAKE_PID=$!
	PIDS+=("$GPSFAKE_PID")
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$GPSD_PORT") 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"?WATCH={\"enable\":true,\"json\":true}\n")
for line in s.makefile("rb"):
    if b"\"class\":\"TPV\"" in line:
        sys.exit(0)
sys.exit(1)' "$GPSD_PORT" 2>>"$T/gpsfake-$(basename "$1" .log).log"
}
stop_gpsfake() {
	kill "$GPSFAKE_PID" 2>/dev/null
	wait "$GPSFAKE_PID" 2>/dev/null
}

# start_listener silent|blackhole: something at 127.0.0.1:$FAKE_PORT that
# is not gpsd: "silent" accepts and never says a word; "blackhole" never
# completes a TCP handshake (its one-place queue is kept full, so the
# kernel drops SYNs, as for a host gone from the network).
start_listener() {
	FAKE_PORT=$(free_port)
	python3 -c 'import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.1", int(sys.argv[2])))
if sys.argv[1] == "silent":
    l.listen(8)
    held = []
    while True:
        held.append(l.accept()[0])
l.listen(0)
filler = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
open(sys.argv[3], "w").close()
time.sleep(3600)' "$1" "$FAKE_PORT" "$T/listener-ready" >>"$T/listener.log" 2>&1 &
	LISTENER_PID=$!
	PIDS+=("$LISTENER_PID")
	local i
	for i in $(seq 50); do
		if [ "$1" = blackhole ] && [ -e "$T/listener-ready" ]; then
			return 0
		fi
		if [ "$1" = silent ] &&
			(exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
stop_listener() {
	kill "$LISTENER_PID" 2>/dev/null
	wait "$LISTENER_PID" 2>/dev/null
	rm -f "$T/listener-ready"
}

for f in neo-m8n bu353s4 bu303-moving bu303-nofix; do
	check "data/gps/$f.log is there" [ -s "$LOGS/$f.log" ]
done
check "the NMEA and SiRF logs with a fix decode to positions" \
	sh -c "[ -n \"\$(python3 '$T/fixes.py' '$LOGS/neo-m8n.log')\" ] &&
	       [ -n \"\$(python3 '$T/fixes.py' '$LOGS/bu303-moving.log')\" ]"
check "the no-fix log has no position in it" \
	[ -z "$(fixes_in "$LOGS/bu303-nofix.log")" ]

# --- configuration
gps_conf CONF 127.0.0.1:2947 gps_budget_ms=250
check "-n accepts gpsd and gps_budget_ms" \
	sh -c "'$AGENT' -c '$T/agent-CONF.conf' -n | grep -q 'configuration OK'"
gps_conf CONF 127.0.0.1:2947 gps_budget_ms=10001
check "gps_budget_ms over 10000 is refused" \
	sh -c "! '$AGENT' -c '$T/agent-CONF.conf' -n 2>'$T/err' && grep -q gps_budget_ms '$T/err'"

# --- the baseline: no gpsd at all (gpsd = none), fixed position
gps_conf BASE none latitude=$FIXED_LAT longitude=$FIXED_LON
report BASE
BASE_MS=$REPORT_MS
check "gpsd = none: stored with the fixed position (${BASE_MS} ms)" \
	[ "$REPORT_SEQ:$(last_position BASE source):$(last_position BASE lat):$(last_position BASE lon)" = \
	  "1:fixed:$FIXED_LAT:$FIXED_LON" ]
check "gpsd = none: says why at debug level" logged BASE "gpsd = none"
no_fix_in_status() {
	agent_status "$1" json | grep -q '"last_fix": null' &&
		agent_status "$1" text | grep -qx 'last GPS fix: none'
}
check "a fixed position is not a GPS fix: status says none" no_fix_in_status BASE

# --- a fix from gpsd, for each receiver log with one; the fixed position
# is configured too and loses to the receiver.
for f in neo-m8n bu353s4 bu303-moving; do
	log="$LOGS/$f.log"
	if ! start_gpsfake "$log"; then
		not_ok "$f: gpsfake starts gpsd"
		continue
	fi
	gps_conf "$f" "127.0.0.1:$GPSD_PORT" gps_budget_ms=5000 \
		latitude=$FIXED_LAT longitude=$FIXED_LON
	report "$f"
	check "$f: report stored" [ "$REPORT_SEQ" = 1 ]
	check "$f: the fix came quickly (${REPORT_MS} ms, baseline ${BASE_MS} ms, budget 5000)" \
		took_between 0 $((BASE_MS + 2000))
	check "$f: source is gps" [ "$(last_position "$f" source)" = gps ]
	check "$f: lat/lon ($(last_position "$f" lat), $(last_position "$f" lon)) is a fix in the log" \
		in_log "$log" "$f"
	check "$f: fix_mode is 2d or 3d" \
		grep -qxE '2d|3d' <<<"$(last_position "$f" fix_mode)"
	acc=$(last_position "$f" accuracy_m)
	check "$f: accuracy_m, when given, is a distance (${acc:-none})" \
		awk -v a="$acc" 'BEGIN { exit !(a == "" || a + 0 >= 0) }'
	report "$f"
	check "$f: a second report is stored" [ "$REPORT_SEQ" = 2 ]
	check "$f: quickly too (${REPORT_MS} ms)" took_between 0 $((BASE_MS + 2000))
	check "$f: with a fix from the log as well" in_log "$log" "$f"
	check "$f: status --format json shows that fix as last_fix" \
		[ "$(status_fix "$f" source):$(status_fix "$f" lat):$(status_fix "$f" lon)" = \
		  "gps:$(last_position "$f" lat):$(last_position "$f" lon)" ]
	check "$f: status names the last GPS fix" \
		grep -q '^last GPS fix: [0-9.-]*, [0-9.-]* ([23]d)' <<<"$(agent_status "$f" text)"
	stop_gpsfake
done

# --- gpsd is up, the receiver has no fix: fixed position after the budget
if start_gpsfake "$LOGS/bu303-nofix.log"; then
	gps_conf NOFIX "127.0.0.1:$GPSD_PORT" gps_budget_ms=1000 \
		latitude=$FIXED_LAT longitude=$FIXED_LON
	report NOFIX
	check "no fix: stored with the fixed position (${REPORT_MS} ms, budget 1000)" \
		[ "$REPORT_SEQ:$(last_position NOFIX source):$(last_position NOFIX lat):$(last_position NOFIX lon)" = \
		  "1:fixed:$FIXED_LAT:$FIXED_LON" ]
	check "no fix: waited for the budget, not much longer" \
		took_between 1000 $((BASE_MS + 1000 + 1500))
	check "no fix: the debug log says gpsd had no fix" \
		logged NOFIX "has no 2D/3D fix after 1000 ms"
	gps_conf NOFIX2 "127.0.0.1:$GPSD_PORT" gps_budget_ms=500
	report NOFIX2
	check "no fix and no fixed position: stored without a position" \
		[ "$REPORT_SEQ:$(last_position NOFIX2 source)" = "1:-" ]
	check "no fix and no fixed position: the debug log says so" \
		logged NOFIX2 "no position: .*no 2D/3D fix.*no fixed latitude/longitude"
	stop_gpsfake
else
	not_ok "no fix: gpsfake starts gpsd"
fi

# --- nothing listens at the gpsd address: refused, so no wait at all
gps_conf DOWN "127.0.0.1:$(free_port)" gps_budget_ms=5000 \
	latitude=$FIXED_LAT longitude=$FIXED_LON
report DOWN
check "gpsd down: stored with the fixed position" \
	[ "$REPORT_SEQ:$(last_position DOWN source)" = 1:fixed ]
# under 3 s, and (valgrind's start-up alone can take that) no slower than
# the baseline plus 1 s
limit=$((BASE_MS + 1000 < 3000 ? BASE_MS + 1000 : 3000))
[ "${SL_VALGRIND:-0}" = 1 ] && limit=$((BASE_MS + 1000))
check "gpsd down: no wait for the 5000 ms budget (${REPORT_MS} ms, baseline ${BASE_MS} ms, limit ${limit} ms)" \
	took_between 0 "$limit"
check "gpsd down: the debug log says the connection failed" \
	logged DOWN "fixed position, not GPS: gpsd at 127.0.0.1:[0-9]*: can't connect"

# --- something accepts but never speaks
if start_listener silent; then
	gps_conf SILENT "127.0.0.1:$FAKE_PORT" gps_budget_ms=1000 \
		latitude=$FIXED_LAT longitude=$FIXED_LON
	report SILENT
	check "silent gpsd: stored with the fixed position" \
		[ "$REPORT_SEQ:$(last_position SILENT source)" = 1:fixed ]
	check "silent gpsd: not delayed beyond the 1000 ms budget (${REPORT_MS} ms, baseline ${BASE_MS} ms)" \
		took_between 1000 $((BASE_MS + 1000 + 1500))
	check "silent gpsd: the debug log says it said nothing" \
		logged SILENT "said nothing in 1000 ms"
	stop_listener
else
	not_ok "silent listener starts"
fi

# --- the TCP handshake never completes (libgps' connect would block for
# minutes): the report goes on without waiting for it
if start_listener blackhole; then
	gps_conf HOLE "127.0.0.1:$FAKE_PORT" gps_budget_ms=1000 \
		latitude=$FIXED_LAT longitude=$FIXED_LON
	report HOLE
	check "unreachable gpsd: stored with the fixed position" \
		[ "$REPORT_SEQ:$(last_position HOLE source)" = 1:fixed ]
	check "unreachable gpsd: not delayed beyond the 1000 ms budget (${REPORT_MS} ms, baseline ${BASE_MS} ms)" \
		took_between 1000 $((BASE_MS + 1000 + 1500))
	check "unreachable gpsd: the debug log says no connection" \
		logged HOLE "no connection within 1000 ms"
	stop_listener
else
	not_ok "blackhole listener starts"
fi

# --- settings that turn GPS off, or are wrong, never cost the report
gps_conf ZERO "127.0.0.1:$(free_port)" gps_budget_ms=0 \
	latitude=$FIXED_LAT longitude=$FIXED_LON
report ZERO
check "gps_budget_ms = 0: stored with the fixed position" \
	[ "$REPORT_SEQ:$(last_position ZERO source)" = 1:fixed ]
check "gps_budget_ms = 0: gpsd not asked, says the debug log" \
	logged ZERO "fixed position, not GPS: gps_budget_ms = 0"
gps_conf BADADDR "127.0.0.1:http" latitude=$FIXED_LAT longitude=$FIXED_LON
report BADADDR
check "a malformed gpsd address: stored with the fixed position" \
	[ "$REPORT_SEQ:$(last_position BADADDR source)" = 1:fixed ]
check "a malformed gpsd address: a warning says why" \
	logged BADADDR "warn.*GPS not used: gpsd: '127.0.0.1:http' is not host:port"
gps_conf BADFIX none latitude=91 longitude=$FIXED_LON
report BADFIX
check "a fixed latitude out of range: stored without a position" \
	[ "$REPORT_SEQ:$(last_position BADFIX source)" = "1:-" ]
check "a fixed latitude out of range: a warning says why" \
	logged BADFIX "warn.*latitude: 91 is outside -90..90"
gps_conf HALF none latitude=$FIXED_LAT
report HALF
check "latitude without longitude: stored without a position" \
	[ "$REPORT_SEQ:$(last_position HALF source)" = "1:-" ]
check "latitude without longitude: a warning says why" \
	logged HALF "warn.*latitude is set but longitude is not"

done_testing
