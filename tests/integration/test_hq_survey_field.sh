#!/bin/bash
# hq survey, field half (issue 6): 60 synthetic applications near Mashiki
# through intake and triage into the field queue, then a day's plan for
# three teams (priority, capacity, locks, two planners at once, sheets without personal data
# unless asked and audited), release, recording by grade and by element
# damage, four-eyes validation, invalidation back into the queue,
# certificates issued by several processes at once (numbers unique and
# gap-free), the printable certificate, delivery, an appeal that comes
# back through the queue and supersedes its certificate, and stats.
. "$(dirname "$0")/lib.sh"

BROKER=tcp://127.0.0.1:1 # the survey commands never connect
write_hq_conf
hq() { "$HQ" -c "$T/hq.conf" survey "$@"; }
pids=()

# 60 wooden houses on a 6 x 10 grid about 100 m apart, one non-wooden;
# every fifth applicant lives in a shelter; A001 applied first.
{
	echo "id,address,lat,lon,structure,floors"
	for i in $(seq 1 60); do
		r=$(((i - 1) / 10)) c=$(((i - 1) % 10))
		s=木造
		[ "$i" = 60 ] && s=非木造
		printf 'B%03d,上益城郡益城町宮園%d-%d,%s,%s,%s,1\n' "$i" "$r" "$c" \
			"$(echo "32.7800 + $r * 0.0009" | bc -l)" \
			"$(echo "130.8100 + $c * 0.0011" | bc -l)" "$s"
	done
} >"$T/buildings.csv"
{
	echo "受付番号,氏名,住所,連絡先,建物ID,緯度,経度,申請日時,自己判定同意,二次調査,避難所"
	for i in $(seq 1 60); do
		shelter=""
		[ $((i % 5)) = 0 ] && shelter=1
		printf 'A%03d,試験 申請者%d,上益城郡益城町宮園%d,096-000-%04d,B%03d,,,2016-04-20T%02d:%02d:00+09:00,,,%s\n' \
			"$i" "$i" "$i" "$i" "$i" $((9 + i / 60)) $((i % 60)) "$shelter"
	done
} >"$T/applications.csv"

hq import-buildings "$T/buildings.csv" >"$T/intake.log" 2>&1
hq import-applications "$T/applications.csv" --by clerk >>"$T/intake.log" 2>&1
hq triage --by clerk >>"$T/intake.log" 2>&1
check "60 applications wait in the field queue" \
	sql_is "SELECT count(*) FROM applications WHERE state = 'ready' AND lane = 'field'" 60

# two planners at once on a copy of this queue: each application is
# locked once, and between them they take all 60
sqlite3 "$T/hq.db" ".backup '$T/race.db'"
sed "s|^database = .*|database = $T/race.db|" "$T/hq.conf" >"$T/race.conf"
for d in 2016-04-25 2016-04-26; do
	"$HQ" -c "$T/race.conf" survey plan --date $d --teams 2 --who 班長 \
		>/dev/null 2>>"$T/race.log" &
	pids+=($!)
done
wait "${pids[@]}"
check "two concurrent planners: 60 tasks, 60 distinct applications, all locked" \
	test "$(sqlite3 "$T/race.db" "SELECT count(*) || ' ' || count(DISTINCT application_id) || ' ' || (SELECT count(*) FROM applications WHERE state = 'locked') FROM survey_tasks")" = "60 60 60"

# ---- planning
check "plan refused without a named person" \
	bash -c "! '$HQ' -c '$T/hq.conf' survey plan --date 2016-04-25 --teams 3 2>'$T/err.log'"
check "... saying who must answer for it" grep -q -- "--who NAME is required" "$T/err.log"
check "... and nothing locked" sql_is "SELECT count(*) FROM survey_tasks" 0
check "plan --date 2016-04-25 --teams 3 --start 32.782,130.812" \
	hq plan --date 2016-04-25 --teams 3 --start 32.782,130.812 --out "$T/sheets" \
	--who 班長 >"$T/plan.out" 2>"$T/plan.log"
check "45 applications locked (3 teams x 15)" \
	sql_is "SELECT count(*) FROM applications WHERE state = 'locked'" 45
check "each team has exactly 15 stops, numbered 1..15" \
	sql_is "SELECT group_concat(n || ':' || lo || '-' || hi, ' ') FROM (SELECT team, count(*) n, min(stop) lo, max(stop) hi FROM survey_tasks GROUP BY team ORDER BY team)" \
	"15:1-15 15:1-15 15:1-15"
