#!/bin/bash
# Depots, vehicles and the audited stock ledger: every change says who,
# when and why; stock never goes below zero; bad input is refused with
# a reason and changes nothing.
. "$(dirname "$0")/lib.sh"

BROKER=tcp://127.0.0.1:1 # no broker needed: these commands only touch the database
write_hq_conf
hqc() { "$HQ" -c "$T/hq.conf" "$@"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# refused TEXT ARGS...: exit 1 (bad value) or 2 (usage), TEXT on stderr,
# the ledger unchanged
refused() {
	local text=$1 before after
	shift
	before=$(sqlite3 "$T/hq.db" 'SELECT count(*), total(delta) FROM stock_ledger' 2>/dev/null)
	hqc "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	after=$(sqlite3 "$T/hq.db" 'SELECT count(*), total(delta) FROM stock_ledger')
	case $rc in 1 | 2) ;; *) return 1 ;; esac
	grep -qF -- "$text" "$T/err" && [ "$before" = "$after" ]
}

check "hq depot add" \
	[ "$(hqc depot add NANAO-1 --name 七尾市役所倉庫 --lat 37.043 --lon 136.967)" = "depot NANAO-1: 七尾市役所倉庫 at 37.04300, 136.96700" ]
hqc depot add WAKURA --name 和倉防災倉庫 --lat 37.0870 --lon 136.9140 >/dev/null
check "a depot outside the globe is refused" \
	refused "is not a number from -90 to 90" depot add BAD --name x --lat 91 --lon 0
check "a depot without a name is refused" \
	refused "a name is required" depot add BAD --lat 37 --lon 137
check "hq vehicle add" \
	[ "$(hqc vehicle add T-2T-1 --depot NANAO-1 --max-kg 2000 --max-l 8000 --name 2tトラック)" = "vehicle T-2T-1 at NANAO-1: 2000 kg, 8000 l" ]
check "a vehicle with zero capacity is refused" \
	refused "both must be above zero" vehicle add T-ZERO --depot NANAO-1 --max-kg 0 --max-l 100
check "a vehicle at an unknown depot is refused" \
	refused "no depot 'NOWHERE'" vehicle add T-X --depot NOWHERE --max-kg 100 --max-l 100

check "stock arrives with a reason" \
	[ "$(hqc stock adjust NANAO-1 water_drinking 500 --why '県からの搬入' --who tanaka)" = "NANAO-1 water_drinking: +500, now 500" ]
hqc stock adjust NANAO-1 blanket 120 --why 備蓄 >/dev/null
hqc stock adjust WAKURA meal_ready 3000 --why 備蓄 >/dev/null
check "stock goes out" \
	[ "$(hqc stock adjust NANAO-1 water_drinking -200 --why 'counted 300')" = "NANAO-1 water_drinking: -200, now 300" ]
check "stock never goes below zero" \
	refused "NANAO-1 holds 300 of water_drinking: cannot take 301" stock adjust NANAO-1 water_drinking -301 --why x
check "an unknown item is refused" \
	refused "item 'gold' is not in the item catalogue" stock adjust NANAO-1 gold 5 --why x
check "an unknown depot is refused" \
	refused "no depot 'NOWHERE'" stock adjust NOWHERE blanket 5 --why x
check "a change without a reason is refused" \
	refused "a reason is required" stock adjust NANAO-1 blanket 5
check "a quantity that is not a whole number is refused" \
	sh -c "! '$HQ' -c '$T/hq.conf' stock adjust NANAO-1 blanket 2.5 --why x 2>&1 | grep -q now"

check "hq stock sums the ledger per depot and item" \
	[ "$(hqc stock --format json | json "[(r['depot_id'], r['item'], r['qty']) for r in d]")" = \
	  "[('NANAO-1', 'blanket', 120), ('NANAO-1', 'water_drinking', 300), ('WAKURA', 'meal_ready', 3000)]" ]
check "hq stock --depot filters" \
	[ "$(hqc stock --depot WAKURA --format json | json 'len(d)')" = 1 ]
check "the ledger says who, when and why" \
	[ "$(hqc stock ledger --format json | json "[(r['delta'], r['who'], r['reason']) for r in d if r['delta'] == 500][0]")" = "(500, 'tanaka', '県からの搬入')" ]
check "the ledger as CSV has a BOM" \
	[ "$(hqc stock ledger --format csv | head -c 3 | od -An -tx1 | tr -d ' ')" = efbbbf ]
check "hq depots shows each depot's vehicles and capacity" \
	[ "$(hqc depots --format json | json "[(r['depot_id'], r['vehicles'], r['capacity_kg']) for r in d]")" = \
	  "[('NANAO-1', 1, 2000.0), ('WAKURA', 0, 0)]" ]
check "depots as GeoJSON" \
	[ "$(hqc depots --format geojson | json "len(d['features'])")" = 2 ]
# hq stock import: a file of rows, all or none, each row's ref its line
printf 'depot,item,qty,why\r\nWAKURA,blanket,200,自衛隊より\r\nNANAO-1,water_drinking,-50,\r\n' >"$T/stock.csv"
check "hq stock import posts every row" \
	[ "$(hqc stock import "$T/stock.csv" --why 棚卸し)" = "$T/stock.csv: 2 stock changes posted" ]
check "each imported row is referenced by file and line, with its reason or the default" \
	[ "$(sql "SELECT group_concat(ref || ' ' || reason, '|') FROM stock_ledger WHERE ref LIKE '%stock.csv:%'")" = \
	  "$T/stock.csv:2 自衛隊より|$T/stock.csv:3 棚卸し" ]
printf '拠点,品目,数量\nWAKURA,blanket,5\n' | iconv -f UTF-8 -t CP932 >"$T/stock-sjis.csv"
check "a Shift_JIS file with Japanese headers imports" \
	[ "$(hqc stock import "$T/stock-sjis.csv" --why 搬入)" = "$T/stock-sjis.csv: 1 stock changes posted" ]
printf 'depot,item,qty\nWAKURA,blanket,1\nWAKURA,blanket,2x\n' >"$T/bad1.csv"
check "a bad quantity names file, line and column, and posts nothing" \
	refused "bad1.csv:3: column 'qty': '2x' is not a whole number" stock import "$T/bad1.csv"
printf 'depot,item,qty\nWAKURA,blanket,1\nWAKURA,gold,2\n' >"$T/bad2.csv"
check "an unknown item names its line, and posts nothing" \
	refused "bad2.csv:3: item 'gold' is not in the item catalogue" stock import "$T/bad2.csv"
printf 'depot,item,qty\nWAKURA,blanket,1\nNANAO-1,water_drinking,-100000\n' >"$T/bad3.csv"
check "a row taking stock below zero refuses the whole file" \
	refused "bad3.csv:3: NANAO-1 holds" stock import "$T/bad3.csv"
printf 'depot,qty\nWAKURA,1\n' >"$T/bad4.csv"
check "a header without an item column is refused" \
	refused "no column 'item'" stock import "$T/bad4.csv"
done_testing
