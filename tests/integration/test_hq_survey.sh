#!/bin/bash
# The り災証明 survey intake end to end on the synthetic fixtures of
# tests/data/survey (made-up buildings, people and imagery near Mashiki):
# buildings, applications and drone/xBD imagery imported all or nothing,
# matching (address forms, nearest, ambiguous for a person), duplicates,
# triage lanes with reasons, desk decisions by named people, and
# personal data kept out of lists, exports (unless asked for, by name,
# and logged) and the public feed.
. "$(dirname "$0")/lib.sh"

BROKER=tcp://127.0.0.1:1 # no broker needed: these commands only touch the database
write_hq_conf
D="$ROOT/tests/data/survey"
hqc() { "$HQ" -c "$T/hq.conf" "$@"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# refused TEXT TABLE ARGS...: exit 1 or 2, TEXT on stderr, TABLE unchanged
refused() {
	local text=$1 table=$2 before after
	shift 2
	before=$(sqlite3 "$T/hq.db" "SELECT count(*) FROM $table" 2>/dev/null)
	hqc "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	after=$(sqlite3 "$T/hq.db" "SELECT count(*) FROM $table")
	case $rc in 1 | 2) ;; *) return 1 ;; esac
	grep -qF -- "$text" "$T/err" && [ "$before" = "$after" ]
}
lanes() { sql "SELECT group_concat(application_id || ':' || coalesce(lane, '-') || ':' || state, ' ') FROM (SELECT * FROM applications ORDER BY application_id)"; }

check "buildings from GeoJSON footprints" \
	[ "$(hqc survey import-buildings "$D/buildings.geojson")" = "$D/buildings.geojson: 8 buildings (8 new, 0 updated)" ]
check "buildings from a CSV of points" \
	[ "$(hqc survey import-buildings "$D/buildings.csv")" = "$D/buildings.csv: 2 buildings (2 new, 0 updated)" ]
check "importing buildings again updates them" \
	[ "$(hqc survey import-buildings "$D/buildings.geojson")" = "$D/buildings.geojson: 8 buildings (0 new, 8 updated)" ]
check "a footprint's centroid, its WKT and the normalised address are stored" \
	sql_is "SELECT printf('%.6f %.6f', lat, lon) || ' ' || address_norm || ' ' || substr(footprint, 1, 16) FROM buildings WHERE building_id = 'B001'" \
	"32.787050 130.815050 益城町宮園1-2-3 MULTIPOLYGON ((("
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["features"][5]["properties"]["id"]="B001"; json.dump(d,open(sys.argv[2],"w"))' "$D/buildings.geojson" "$T/dup.geojson"
check "a repeated building id names both features and imports nothing" \
	refused "$T/dup.geojson#5: id 'B001' repeats the building of $T/dup.geojson#0" buildings survey import-buildings "$T/dup.geojson"
sed 's/"structure": "wooden"/"structure": "brick"/' "$D/buildings.geojson" >"$T/brick.geojson"
check "an unknown structure names the feature" \
	refused "$T/brick.geojson: feature 0: structure 'brick'" buildings survey import-buildings "$T/brick.geojson"
printf 'id,lat,lon\nP9,32.7,130.8\nP10,95,130.8\n' >"$T/bad.csv"
check "a latitude out of range names the line" \
	refused "$T/bad.csv:3: column 'lat': '95'" buildings survey import-buildings "$T/bad.csv"

check "a time without a UTC offset refuses the whole file" \
	refused "applications.csv:6: column 'applied_at': '2016-04-20 09:20' has no UTC offset" applications \
	survey import-applications "$D/applications.csv"
check "applications matched by id, address forms and nearest; ambiguous, unmatched and duplicates counted" \
	[ "$(hqc survey import-applications "$D/applications.csv" --utc-offset +09:00 --by 窓口)" = \
	  "$D/applications.csv: 9 applications (9 new, 0 already stored): matched by id 1, address 5, nearest 1; ambiguous 1, unmatched 1; duplicates 1" ]