check "every applicant in a shelter is planned" \
	sql_is "SELECT count(*) FROM applications WHERE in_shelter = 1 AND state <> 'locked'" 0
check "then the oldest: the 15 left are the newest applications" \
	sql_is "SELECT group_concat(application_id, ' ') FROM applications WHERE state = 'ready'" \
	"$(for i in $(seq 42 59); do [ $((i % 5)) = 0 ] || printf 'A%03d ' "$i"; done | sed 's/ $//')"
check "the plan is audited by name" \
	sql_is "SELECT who FROM survey_audit WHERE action = 'plan'" 班長
check "route no longer than nearest neighbour, bound below it" \
	sql_is "SELECT sum(length_km <= nn_length_km + 1e-9 AND bound_km <= length_km + 1e-9) FROM survey_teams" 3
check "CSV, GeoJSON and HTML per team (9 files)" \
	test "$(ls "$T/sheets" | grep -c 'survey-2016-04-25-team00[123]\.\(csv\|geojson\|html\)$')" = 9
check "the CSV lists 15 stops in order, UTF-8 with a BOM" \
	python3 -c "
import csv,sys
f=open('$T/sheets/survey-2016-04-25-team001.csv',encoding='utf-8')
t=f.read(); assert t.startswith('\ufeff'), 'BOM'
rows=list(csv.reader(t[1:].splitlines()))
assert len(rows)==16, len(rows)
assert [r[1] for r in rows[1:]]==[str(i) for i in range(1,16)]"
check "the GeoJSON has 15 placed features" \
	python3 -c "
import json
d=json.load(open('$T/sheets/survey-2016-04-25-team002.geojson'))
assert d['type']=='FeatureCollection' and len(d['features'])==15
assert all(f['geometry']['type']=='Point' for f in d['features'])"
check "sheets carry no applicant names or contacts by default" \
	bash -c "! grep -l -e '申請者' -e '096-000' '$T/sheets'/*"
check "sheets --personal needs a named person" \
	bash -c "! '$HQ' -c '$T/hq.conf' survey sheets --date 2016-04-25 --out '$T/p' --personal 2>/dev/null"
check "sheets --personal --who: names and contacts, audited" \
	bash -c "'$HQ' -c '$T/hq.conf' survey sheets --date 2016-04-25 --out '$T/p' --personal --who 班長 &&
		grep -q '試験 申請者' '$T/p/survey-2016-04-25-team001.html' &&
		grep -q '096-000' '$T/p/survey-2016-04-25-team001.csv'"
check "... and the export is in the audit log" \
	sql_is "SELECT count(*) FROM survey_audit WHERE action = 'export-personal' AND who = '班長'" 1

# ---- release
TASK=$(sql "SELECT task_id FROM survey_tasks WHERE application_id = 'A005'")
check "release a locked task" hq release "$TASK" --who 班長
check "... the application is back in the queue" \
	sql_is "SELECT a.state || ' ' || t.state FROM applications a JOIN survey_tasks t USING (application_id) WHERE task_id = $TASK" "ready released"
check "releasing it twice is refused" bash -c "! '$HQ' -c '$T/hq.conf' survey release $TASK --who 班長 2>/dev/null"

# ---- recording and validation
check "record refused without --who" \
	bash -c "! '$HQ' -c '$T/hq.conf' survey record A010 --grade hankai 2>/dev/null"
check "record by elements: roof 100, walls 40, foundation 0" \
	bash -c "'$HQ' -c '$T/hq.conf' survey record A010 --roof 100 --walls 40 --foundation 0 --who 調査員A >'$T/rec.out'"
check "... is 45 %: 大規模半壊" grep -q "loss 45.000 % -> 大規模半壊 (daikibo_hankai)" "$T/rec.out"
check "... stored with its elements" \
	sql_is "SELECT grade || ' ' || loss_milli || ' ' || roof_tenths || ' ' || walls_tenths || ' ' || foundation_tenths FROM survey_results WHERE application_id = 'A010'" \
	"daikibo_hankai 45000 1000 400 0"
check "a result is recorded only for a locked survey" \
	bash -c "! '$HQ' -c '$T/hq.conf' survey record A005 --grade zenkai --who 調査員A 2>/dev/null"
