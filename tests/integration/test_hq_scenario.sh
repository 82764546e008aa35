#!/bin/bash
# hq scenario: a seeded synthetic event goes into the database as depots,
# trucks, stock and shelter reports, and plans like a real one; the same
# seed gives the same plan on any machine, another seed another plan.
. "$(dirname "$0")/lib.sh"

for n in 1 2 3; do
	printf 'database = %s\nmunicipality = 152056\n' "$T/s$n.db" >"$T/s$n.conf"
done
hqn() { local n=$1; shift; "$HQ" -c "$T/s$n.conf" "$@"; }
q() { sqlite3 "$T/s$1.db" "$2"; }
check "hq scenario kashiwazaki loads the event" \
	[ "$(hqn 1 scenario kashiwazaki --seed 5)" = "scenario kashiwazaki, seed 5: 82 shelters, $(q 1 'SELECT count(*) FROM needs') need lines, 5 depots, 20 trucks" ]
hqn 2 scenario kashiwazaki --seed 5 >/dev/null
hqn 3 scenario kashiwazaki --seed 6 >/dev/null
check "every shelter reported a headcount and a position" \
	[ "$(q 1 'SELECT count(*) FROM shelters WHERE lat IS NOT NULL AND last_report IS NOT NULL')" = 82 ]
check "stock is short of the requests for every item" \
	[ "$(q 1 "SELECT count(*) FROM (SELECT item, sum(qty) AS need FROM needs GROUP BY item) n
		WHERE n.need <= (SELECT coalesce(sum(delta), 0) FROM stock_ledger s WHERE s.item = n.item)")" = 0 ]
check "the ledger says which scenario put the stock there" \
	[ "$(q 1 "SELECT DISTINCT reason FROM stock_ledger")" = "scenario kashiwazaki, seed 5" ]
for n in 1 2 3; do hqn $n plan --format csv >"$T/plan$n.csv" 2>/dev/null; done
check "the same seed gives the same plan" cmp -s "$T/plan1.csv" "$T/plan2.csv"
check "another seed gives another plan" sh -c "! cmp -s '$T/plan1.csv' '$T/plan3.csv'"
check "the plan has orders for the trucks" [ "$(q 1 'SELECT count(*) FROM dispatches')" -gt 50 ]
check "no order exceeds what its depot held" \
	[ "$(q 1 "SELECT count(*) FROM (SELECT d.depot_id, l.item, sum(l.qty) AS out FROM dispatches d
		JOIN dispatch_lines l USING (dispatch_id) GROUP BY 1, 2) o
		WHERE o.out > (SELECT sum(delta) FROM stock_ledger s WHERE s.depot_id = o.depot_id AND s.item = o.item)")" = 0 ]
check "a second scenario run adds a newer report per shelter" \
	sh -c "'$HQ' -c '$T/s1.conf' scenario kashiwazaki --seed 5 >/dev/null && [ \$(sqlite3 '$T/s1.db' 'SELECT max(seq) FROM messages') = 2 ]"
printf 'database = %s\nmunicipality = 152056\n' "$T/s4.db" >"$T/s4.conf"
check "with nothing needed, hq plan says so and stores no plan" \
	sh -c "'$HQ' -c '$T/s4.conf' plan 2>&1 | grep -q 'nothing to plan' && [ \$(sqlite3 '$T/s4.db' 'SELECT count(*) FROM plans') = 0 ]"
check "an unknown scale is refused" \
	sh -c "! '$HQ' -c '$T/s1.conf' scenario atlantis 2>'$T/err' && grep -q 'kashiwazaki, kumamoto or national' '$T/err'"
done_testing