check "how each application was matched" \
	sql_is "SELECT group_concat(application_id || ':' || matched_by || ':' || coalesce(building_id, '-') || ':' || coalesce(duplicate_of, '-'), ' ') FROM (SELECT * FROM applications ORDER BY application_id)" \
	"A001:address:B001:- A002:address:B002:- A003:address:B003:- A004:ambiguous:-:- A005:id:B006:- A006:nearest:B007:- A007:address:B001:A001 A008:address:B008:- A009:none:-:-"
check "the same file again stores nothing twice" \
	[ "$(hqc survey import-applications "$D/applications.csv" --utc-offset +09:00)" = \
	  "$D/applications.csv: 9 applications (0 new, 9 already stored): matched by id 0, address 0, nearest 0; ambiguous 0, unmatched 0; duplicates 0" ]
iconv -f UTF-8 -t CP932 "$D/applications.csv" | sed 's/$/\r/' >"$T/applications-sjis.csv"
check "the same file in Shift_JIS with CRLF reads the same" \
	[ "$(hqc survey import-applications "$T/applications-sjis.csv" --utc-offset +09:00)" = \
	  "$T/applications-sjis.csv: 9 applications (0 new, 9 already stored): matched by id 0, address 0, nearest 0; ambiguous 0, unmatched 0; duplicates 0" ]
check "the ambiguous application's candidates are listed for a person" \
	[ "$(hqc survey candidates --format json | json "[(r['application_id'], r['building_id'], r['why']) for r in d]")" = \
	  "[('A004', 'B004', 'same address'), ('A004', 'B005', 'same address')]" ]

check "drone GeoJSON matched by containment; the far point left unmatched" \
	[ "$(hqc survey import-drone "$D/drone.geojson")" = \
	  "$D/drone.geojson: source 'drone.geojson': 5 features (0 replaced), 4 matched to buildings, 1 unmatched (hq survey unmatched)" ]
check "xBD labels matched; confidence 1 for labels without one" \
	[ "$(hqc survey import-drone "$D/xbd.json")" = \
	  "$D/xbd.json: source 'xbd.json': 3 features (0 replaced), 2 matched to buildings, 1 unmatched (hq survey unmatched)" ]
snapshot() { sql "SELECT group_concat(source || feature_id || coalesce(building_id, '-') || damage || confidence || geometry, '|') FROM (SELECT * FROM drone_features ORDER BY 1)"; }
before=$(snapshot)
hqc survey import-drone "$D/drone.geojson" >/dev/null
hqc survey import-drone "$D/xbd.json" >/dev/null
check "importing the same sources again changes nothing" [ "$(snapshot)" = "$before" ]
check "features without a building are listed" \
	[ "$(hqc survey unmatched --format json | json "[(r['source'], r['feature_id']) for r in d]")" = "[('drone.geojson', 'D5'), ('xbd.json', 'x-3')]" ]
sed 's/"minor-damage"/"scratched"/' "$D/drone.geojson" >"$T/class.geojson"
check "an unknown damage class names the feature and imports nothing" \
	refused "$T/class.geojson: feature 1: damage class 'scratched'" drone_features survey import-drone "$T/class.geojson" --source other
sed "s/POLYGON ((130.81592 /POLYGON ((130.81593 /" "$D/xbd.json" >"$T/open.json"
check "an unclosed WKT ring names the xBD feature" \
	refused "$T/open.json: feature 0: WKT: ring ending at character" drone_features survey import-drone "$T/open.json" --source other

check "triage puts each application in a lane" \
	[ "$(hqc survey triage --by 受付係)" = "triaged 7: photo 2, self 1, field 3, interior 1; held 2 (ambiguous or duplicate)" ]
check "the lanes and states (golden)" \
	[ "$(lanes)" = "A001:photo:triaged A002:self:triaged A003:field:ready A004:-:received A005:interior:ready A006:field:ready A007:-:received A008:photo:triaged A009:field:ready" ]