check "non-wooden: elements refused" \
	bash -c "'$HQ' -c '$T/hq.conf' survey record A060 --roof 1 --walls 1 --foundation 1 --who 調査員A 2>&1 | grep -q non-wooden"
check "the recorder does not validate their own result" \
	bash -c "! '$HQ' -c '$T/hq.conf' survey validate A010 --who 調査員A 2>/dev/null"
check "another person validates it" hq validate A010 --who 班長
check "... the application carries the grade and the approver" \
	sql_is "SELECT state || ' ' || grade || ' ' || approved_by FROM applications WHERE application_id = 'A010'" \
	"validated daikibo_hankai 班長"
check "an invalid result needs a reason" \
	bash -c "'$HQ' -c '$T/hq.conf' survey record A015 --grade zenkai --who 調査員A && ! '$HQ' -c '$T/hq.conf' survey validate A015 --invalid --who 班長 2>/dev/null"
check "invalidated: back in the field queue" \
	bash -c "'$HQ' -c '$T/hq.conf' survey validate A015 --invalid --reason '傾斜を再確認' --who 班長 >/dev/null"
check "... application invalidated, task invalidated" \
	sql_is "SELECT a.state || ' ' || t.state FROM applications a JOIN survey_tasks t USING (application_id) WHERE application_id = 'A015'" \
	"invalidated invalidated"

# 30 more results (grades round the classes), validated by 班長
LOCKED=$(sql "SELECT application_id FROM applications WHERE state = 'locked' AND application_id <> 'A060' ORDER BY application_id LIMIT 30")
grades=(zenkai daikibo_hankai chukibo_hankai hankai jun_hankai ichibu_sonkai)
k=0
for a in $LOCKED; do
	hq record "$a" --grade "${grades[$((k % 6))]}" --who 調査員B >/dev/null || echo "record $a failed" >>"$T/bulk.log"
	hq validate "$a" --who 班長 >/dev/null || echo "validate $a failed" >>"$T/bulk.log"
	k=$((k + 1))
done
check "30 more recorded and validated without an error" test ! -e "$T/bulk.log"
check "30 more validated" \
	sql_is "SELECT count(*) FROM applications WHERE state = 'validated'" 31

# ---- issuing, several processes at once
check "issue refused without --who" bash -c "! '$HQ' -c '$T/hq.conf' survey issue 2>/dev/null"
check "an application named twice refuses the batch" \
	bash -c "! '$HQ' -c '$T/hq.conf' survey issue A010 A010 --who 窓口0 2>/dev/null"
VALID=($(sql "SELECT application_id FROM applications WHERE state = 'validated' ORDER BY application_id"))
pids=()
for p in 0 1 2 3 4 5; do
	(
		for j in 0 1 2 3 4; do
			hq issue "${VALID[$((p * 5 + j))]}" --who "窓口$p" >/dev/null 2>>"$T/issue-$p.log" ||
				echo "issue failed" >>"$T/issue-$p.log"
		done
	) &
	pids+=($!)
done
wait "${pids[@]}"
check "six concurrent issuers: no failures" bash -c "! cat '$T'/issue-*.log | grep -q -e failed -e locked -e busy"
check "30 certificates numbered 1..30, unique, no gaps" \
	sql_is "SELECT count(*) || ' ' || count(DISTINCT number) || ' ' || min(number) || ' ' || max(number) FROM certificates WHERE municipality = '$MUNI'" \
	"30 30 1 30"
check "each application one certificate" \
	sql_is "SELECT count(DISTINCT application_id) FROM certificates" 30
# the last one and 3 re-validated invalid ones race through --limit
hq record A015 --grade hankai --who 調査員B >/dev/null 2>&1 # not locked: refused
pids=()
for p in 0 1 2; do
	hq issue --limit 1 --who "窓口$p" >/dev/null 2>>"$T/limit.log" &
	pids+=($!)
done
wait "${pids[@]}"
check "issue --limit from three processes: the one left, number 31" \
	sql_is "SELECT count(*) || ' ' || max(number) FROM certificates" "31 31"
check "issued applications and audit rows match" \
	sql_is "SELECT (SELECT count(*) FROM applications WHERE state = 'issued') || ' ' || (SELECT count(*) FROM survey_audit WHERE action = 'issue')" "31 31"
