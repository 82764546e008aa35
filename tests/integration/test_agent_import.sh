#!/bin/bash
# `shelter-agent import FILE.csv`: reports typed from paper forms later.
# UTF-8, UTF-8 with BOM and CRLF, and Shift_JIS files are stored with the
# right count; a file with a bad row is refused whole, naming file:line,
# column and rule, and leaves the outbox as it was; the imported reports
# then reach a real HQ through a real mosquitto.
. "$(dirname "$0")/lib.sh"

start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
ID=CC0000000518
write_agent_conf $ID "山王小学校"

# "DEPTH NEXT_SEQ" of the agent's outbox
outbox_state() {
	agent $ID status --format json |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["outbox"], d["next_seq"])'
}
payload() { sqlite3 "$T/agent-$ID.db" "SELECT payload FROM outbox WHERE seq = $1"; }
# refused ID FILE TEXT: import exits 1 (not valgrind's 99), prints nothing
# on stdout, and its stderr holds TEXT and no valgrind report.
refused() {
	"$AGENT" -c "$T/agent-$1.conf" import "$2" >"$T/out" 2>"$T/err"
	[ $? = 1 ] && [ ! -s "$T/out" ] && grep -qF -- "$3" "$T/err" &&
		! grep -qE '^==[0-9]+==' "$T/err"
}

# --- UTF-8, English header
cat >"$T/good.csv" <<'CSV'
time,total,infants,elderly,needs,power,water,note
2024-01-09T18:00:00+09:00,180,4,60,water_drinking=200:critical;blanket=50,yes,no,"断水中, ""至急"""
2024-01-10 06:00,175,4,58,,yes,no,
CSV
check "a UTF-8 file is stored: 2 reports, seq 1..2" \
	[ "$(agent $ID import "$T/good.csv")" = "imported 2 reports, seq 1..2" ]
check "quoted commas and doubled quotes survive" \
	sh -c "echo '$(payload 1)' | grep -q '\"note\":\"断水中, \\\\\"至急\\\\\"\"'"
check "a local time means Japan time" \
	sh -c "echo '$(payload 2)' | grep -q '\"time\":\"2024-01-10T06:00:00+09:00\"'"

# --- UTF-8 with BOM and CRLF, Japanese header (as Excel's "CSV UTF-8")
printf '\xEF\xBB\xBF日時,避難者数,高齢者,備考\r\n2024/1/11 18:00,170,55,BOM付き\r\n2024/1/12 18:00,１６５,50,\r\n2024/1/13 18:00,160,50,\r\n' \
	>"$T/bom.csv"
check "a UTF-8 file with BOM and CRLF is stored: 3 reports, seq 3..5" \
	[ "$(agent $ID import "$T/bom.csv")" = "imported 3 reports, seq 3..5" ]
check "full-width digits are read as digits" \
	sh -c "echo '$(payload 4)' | grep -q '\"total\":165'"

# --- Shift_JIS (as Excel's plain "CSV" on Japanese Windows)
printf '日時,人数,必要物資,備考\n2024-01-14 18:00,150,meal_ready=300:high,シフトJISの備考\n' |
	iconv -f UTF-8 -t CP932 >"$T/sjis.csv"
check "the Shift_JIS file really is not UTF-8" sh -c "! iconv -f UTF-8 -t UTF-8 '$T/sjis.csv' >/dev/null 2>&1"
check "a Shift_JIS file is stored: 1 report, seq 6..6" \
	[ "$(agent $ID import "$T/sjis.csv")" = "imported 1 reports, seq 6..6" ]
check "its text arrives as UTF-8" \
	sh -c "echo '$(payload 6)' | grep -q 'シフトJISの備考'"

# --- a bad 3rd data row: nothing of the file is stored
before=$(outbox_state)
cat >"$T/bad.csv" <<'CSV'
日時,人数,乳幼児
2024-01-15 18:00,140,2
2024-01-16 18:00,130,2
2024-01-17 18:00,120,121
2024-01-18 18:00,110,2
CSV
check "a file whose 3rd data row is bad is refused, naming file:line, column and rule" \
	refused $ID "$T/bad.csv" \
	"bad.csv:4: column '乳幼児' (infants): inconsistent: /headcount/infants: 121 is more than the total 120"
