#!/bin/bash
# `hq import-shelters`: the real Nanao designated-shelter list imports with
# every shelter placed and listed with its position (table, JSON,
# GeoJSON); re-importing updates without duplicating; a Shift_JIS + CRLF
# copy gives the same registry; a synthetic GSI-layout file imports too; a
# bad row refuses the whole file, naming file:line:column and the rule,
# and --skip-bad imports the rest and lists what it skipped.
#
# data/nanao-2024/reference_data.csv: 「令和6年能登半島地震 石川県七尾市避難所
# 開設情報GISデータ」 (raokiey), from 「指定緊急避難所一覧」(石川県) and
# 「10_指定緊急避難所施設一覧」(七尾市), CC BY 4.0 (data/nanao-2024/SOURCE.md).
. "$(dirname "$0")/lib.sh"

BROKER=tcp://127.0.0.1:1 # no broker needed: the command only touches the database
write_hq_conf
hqc() { "$HQ" -c "$T/hq.conf" "$@"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
REF=$ROOT/data/nanao-2024/reference_data.csv
GSI=$ROOT/tests/data/gsi-shelters-synthetic.csv
# the registry as text, without where and when it was imported
registry() {
	sql "SELECT shelter_id, municipality, name, kana, name_en, district,
	  address, lat, lon, elevation_m, phone, capacity_indoor, capacity_outdoor,
	  capacity_text, hazards, target_area, layout, source_line
	  FROM registry ORDER BY shelter_id"
}
# the data rows of a CSV file and their ids, read by Python's csv module
python3 - "$REF" >"$T/ref-ids" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
for r in rows[1:]:
    print(r[0])
PY
ROWS=$(wc -l <"$T/ref-ids")

check "the reference list has 112 data rows" [ "$ROWS" = 112 ]
hqc import-shelters "$REF" >"$T/out" 2>"$T/err"
check "import-shelters exits 0" [ $? = 0 ]
check "it reports every row new" \
	grep -qx "imported $ROWS (new $ROWS, updated 0), skipped 0" "$T/out"
check "it names the layout" grep -q "opendata layout, $ROWS rows" "$T/out"
check "the registry holds every row of the file" sql_is "SELECT count(*) FROM registry" "$ROWS"
check "every id of the file is in the registry" \
	[ "$(sort "$T/ref-ids")" = "$(sql 'SELECT shelter_id FROM registry ORDER BY 1')" ]
check "every shelter is placed (lat and lon)" \
	sql_is "SELECT count(*) FROM registry WHERE lat IS NOT NULL AND lon IS NOT NULL" "$ROWS"
check "CC0000000506's capacity is parsed from 屋内2,736人屋外11,700人（面積の1/2）" \
	sql_is "SELECT capacity_indoor || '/' || capacity_outdoor || ' ' || district
	  FROM registry WHERE shelter_id = 'CC0000000506'" "2736/11700 御祓"
check "a row without a municipality code takes HQ's" \
	sql_is "SELECT municipality FROM registry WHERE shelter_id = 'NEW003'" 172022

hqc shelters --format json >"$T/shelters.json"
check "hq shelters lists every shelter with its position from the registry" \
	[ "$(json "sum(1 for r in d if r['registered'] and r['lat'] is not None and r['lon'] is not None and r['position_source'] == 'registry')" <"$T/shelters.json")" = "$ROWS" ]
check "hq shelters --format geojson: a Point [lon, lat] for each" \
	[ "$(hqc shelters --format geojson | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = {r["shelter_id"]: r for r in json.load(open(sys.argv[1]))}
ok = [f for f in d["features"] if f["geometry"] and f["geometry"]["type"] == "Point"
      and f["geometry"]["coordinates"] == [rows[f["properties"]["shelter_id"]]["lon"],
                                           rows[f["properties"]["shelter_id"]]["lat"]]]
print(len(d["features"]), len(ok))' "$T/shelters.json")" = "$ROWS $ROWS" ]
check "the table lists them all" \
	sh -c "'$HQ' -c '$T/hq.conf' shelters | tail -1 | grep -q '^$ROWS shelters'"

registry >"$T/first"
check "re-importing updates every row and duplicates none" \
	sh -c "'$HQ' -c '$T/hq.conf' import-shelters '$REF' | grep -qx 'imported $ROWS (new 0, updated $ROWS), skipped 0'"
check "... the registry is the same" [ "$(registry)" = "$(cat "$T/first")" ]

# --- encodings: Shift_JIS (CP932) with CRLF
iconv -f UTF-8 -t CP932 "$REF" | sed 's/$/\r/' >"$T/ref-sjis.csv"
check "the CP932 copy is not UTF-8" sh -c "! iconv -f UTF-8 -t UTF-8 '$T/ref-sjis.csv' >/dev/null 2>&1"
sql "DELETE FROM registry"
check "a Shift_JIS + CRLF copy imports" \
	sh -c "'$HQ' -c '$T/hq.conf' import-shelters '$T/ref-sjis.csv' | grep -qx 'imported $ROWS (new $ROWS, updated 0), skipped 0'"
check "... into the same registry" [ "$(registry)" = "$(cat "$T/first")" ]

# --- a bad row: nothing written; --skip-bad: the rest
python3 - "$REF" "$T/bad.csv" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
# line 10: latitude 37.xxx becomes 370.xxx (a typo)
cells = lines[9].split(",")
assert cells[12].startswith("37.")
cells[12] = "370" + cells[12][2:]
lines[9] = ",".join(cells)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
PY
sql "DELETE FROM registry"
hqc import-shelters "$REF" >/dev/null
sql "UPDATE registry SET name = 'old name' WHERE shelter_id = 'CC0000000504'"
registry >"$T/before"
hqc import-shelters "$T/bad.csv" >"$T/out" 2>"$T/err"
check "a file with a bad row exits 1" [ $? = 1 ]
check "the error names file:line:column, the column and the rule" \
	grep -qF "hq: $T/bad.csv:10:13: column '緯度': '370." "$T/err"
check "... and says nothing was imported" \
	grep -qF "hq: nothing imported: 1 bad row of $ROWS (--skip-bad imports the others)" "$T/err"
check "... and the registry is unchanged (not even the good rows)" [ "$(registry)" = "$(cat "$T/before")" ]
hqc import-shelters "$T/bad.csv" --skip-bad >"$T/out" 2>"$T/err"
check "--skip-bad exits 0" [ $? = 0 ]
check "--skip-bad lists the skipped row" grep -qF "skipped $T/bad.csv:10:13: column '緯度'" "$T/out"
check "--skip-bad imports the rest" \
	grep -qx "imported $((ROWS - 1)) (new 0, updated $((ROWS - 1))), skipped 1" "$T/out"
check "... updating them" sql_is "SELECT name FROM registry WHERE shelter_id = 'CC0000000504'" 御祓地区コミュニティセンター

# --- GSI layout (synthetic rows)
hqc import-shelters "$GSI" >"$T/out" 2>"$T/err"
check "the GSI file imports" grep -qx "imported 4 (new 4, updated 0), skipped 0" "$T/out"
check "it is read as the GSI layout" grep -q "gsi layout, 4 rows" "$T/out"
check "its rows are placed, full-width digits included" \
	sql_is "SELECT count(*) FROM registry WHERE layout = 'gsi' AND lat BETWEEN 37 AND 38" 4
check "a row without 共通ID gets an id derived from municipality, name and address" \
	sql_is "SELECT count(*) FROM registry WHERE layout = 'gsi' AND shelter_id LIKE 'G172022-%' AND name = '試験公民館'" 1
check "the quoted multi-line field kept the row's line" \
	sql_is "SELECT source_line FROM registry WHERE shelter_id = '172022900003'" 4
check "re-importing GSI duplicates nothing" \
	sh -c "'$HQ' -c '$T/hq.conf' import-shelters '$GSI' | grep -qx 'imported 4 (new 0, updated 4), skipped 0'"

# --- usage
check "no file: usage error (2)" sh -c "'$HQ' -c '$T/hq.conf' import-shelters 2>/dev/null; [ \$? = 2 ]"
check "a missing file: exit 1, named" \
	sh -c "'$HQ' -c '$T/hq.conf' import-shelters '$T/nope.csv' 2>&1 | grep -q 'nope.csv: No such file'"

done_testing