check "certificates are never deleted" \
	bash -c "! sqlite3 '$T/hq.db' 'DELETE FROM certificates WHERE number = 1' 2>/dev/null"
check "... nor renumbered" \
	bash -c "! sqlite3 '$T/hq.db' 'UPDATE certificates SET number = 99 WHERE number = 1' 2>/dev/null"

# ---- the certificate, delivery
N10=$(sql "SELECT number FROM certificates WHERE application_id = 'A010'")
check "certificate HTML" hq certificate "$N10" --html "$T/cert.html" --who 窓口0
check "... with number, applicant, grade and loss ratio" \
	bash -c "grep -q '第$N10号' '$T/cert.html' && grep -q '試験 申請者10' '$T/cert.html' && grep -q '大規模半壊' '$T/cert.html' && grep -q '45.000 %' '$T/cert.html'"
check "... printing it is audited" \
	sql_is "SELECT count(*) FROM survey_audit WHERE action = 'print-certificate' AND application_id = 'A010'" 1
check "delivered by mail" hq delivered "$N10" --how mail --who 窓口0
check "... recorded" sql_is "SELECT delivery || ' ' || delivered_by FROM certificates WHERE number = $N10" "mail 窓口0"
check "delivering twice is refused" bash -c "! '$HQ' -c '$T/hq.conf' survey delivered $N10 --who 窓口0 2>/dev/null"

# ---- an appeal comes back through the queue
check "appeal A010" hq appeal A010 --reason "内部の損傷が大きい" --who 窓口0
check "... appealed, lane interior, grade cleared" \
	sql_is "SELECT state || ' ' || lane || ' ' || coalesce(grade, '-') FROM applications WHERE application_id = 'A010'" "appealed interior -"
check "the next day's plan takes it" \
	bash -c "'$HQ' -c '$T/hq.conf' survey plan --date 2016-04-26 --teams 1 --capacity 20 --who 班長 >/dev/null 2>&1"
check "... locked again" sql_is "SELECT state FROM applications WHERE application_id = 'A010'" locked
check "the interior survey recorded, validated, issued" bash -c "
	'$HQ' -c '$T/hq.conf' survey record A010 --roof 100 --walls 60 --foundation 50 --who 調査員C &&
	'$HQ' -c '$T/hq.conf' survey validate A010 --who 班長 &&
	'$HQ' -c '$T/hq.conf' survey issue A010 --who 窓口1" >/dev/null 2>&1
check "re-issued as number 32, superseding the first" \
	sql_is "SELECT max(number) || ' ' || (SELECT superseded_by FROM certificates WHERE number = $N10) FROM certificates" "32 32"
check "... at the new grade (15 + 45 + 5 = 65 %: 全壊)" \
	sql_is "SELECT grade FROM certificates WHERE number = 32" zenkai

check "an empty field queue is not planned" \
	bash -c "'$HQ' -c '$T/hq.conf' survey plan --date 2016-04-27 --teams 2 --who 班長 2>&1 | grep -q 'nothing planned'"
check "... and makes no teams" sql_is "SELECT count(*) FROM survey_teams WHERE plan_date = '2016-04-27'" 0

# ---- stats
check "stats as JSON" bash -c "'$HQ' -c '$T/hq.conf' survey stats --format json >'$T/stats.json'"
check "... backlog, issued per day, median and forecast" \
	python3 -c "
import json
s=json.load(open('$T/stats.json'))
lanes={r['lane']:r for r in s['backlog']}
f=lanes['field']
assert f['issued']==30 and f['open']==29, f   # A010 moved to interior
assert f['locked']==29 and f['ready']==0, f  # the second plan took the rest
assert lanes['interior']['issued']==1
assert sum(d['issued'] for d in s['issued_per_day'])==32
m=s['summary']
assert m['certificates']==32
assert m['team_capacity_per_day']==20 and m['plan_date']=='2016-04-26'
assert m['forecast_days']==(m['field_backlog']+19)//20, m
assert m['median_days_to_issue'] > 0"
check "stats as a table" bash -c "'$HQ' -c '$T/hq.conf' survey stats | grep -q 'FORECAST_DAYS'"
check "the field half writes nothing personal to the audit details" \
	bash -c "! sqlite3 '$T/hq.db' \"SELECT detail FROM survey_audit WHERE action IN ('plan','record','validate','issue')\" | grep -q -e 申請者 -e 096-000"

done_testing
