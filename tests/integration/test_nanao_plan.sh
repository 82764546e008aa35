#!/bin/bash
# Real headcounts into a real plan: the first Nanao 2024 snapshot (9 Jan
# 2024, 18:00, the peak) replayed through real agents into HQ, the
# official shelter list imported for positions, then hq plan shares an
# assumed, scarce depot stock fairly across the shelters with people.
# Data: 「令和6年能登半島地震 石川県七尾市避難所開設情報GISデータ」
# (raokiey), CC BY 4.0; see data/nanao-2024/SOURCE.md.
. "$(dirname "$0")/lib.sh"

NANAO=$ROOT/data/nanao-2024
FIRST=$NANAO/history/open_shelter_Nanao-shi_2024-01-09-1800.csv
start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
start_hq
hqc() { "$HQ" -c "$T/hq.conf" "$@"; }

check "the first snapshot replays through real agents into HQ" \
	sh -c "'$ROOT/tools/replay' --broker '$BROKER' --workdir '$T/replay' \
		--agent '$AGENT' --history '$NANAO/history' --limit 1 --speed 0 \
		--drain-timeout 60 >'$T/replay.log' 2>&1"
check "the official list gives every shelter its position" \
	sh -c "'$HQ' -c '$T/hq.conf' import-shelters '$NANAO/reference_data.csv' >/dev/null"

# Depots and stock are assumptions for the test: the city hall's store
# and Wakura's, holding about half a day of water for the people counted.
hqc depot add NANAO-CITY --name 七尾市役所 --lat 37.0430 --lon 136.9670 >/dev/null
hqc depot add WAKURA --name 和倉防災倉庫 --lat 37.0870 --lon 136.9140 >/dev/null
for v in 1 2 3; do hqc vehicle add CITY-$v --depot NANAO-CITY --max-kg 2000 --max-l 10000 >/dev/null; done
hqc vehicle add WAKURA-1 --depot WAKURA --max-kg 4000 --max-l 20000 >/dev/null
hqc stock adjust NANAO-CITY water_drinking +1500 --why "assumed stock" >/dev/null
hqc stock adjust WAKURA water_drinking +500 --why "assumed stock" >/dev/null
hqc stock adjust NANAO-CITY blanket +2000 --why "assumed stock" >/dev/null
hqc plan --format json --sheets "$T/sheets" >"$T/plan.json" 2>"$T/plan.err"
check "hq plan plans the real event" grep -q "^plan P" "$T/plan.err"
python3 - "$FIRST" "$T/plan.json" >"$T/check.tap" <<'PY'
import csv, json, sys
from fractions import Fraction
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    rows = list(csv.DictReader(f))
col = next(k for k in rows[0] if k.startswith("人数"))
people = {r["ID"]: int(r[col]) for r in rows if int(r[col]) > 0}
plan = json.load(open(sys.argv[2]))
water = [r for r in plan if r["item"] == "water_drinking"]
def out(ok, name):
    print(("ok - " if ok else "not ok - ") + name)
print("# %d shelters with %d people; water needed %d, allocated %d" % (
    len(people), sum(people.values()), sum(r["needed"] for r in water),
    sum(r["allocated"] for r in water)))
out(set(r["shelter_id"] for r in water) == set(people),
    "every shelter with people has a water line, and only those")
out(sum(r["allocated"] for r in water) == min(2000, sum(r["needed"] for r in water)),
    "all the water is shared out when it is short")
# max-min: inside an urgency class no shelter could take a unit from
# another whose fill ratio stays higher after giving it
bad = []
for a in water:
    for b in water:
        if a["urgency"] == b["urgency"] and a["allocated"] < a["needed"] and b["allocated"] > 0:
            if Fraction(a["allocated"] + 1, a["needed"]) <= Fraction(b["allocated"] - 1, b["needed"]):
                bad.append((a["shelter_id"], b["shelter_id"]))
out(not bad, "no shelter's water could be raised without lowering a lower one (%s)" % bad[:3])
big = max(water, key=lambda r: r["needed"])
print("# largest: %s needs %d, gets %d (%.0f %%)" % (
    big["shelter_id"], big["needed"], big["allocated"], 100.0 * big["allocated"] / big["needed"]))
PY
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$T/check.tap"
check "the trucks' pick and stop lists are written" \
	[ -s "$T/sheets/NANAO-CITY-stops.csv" ]
check "no depot ships more than it holds" \
	[ "$(sql "SELECT count(*) FROM (SELECT d.depot_id, l.item, sum(l.qty) AS out FROM dispatches d
		JOIN dispatch_lines l USING (dispatch_id) GROUP BY 1, 2) o
		WHERE o.out > (SELECT sum(delta) FROM stock_ledger s WHERE s.depot_id = o.depot_id AND s.item = o.item)")" = 0 ]
done_testing