check "each decision keeps its reason" \
	sql_is "SELECT lane_reason FROM applications WHERE application_id = 'A001'" \
	"imagery shows B001 destroyed, confidence 0.95 >= 0.80 (drone.geojson/D1): 全壊 from photos at a desk"
check "a low-confidence 全壊 goes to the field, saying so" \
	sql_is "SELECT lane_reason FROM applications WHERE application_id = 'A003'" "imagery shows B003 destroyed, but confidence 0.60 < 0.80"
check "a person settles the ambiguous one" \
	[ "$(hqc survey match A004 B005 --by '窓口 佐々木')" = "A004: building B005, decided by 窓口 佐々木" ]
hqc survey triage >/dev/null
check "and triage takes it up" \
	sql_is "SELECT lane || ' ' || lane_reason FROM applications WHERE application_id = 'A004'" "field no imagery of B005"

check "nothing is approved without a name" \
	refused "who decides? (--by NAME)" survey_audit survey approve A001
check "a named person approves the photo judgment: 全壊" \
	[ "$(hqc survey approve A001 A008 --by '税務課 中村')" = "$(printf 'A001: approved by 税務課 中村\nA008: approved by 税務課 中村')" ]
check "approval records grade, who and state" \
	sql_is "SELECT group_concat(state || ':' || grade || ':' || approved_by, ' ') FROM applications WHERE application_id IN ('A001','A008')" \
	"validated:zenkai:税務課 中村 validated:zenkai:税務課 中村"
check "a field-lane application cannot be approved at the desk" \
	refused "is not waiting for a desk decision" applications survey approve A003 --by 中村
check "a desk can send a self-assessment to the field, with a reason" \
	[ "$(hqc survey reject A002 --by 中村 --reason '写真では判定できない')" = "A002: sent to a field survey by 中村" ]
check "the audit log holds every decision" \
	[ "$(hqc survey audit --application A002 --format json | json "[r['action'] for r in d]")" = "['receive', 'triage', 'reject']" ]

check "the counter takes an application and matches it" \
	[ "$(hqc survey apply --applicant '木村 七郎' --address '上益城郡益城町宮園１丁目３番１号' --consent-self --contact 096-000-0099 --by 窓口)" = "C000001: matched by address" ]
check "the same person again is a duplicate" \
	[ "$(hqc survey apply --applicant '木村七郎' --address '上益城郡益城町宮園1-3-1')" = "C000002: matched by address; a duplicate of an earlier application" ]

check "triage --again decides the new and keeps the rest, a person's decision included" \
	[ "$(hqc survey triage --again)" = "triaged 1: photo 0, self 0, field 1, interior 0; held 2 (ambiguous or duplicate); unchanged 5" ]
check "lists carry no personal data" \
	sh -c "! '$HQ' -c '$T/hq.conf' survey applications --format csv | grep -qE '山田|096-000|宮園'"
check "a personal export needs a name" \
	refused "say who takes it (--by NAME)" survey_audit survey applications --personal
check "a personal export by name shows the applicants" \
	sh -c "'$HQ' -c '$T/hq.conf' survey applications --personal --by '総務課 林' --format csv | grep -q '山田 太郎'"
check "and is logged" \
	sql_is "SELECT who || ' ' || action FROM survey_audit WHERE action = 'export-personal'" "総務課 林 export-personal"
check "filters by state and lane" \
	[ "$(hqc survey applications --state validated --format json | json "[r['application_id'] for r in d]")" = "['A001', 'A008']" ]
check "a bad state is refused" refused "--state is one of" survey_audit survey applications --state 'r*'
check "the public feed carries no applicant's data" \
	sh -c "! '$HQ' -c '$T/hq.conf' feed | grep -qE '山田|木村|096-000|宮園'"
check "--who is taken for --by (the field commands and the rest of hq say --who)" \
	sh -c "'$HQ' -c '$T/hq.conf' survey triage --again --who 佐藤 >/dev/null"
check "... and, like --by, it needs a value" \
	sh -c "! '$HQ' -c '$T/hq.conf' survey triage --who 2>'$T/err' && grep -q \"incomplete option '--who'\" '$T/err'"
done_testing
