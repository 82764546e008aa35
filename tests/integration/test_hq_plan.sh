#!/bin/bash
# A plan end to end: shelters report people and needs, HQ estimates and
# plans them against its depots' stock and trucks, an operator approves,
# each shelter's agent receives its dispatch order through a real
# mosquitto, staff record what arrived, and HQ reconciles sent against
# delivered.  Approval moves the stock ledger all or nothing.
. "$(dirname "$0")/lib.sh"

start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
start_hq
hqc() { "$HQ" -c "$T/hq.conf" "$@"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

hqc depot add D-NORTH --name 北倉庫 --lat 37.060 --lon 136.960 >/dev/null
hqc depot add D-SOUTH --name 南倉庫 --lat 37.000 --lon 136.970 >/dev/null
hqc vehicle add T-N1 --depot D-NORTH --max-kg 2000 --max-l 10000 >/dev/null
hqc vehicle add T-S1 --depot D-SOUTH --max-kg 2000 --max-l 10000 >/dev/null
hqc stock adjust D-NORTH water_drinking +150 --why "prefecture delivery" >/dev/null
hqc stock adjust D-SOUTH water_drinking +50 --why "prefecture delivery" >/dev/null
hqc stock adjust D-NORTH blanket +500 --why "prefecture delivery" >/dev/null

A=CC0000000504 B=CC0000000505
for id in $A $B; do
	write_agent_conf "$id"
	echo "gpsd = 127.0.0.1:1" >>"$T/agent-$id.conf"
done
printf 'latitude = 37.048\nlongitude = 136.961\n' >>"$T/agent-$A.conf"
printf 'latitude = 37.010\nlongitude = 136.958\n' >>"$T/agent-$B.conf"
agent $A report --total 40 --need water_drinking=120:critical >/dev/null
agent $B report --total 60 --need water_drinking=300:high --need blanket=20:normal >/dev/null
for id in $A $B; do
	"$AGENT" -c "$T/agent-$id.conf" run >>"$T/agent-$id.log" 2>&1 &
	PIDS+=($!)
done
eventually 30 "HQ has both reports" sql_is "SELECT count(*) FROM headcounts" 2

hqc estimate --format json >"$T/estimate.json" 2>"$T/err"
check "hq estimate lists water for both shelters" \
	[ "$(json 'len([r for r in d if r["item"]=="water_drinking"])' <"$T/estimate.json")" -ge 2 ]
hqc plan --format json --sheets "$T/sheets" >"$T/plan.json" 2>"$T/plan.err"
check "hq plan makes a draft plan" grep -q "^plan P[0-9-]* (draft" "$T/plan.err"
PLAN=$(sed -n 's/^plan \(P[0-9-]*\) .*/\1/p' "$T/plan.err")
# The whole 200 of water goes out; critical needs come first.
need_crit=$(json 'sum(r["needed"] for r in d if r["item"]=="water_drinking" and r["urgency"]=="critical")' <"$T/estimate.json")
need_all=$(json 'sum(r["needed"] for r in d if r["item"]=="water_drinking")' <"$T/estimate.json")
given=$(json 'sum(r["allocated"] for r in d if r["item"]=="water_drinking")' <"$T/plan.json")
crit=$(json 'sum(r["allocated"] for r in d if r["item"]=="water_drinking" and r["urgency"]=="critical")' <"$T/plan.json")
check "all the water is allocated when needs exceed it ($given of need $need_all)" \
	[ "$given" = "$((need_all < 200 ? need_all : 200))" ]
check "critical needs are filled first ($crit of $need_crit)" \
	[ "$crit" = "$((need_crit < 200 ? need_crit : 200))" ]
check "every plan line says why" \
	[ "$(json 'all(r["why"] for r in d)' <"$T/plan.json")" = True ]
check "pick list, stop list and printable page per depot" \
	[ -s "$T/sheets/D-NORTH-pick.csv" ] && [ -s "$T/sheets/D-NORTH-stops.csv" ] && grep -q "<html" "$T/sheets/D-NORTH.html"
check "a draft moves no stock" \
	sql_is "SELECT sum(delta) FROM stock_ledger WHERE item = 'water_drinking'" 200
check "hq plans lists the draft" sh -c "'$HQ' -c '$T/hq.conf' plans | grep -q '$PLAN .*draft'"

hqc dispatch approve "$PLAN" --who 本部長 >"$T/approve.out" 2>"$T/err"
check "approve sends every order" \
	grep -q "^$(sql "SELECT count(*) FROM dispatches WHERE plan_id = '$PLAN'") dispatch orders sent$" "$T/approve.out"
check "approve takes the goods out of the depots" \
	sql_is "SELECT sum(delta) FROM stock_ledger WHERE item = 'water_drinking'" $((200 - given))
check "the ledger names the approver and the order" \
	sql_is "SELECT count(*) FROM stock_ledger WHERE who = '本部長' AND ref LIKE '$PLAN-%'" \
	"$(sql "SELECT count(*) FROM dispatch_lines JOIN dispatches USING (dispatch_id) WHERE plan_id = '$PLAN'")"
check "a second approval is refused" sh -c "! '$HQ' -c '$T/hq.conf' dispatch approve $PLAN 2>'$T/err' && grep -q 'already approved' '$T/err'"

DA=$(sql "SELECT dispatch_id FROM dispatches WHERE plan_id = '$PLAN' AND shelter_id = '$A' LIMIT 1")
DB=$(sql "SELECT dispatch_id FROM dispatches WHERE plan_id = '$PLAN' AND shelter_id = '$B' LIMIT 1")
inbox_has() { agent "$1" inbox | grep -q "^$2 "; }
eventually 20 "shelter A's agent has its order $DA" inbox_has $A "$DA"
eventually 20 "shelter B's agent has its order $DB" inbox_has $B "$DB"
check "before any receipt the orders are in transit" \
	sh -c "'$HQ' -c '$T/hq.conf' dispatch status $PLAN | grep -q 'in transit'"

qa=$(sql "SELECT qty FROM dispatch_lines WHERE dispatch_id = '$DA' AND item = 'water_drinking'")
agent $A receive "$DA" water_drinking=$((qa - 10)) >/dev/null
received() { "$HQ" -c "$T/hq.conf" dispatch status "$PLAN" --format json | grep -q "\"$2\""; }
eventually 20 "A's receipt, 10 short, reaches HQ" received $A short
hqc dispatch status "$PLAN" --format json >"$T/status.json"
check "the shortfall is listed with its difference" \
	[ "$(json '[r["difference"] for r in d if r["dispatch_id"]=="'"$DA"'" and r["item"]=="water_drinking"][0]' <"$T/status.json")" = -10 ]
lines=$(sql "SELECT group_concat(item || '=' || qty, ' ') FROM dispatch_lines WHERE dispatch_id = '$DB'")
# shellcheck disable=SC2086
agent $B receive "$DB" $lines >/dev/null
eventually 20 "B's full receipt is reconciled as delivered" \
	sh -c "'$HQ' -c '$T/hq.conf' dispatch status $PLAN --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(r[\"status\"]==\"delivered\" for r in d if r[\"dispatch_id\"]==\"$DB\") else 1)'"
check "what arrived is in the shelters' ledger" \
	sql_is "SELECT sum(qty) FROM shelter_ledger WHERE dispatch_id = '$DA' AND item = 'water_drinking'" $((qa - 10))

# A shelter whose agent had no session when the order went out (the
# broker drops it) gets it when the agent is born: hq run resends open
# orders after each birth.
C=CC0000000518
mosquitto_pub -p "$PORT" -q 1 -t "shelterlink/v1/$MUNI/$C/status" -m \
	"{\"v\":1,\"type\":\"status\",\"shelter_id\":\"$C\",\"municipality\":\"$MUNI\",\"seq\":1,\"time\":\"2024-01-10T08:00:00+09:00\",\"headcount\":{\"total\":30},\"needs\":[{\"item\":\"blanket\",\"qty\":30,\"urgency\":\"high\"}],\"position\":{\"lat\":37.03,\"lon\":136.95,\"source\":\"manual\"}}"
eventually 10 "C's report, sent without an agent, reaches HQ" sql_is "SELECT count(*) FROM headcounts WHERE shelter_id = '$C'" 1
hqc plan >/dev/null 2>"$T/planc.err"
PC=$(sed -n 's/^plan \(P[0-9-]*\) .*/\1/p' "$T/planc.err")
hqc dispatch approve "$PC" >/dev/null 2>&1
DC=$(sql "SELECT dispatch_id FROM dispatches WHERE plan_id = '$PC' AND shelter_id = '$C' LIMIT 1")
check "C's order was sent while no agent listened" \
	sql_is "SELECT sent_at IS NOT NULL FROM dispatches WHERE dispatch_id = '$DC'" 1
write_agent_conf "$C"
echo "gpsd = 127.0.0.1:1" >>"$T/agent-$C.conf"
"$AGENT" -c "$T/agent-$C.conf" run >>"$T/agent-$C.log" 2>&1 &
PIDS+=($!)
eventually 20 "after C's agent is born, HQ resends its open order $DC" inbox_has $C "$DC"

# Approval is all or nothing: a depot that lost stock since the plan
# refuses the whole plan, and no ledger line is written.
hqc stock adjust D-NORTH water_drinking +40 --why "late delivery" >/dev/null
agent $A report --total 40 --need water_drinking=30:critical >/dev/null
eventually 20 "A's new report reaches HQ" sql_is "SELECT count(*) FROM headcounts WHERE shelter_id = '$A'" 2
hqc plan >/dev/null 2>"$T/plan2.err"
P2=$(sed -n 's/^plan \(P[0-9-]*\) .*/\1/p' "$T/plan2.err")
hqc stock adjust D-NORTH water_drinking -40 --why "water found spoiled" >/dev/null
before=$(sql "SELECT count(*) FROM stock_ledger")
check "a plan whose stock is gone is refused whole" \
	sh -c "! '$HQ' -c '$T/hq.conf' dispatch approve '$P2' 2>'$T/err' && grep -q 'plan again' '$T/err'"
check "... and writes nothing" sql_is "SELECT count(*) FROM stock_ledger" "$before"
check "... and stays a draft" sql_is "SELECT status FROM plans WHERE plan_id = '$P2'" draft

done_testing
