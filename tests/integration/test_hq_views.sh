#!/bin/bash
# HQ's live picture through a real mosquitto: listed, ad-hoc and silent
# shelters; capacity and occupancy; stale; operators opening and closing;
# the views in table, CSV (BOM), JSON and GeoJSON; open needs; the public
# feed (file and retained topic, no personal data, credits); one shelter
# flooding HQ is rate-limited without holding up another; two hq
# processes splitting ingest through an MQTT 5 shared subscription.
. "$(dirname "$0")/lib.sh"

start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
CREDIT="令和6年能登半島地震 石川県七尾市避難所開設情報GISデータ (raokiey), CC BY 4.0"
HQ_EXTRA="feed_file = $T/feed.json
feed_interval_s = 1
feed_credit = $CREDIT
shelter_rate = 2
shelter_burst = 10"
write_hq_conf
hqc() { "$HQ" -c "$T/hq.conf" "$@"; }
# json EXPR: evaluates a Python expression over stdin's JSON as `d`
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
row() { hqc shelters --format json | json "[r for r in d if r['shelter_id']=='$1'][0]['$2']"; }

# The official list, as `hq import-shelters` stores it.
hqc shelters >/dev/null # creates the database
sqlite3 "$T/hq.db" "INSERT INTO registry (shelter_id, municipality, name,
  district, lat, lon, capacity_indoor, capacity_outdoor, layout,
  source_file, source_line, imported_at) VALUES
  ('CC0000000518', '172022', '山王小学校', '袖ケ江', 37.04185, 136.97373, 480, 3350, 'opendata', 'ref.csv', 2, 0),
  ('CC0000000504', '172022', '御祓地区コミュニティセンター', '御祓', 37.04826, 136.96136, 191, 0, 'opendata', 'ref.csv', 3, 0)"

start_hq
write_agent_conf CC0000000518 "山王小学校"
write_agent_conf NEW001 "臨時避難所（公民館）"
printf 'gpsd = none\nlatitude = 37.05\nlongitude = 136.95\n' >>"$T/agent-NEW001.conf"
agent CC0000000518 report --total 180 --elderly 60 --need water_drinking=200:critical \
	--need blanket=50 --need diaper_adult=30:high >/dev/null
agent NEW001 report --total 12 --need meal_ready=36 >/dev/null
check "both agents are acknowledged" \
	sh -c "'$AGENT' -c '$T/agent-CC0000000518.conf' run --until-acked --timeout 30 2>/dev/null &&
		'$AGENT' -c '$T/agent-NEW001.conf' run --until-acked --timeout 30 2>/dev/null"

check "a listed shelter shows its capacity (480) and occupancy (0.38)" \
	[ "$(row CC0000000518 capacity):$(row CC0000000518 occupancy)" = "480:0.38" ]
check "it is registered and placed by the list" \
	[ "$(row CC0000000518 registered):$(row CC0000000518 position_source)" = "True:registry" ]
check "an ad-hoc shelter is created by its first report, unregistered" \
	[ "$(row NEW001 registered):$(row NEW001 total)" = "False:12" ]
check "it is placed by its report's position" \
	[ "$(row NEW001 lat):$(row NEW001 lon):$(row NEW001 position_source)" = "37.05:136.95:fixed" ]
check "a listed shelter nobody opened or heard from is not_opened" \
	[ "$(row CC0000000504 status)" = not_opened ]
check "elderly are counted by group" [ "$(row CC0000000518 groups)" = "{'elderly': 60}" ]
check "open needs and critical needs are counted" \
	[ "$(row CC0000000518 open_needs):$(row CC0000000518 critical_needs)" = "3:1" ]

# --- formats
hqc shelters --format csv >"$T/shelters.csv"
check "CSV starts with a UTF-8 BOM" [ "$(head -c 3 "$T/shelters.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ]
check "CSV has a header and one line per shelter (3)" \
	[ "$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1],encoding="utf-8-sig"))); print(len(r), r[0]["shelter_id"], r[0]["name"])' "$T/shelters.csv")" = "3 CC0000000504 御祓地区コミュニティセンター" ]
check "GeoJSON: a FeatureCollection with [lon, lat] points" \
	[ "$(hqc shelters --format geojson | json "d['type'] + ' ' + str([f['geometry']['coordinates'] for f in d['features'] if f['properties']['shelter_id'] == 'NEW001'][0])")" = "FeatureCollection [136.95, 37.05]" ]
check "the table has a header and a total line" \
	sh -c "'$HQ' -c '$T/hq.conf' shelters | head -1 | grep -q '^SHELTER' &&
		'$HQ' -c '$T/hq.conf' shelters | tail -1 | grep -qx '3 shelters, 2 with people, 192 people'"