check "the outbox is unchanged: same depth and next seq" [ "$(outbox_state)" = "$before" ]

# --- malformed CSV and undecodable bytes name file:line too
printf 'time,total,note\n2024-01-15 18:00,10,fine\n2024-01-15 19:00,10,bad"quote\n' >"$T/quote.csv"
check "a stray quote is refused with file:line and column" \
	refused $ID "$T/quote.csv" "quote.csv:3: column 'note': '\"' inside a field"
printf 'time,total\n2024-01-15 18:00,1\x80\n' >"$T/enc.csv"
check "bytes neither UTF-8 nor Shift_JIS are refused with file:line and offset" \
	refused $ID "$T/enc.csv" "enc.csv:2: neither UTF-8 (byte 0x80 at offset 29)"
printf 'time,total,colour\n2024-01-15 18:00,10,red\n' >"$T/col.csv"
check "an unknown column is named" \
	refused $ID "$T/col.csv" "col.csv:1: unknown column 'colour'"
check "a missing file is named" \
	refused $ID "$T/nonexistent.csv" "nonexistent.csv: No such file or directory"
check "import without a file is a usage error" \
	sh -c "'$AGENT' -c '$T/agent-$ID.conf' import 2>/dev/null; [ \$? = 2 ]"
check "the refusals left the outbox unchanged" [ "$(outbox_state)" = "$before" ]

# --- the shipped template and example stay importable
write_agent_conf CC0000000504 "御祓地区コミュニティセンター"
check "the filled example in data/templates imports: 3 reports" \
	[ "$(agent CC0000000504 import "$ROOT/data/templates/report-example.csv")" = "imported 3 reports, seq 1..3" ]
check "the empty template is refused as having no reports" \
	refused CC0000000504 "$ROOT/data/templates/report-template.csv" \
	"report-template.csv: no reports: only a header row"

# --- a row typed from paper does not take the agent's position
POS=CC0000000505
write_agent_conf $POS "位置設定のある避難所"
printf 'gpsd = none\nlatitude = 37.0430\nlongitude = 136.9670\n' >>"$T/agent-$POS.conf"
printf 'time,total\n2024-01-09 18:00,12\n' >"$T/pos.csv"
check "a file imports on an agent with a configured position" \
	[ "$(agent $POS import "$T/pos.csv")" = "imported 1 reports, seq 1..1" ]
check "the imported report carries no position" \
	sh -c "! sqlite3 '$T/agent-$POS.db' 'SELECT payload FROM outbox WHERE seq = 1' | grep -q position"
# stored_report ID ARGS...: records a report and prints its stored payload
stored_report() {
	local id=$1 seq; shift
	seq=$(agent $id report "$@") || return 1
	sqlite3 "$T/agent-$id.db" "SELECT payload FROM outbox WHERE seq = $seq"
}
check "report takes the configured position" \
	grep -q '"lat":37.043' <<<"$(stored_report $POS --total 12)"
check "report --no-position leaves it out" \
	sh -c "! grep -q position" <<<"$(stored_report $POS --total 12 --no-position)"

# --- the imported reports reach HQ
start_hq
check "run --until-acked delivers the imported reports" \
	agent $ID run --until-acked --timeout 30
check "HQ holds seqs 1..6 exactly once" \
	[ "$(sql "SELECT count(*)||':'||min(seq)||':'||max(seq) FROM messages WHERE shelter_id = '$ID'")" = "6:1:6" ]
check "HQ keeps the typed times" \
	[ "$(sql "SELECT time FROM messages WHERE shelter_id = '$ID' AND seq = 3")" = "2024-01-11T18:00:00+09:00" ]
check "HQ stored the needs of the first row" \
	[ "$(sql "SELECT group_concat(item||'='||qty||':'||urgency, ' ') FROM needs WHERE shelter_id = '$ID' AND seq = 1")" = "water_drinking=200:critical blanket=50:normal" ]
check "HQ's latest headcount is the last row's" [ "$(shelter_field $ID total)" = 150 ]
check "agent outbox is empty" [ "$(outbox_state)" = "0 7" ]

done_testing