check "an unknown --format is refused" sh -c "! '$HQ' -c '$T/hq.conf' shelters --format xml 2>/dev/null"

# --- one shelter
check "hq shelter ID: history, needs, recent messages" \
	[ "$(hqc shelter CC0000000518 --format json | json "(len(d['history']), d['history'][0]['total'], len(d['needs']), d['recent_messages'][0]['type'])")" = "(1, 180, 3, 'status')" ]
check "hq shelter ID as text names the sections" \
	sh -c "'$HQ' -c '$T/hq.conf' shelter CC0000000518 | grep -q 'open needs'"
check "an unknown shelter id: exit 1, said plainly" \
	sh -c "'$HQ' -c '$T/hq.conf' shelter NOPE 2>&1 >/dev/null | grep -q \"no shelter 'NOPE'\""

# --- needs
check "needs by item: water 200, all critical, with its name" \
	[ "$(hqc needs --format json | json "[(r['qty'], r['critical'], r['item_name']) for r in d if r['item']=='water_drinking'][0]")" = "(200, 200, '飲料水（2Lペットボトル）')" ]
check "needs --urgency critical lists only water" \
	[ "$(hqc needs --urgency critical --format json | json "[r['item'] for r in d]")" = "['water_drinking']" ]
check "needs --by shelter lists each line (4)" \
	[ "$(hqc needs --by shelter --format json | json 'len(d)')" = 4 ]

# --- operators open and close
check "hq close ID" [ "$(hqc close CC0000000518)" = "CC0000000518 closed" ]
check "a closed shelter is listed as closed" [ "$(row CC0000000518 status)" = closed ]
check "its needs are no longer open needs" \
	[ "$(hqc needs --by shelter --format json | json "sorted({r['shelter_id'] for r in d})")" = "['NEW001']" ]
check "hq open ID reopens it" \
	sh -c "[ \"\$('$HQ' -c '$T/hq.conf' open CC0000000518)\" = 'CC0000000518 opened' ]"
check "an operator can open a listed shelter before its agent is heard" \
	sh -c "'$HQ' -c '$T/hq.conf' open CC0000000504 >/dev/null"
check "... and it is then open" [ "$(row CC0000000504 status)" = open ]
check "opening an unknown shelter is refused" sh -c "! '$HQ' -c '$T/hq.conf' open NOPE 2>/dev/null"

# --- stale: the newest report is older than stale_after_s (12 h)
sqlite3 "$T/hq.db" "UPDATE shelters SET last_report = last_report - 50000 WHERE shelter_id = 'NEW001'"
check "no report for 13 h: stale" [ "$(row NEW001 status)" = stale ]
check "the age of its last report is shown" \
	python3 -c "import sys; sys.exit(not 50000 <= int(sys.argv[1]) < 50100)" "$(row NEW001 last_report_age_s)"

# --- the public feed
agent CC0000000518 report --total 250 --need water_drinking=100:critical >/dev/null
agent CC0000000518 run --until-acked --timeout 30 2>/dev/null
feed_has() { [ -s "$T/feed.json" ] && [ "$(json "$1" <"$T/feed.json")" = "$2" ]; }
eventually 15 "the feed file shows the new report (crowding moderate: 250/480)" \
	feed_has "[s['crowding'] for s in d['shelters'] if s['shelter_id']=='CC0000000518']" "['moderate']"
# sl-validate takes the schema's name from ".../<schema>/<valid|invalid>/"
mkdir -p "$T/check/feed/valid" && cp "$T/feed.json" "$T/check/feed/valid/"
check "the feed validates against schemas/feed.schema.json" \
	sh -c "'$ROOT/$BUILD/tests/sl-validate' '$ROOT/schemas' '$T/check/feed/valid/feed.json' | grep -q ' valid$'"
check "it carries the data credit" feed_has "d['credits'] == ['$CREDIT']" True
check "it names need categories, not quantities" \
	feed_has "[s['needs'] for s in d['shelters'] if s['shelter_id']=='CC0000000518']" "[['water']]"
check "it holds no headcount, group or note" \
	sh -c "! grep -Eq '\"(total|groups|note|elderly|phone)\"' '$T/feed.json'"
check "a listed shelter without people that nobody opened is not in it" \
	feed_has "sorted(s['shelter_id'] for s in d['shelters'])" "['CC0000000504', 'CC0000000518', 'NEW001']"
mosquitto_sub -p "$PORT" -t "shelterlink/v1/$MUNI/_hq/feed" -C 1 -W 5 >"$T/feed.topic" 2>/dev/null
check "the feed is retained on shelterlink/v1/$MUNI/_hq/feed" \
	[ "$(json "d['type']" <"$T/feed.topic")" = feed ]

# --- a flood from one shelter does not hold up another
flood=$(python3 -c 'import json; print(json.dumps(separators=(",", ":"), obj={"v":1,"type":"status","shelter_id":"FLOOD1","municipality":"172022","time":"2024-01-09T18:00:00+09:00","headcount":{"total":1},"seq":1}))')
for i in $(seq 60); do
	echo "${flood/\"seq\":1/\"seq\":$i}"
done | mosquitto_pub -p "$PORT" -q 1 -t "shelterlink/v1/$MUNI/FLOOD1/status" -l
agent NEW001 report --total 13 >/dev/null
check "another shelter's report still gets through at once" \
	agent NEW001 run --until-acked --timeout 15
flood_stored=$(sql "SELECT count(*) FROM messages WHERE shelter_id = 'FLOOD1'")
check "the flood was cut at its burst ($flood_stored of 60 stored, burst 10)" \
	python3 -c "import sys; sys.exit(not 10 <= int(sys.argv[1]) < 30)" "$flood_stored"
check "nothing of the flood went to dead letters (its agent would resend)" \
	[ "$(sql "SELECT count(*) FROM dead_letters WHERE shelter_id = 'FLOOD1'")" = 0 ]
check "its acknowledgement covers only what was stored" \
	[ "$(sql "SELECT acked_seq FROM shelters WHERE shelter_id = 'FLOOD1'")" -le "$flood_stored" ]
stop_hq
check "hq counts and reports what it rate-limited" \
	grep -Eq "rate_limited [1-9][0-9]*, " "$T/hq.log"

# --- two hq processes share the ingest (MQTT 5 shared subscription)
for n in 1 2; do
	sed -e "s|^database = .*|database = $T/shared.db|" -e '/^shelter_burst/d' \
		"$T/hq.conf" >"$T/hq$n.conf"
	printf 'mqtt_version = 5\nshared_group = ingest\nclient_id = sl-hq-test-%s\nshelter_burst = 100000\n' "$n" >>"$T/hq$n.conf"
done
check "shared_group passes -n with mqtt_version = 5" "$HQ" -c "$T/hq1.conf" -n
printf 'mqtt_version = 4\n' >>"$T/hq1.conf.v4"
cat "$T/hq1.conf" "$T/hq1.conf.v4" >"$T/hq-v4.conf"
check "shared_group with MQTT 3.1.1 is refused" \
	sh -c "! '$HQ' -c '$T/hq-v4.conf' -n 2>&1 | grep -q 'configuration OK'"
for n in 1 2; do
	"$HQ" -c "$T/hq$n.conf" run >>"$T/hq$n.log" 2>&1 &
	PIDS+=($!)
done
eventually 10 "both hq processes are connected" \
	sh -c "grep -q connected '$T/hq1.log' && grep -q connected '$T/hq2.log'"
sleep 0.5
for s in $(seq 10); do
	id=$(printf 'SHARE%02d' "$s")
	for i in $(seq 20); do
		echo "${flood/FLOOD1/$id}" | sed "s/\"seq\":1/\"seq\":$i/"
	done | mosquitto_pub -p "$PORT" -q 1 -t "shelterlink/v1/$MUNI/$id/status" -l
done
shared_sql() { sqlite3 -cmd '.timeout 5000' "$T/shared.db" "$1"; }
eventually 20 "all 200 messages are stored once between the two" \
	sh -c "[ \"\$(sqlite3 -cmd '.timeout 5000' '$T/shared.db' 'SELECT count(*) FROM messages')\" = 200 ]"
check "every shelter is acknowledged up to 20" \
	[ "$(shared_sql "SELECT count(*) FROM shelters WHERE acked_seq = 20")" = 10 ]
check "each hq has an inbox of its own, and its own position in it" \
	sh -c "[ -s '$T/shared.db.sl-hq-test-1.inbox' ] && [ -s '$T/shared.db.sl-hq-test-2.inbox' ] &&
		[ \"\$(sqlite3 '$T/shared.db' 'SELECT count(*) FROM ingest_cursor')\" = 2 ]"
stop_all
received() { grep -o 'received [0-9]*' "$1" | tail -1 | cut -d' ' -f2; }
check "each hq took a share ($(received "$T/hq1.log") + $(received "$T/hq2.log"))" \
	sh -c "[ '$(received "$T/hq1.log")' -gt 0 ] && [ '$(received "$T/hq2.log")' -gt 0 ]"
done_testing
