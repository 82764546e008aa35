#!/bin/bash
# The needs estimate end to end: a real agent's report (headcount, a
# critical and a high request, stock on site) through a real mosquitto
# into hq, then `hq estimate --format json` checked against figures worked
# out by hand from the shipped norms; `hq norms set` changes a norm and
# the estimate follows; a bad change is refused and leaves the file as it
# was.  The test edits a copy of data/norms.json (norms_file), never the
# repository's.
. "$(dirname "$0")/lib.sh"

start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
cp "$ROOT/data/norms.json" "$T/norms.json"
repo_norms=$(md5sum <"$ROOT/data/norms.json")
HQ_EXTRA="norms_file = $T/norms.json"
write_hq_conf
hqc() { "$HQ" -c "$T/hq.conf" "$@"; }
# est HORIZON EXPR: a Python expression over the estimate's rows as `d`;
# r(shelter, item, urgency) is the needed quantity of one row, 0 if none
est() {
	hqc estimate --horizon "$1" --format json |
		python3 -c 'import json,sys
d=json.load(sys.stdin)
def r(s, i, u):
    m=[x["needed"] for x in d if (x["shelter_id"], x["item"], x["urgency"]) == (s, i, u)]
    return m[0] if m else 0
print(eval(sys.argv[1]))' "$2"
}

check "hq -n loads the norms file" sh -c "'$HQ' -c '$T/hq.conf' -n >/dev/null"

start_hq
write_agent_conf S1 "避難所1"
printf 'gpsd = none\nlatitude = 37.05\nlongitude = 136.95\n' >>"$T/agent-S1.conf"
agent S1 report --total 100 --infants 5 --care 10 \
	--need water_drinking=20:critical --need blanket=300:high \
	--stock meal_ready=100 --stock toilet_paper=50 >/dev/null
check "the agent's report is acknowledged" \
	sh -c "'$AGENT' -c '$T/agent-S1.conf' run --until-acked --timeout 30 2>/dev/null"

# Shipped norms x (100 people, 5 infants, 10 needing care), 24 h:
check "water: the 20 asked for stay critical; 1.5 x 100 = 150 adds 130 normal" \
	[ "$(est 24h "(r('S1','water_drinking','critical'), r('S1','water_drinking','normal'))")" = "(20, 130)" ]
check "meals: 3 x 100 = 300 less 100 on site = 200" \
	[ "$(est 24h "r('S1','meal_ready','normal')")" = 200 ]
check "infants and care: formula 0.2 x 5 = 1, diapers 8 x 5 = 40, adult 4 x 10 = 40" \
	[ "$(est 24h "(r('S1','infant_formula','normal'), r('S1','diaper_infant','normal'), r('S1','diaper_adult','normal'))")" = "(1, 40, 40)" ]
check "toilet uses 5 x 100 = 500; sanitary pads 0.2 x 100 = 20" \
	[ "$(est 24h "(r('S1','toilet_portable','normal'), r('S1','sanitary_pad','normal'))")" = "(500, 20)" ]
check "toilet paper 0.2 x 100 = 20 is covered by the 50 on site" \
	[ "$(est 24h "[x for x in d if x['item'] == 'toilet_paper']")" = "[]" ]
check "blankets: the request (300, high) is above 2 x 100 = 200" \
	[ "$(est 24h "[(x['urgency'], x['needed'], x['requested'], x['from_norms']) for x in d if x['item'] == 'blanket']")" = "[('high', 300, 300, 0)]" ]
check "each row shows its rule and stock" \
	[ "$(est 24h "[(x['on_site'], x['rule']) for x in d if x['item'] == 'meal_ready']")" = "[(100, 'norms 300 - on site 100 = 200; norms = ceil(3/d x 100 total x 1 d)')]" ]
check "pets not reported: no pet food" \
	[ "$(est 24h "[x for x in d if x['item'] == 'pet_food']")" = "[]" ]
check "3 days: water 450 (20 critical + 430), meals 800, blankets still 300" \
	[ "$(est 3d "(r('S1','water_drinking','critical'), r('S1','water_drinking','normal'), r('S1','meal_ready','normal'), r('S1','blanket','high'))")" = "(20, 430, 800, 300)" ]
check "the table names its columns" sh -c "'$HQ' -c '$T/hq.conf' estimate | head -1 | grep -q '^SHELTER.*NEEDED.*RULE'"
check "CSV starts with a BOM" \
	[ "$(hqc estimate --format csv | head -c 3 | od -An -tx1 | tr -d ' ')" = efbbbf ]
check "a horizon beyond 7 days is refused" sh -c "! '$HQ' -c '$T/hq.conf' estimate --horizon 8d 2>/dev/null"
check "a horizon without a unit is refused" sh -c "! '$HQ' -c '$T/hq.conf' estimate --horizon 24 2>/dev/null"

# --- HQ changes a norm
check "hq norms lists the norms with their sources" \
	sh -c "'$HQ' -c '$T/hq.conf' norms | grep -q '^water_drinking  *total  *1.5  *day  *bottle_2l  *Sphere Handbook'"
check "hq norms set water_drinking total 2" \
	[ "$(hqc norms set water_drinking total 2 --source 'HQ decision')" = "water_drinking for total: 2 per day (HQ decision)" ]
check "the estimate follows: 2 x 100 = 200, 180 beyond the request" \
	[ "$(est 24h "r('S1','water_drinking','normal')")" = 180 ]
check "the new source is shown" \
	[ "$(hqc norms --format json | python3 -c 'import json,sys; print([n["source"] for n in json.load(sys.stdin) if n["item"]=="water_drinking"][0])')" = "HQ decision" ]
check "a per-stay norm keeps its basis when set: blankets 1 per person" \
	[ "$(hqc norms set blanket total 1 --source assumption)" = "blanket for total: 1 per stay (assumption)" ]

# refused TEXT ARGS...: exit 1 or 2, TEXT on stderr, the file unchanged
refused() {
	local text=$1 before
	shift
	before=$(md5sum <"$T/norms.json")
	hqc "$@" >/dev/null 2>"$T/err"
	case $? in 1 | 2) ;; *) return 1 ;; esac
	grep -qF -- "$text" "$T/err" && [ "$(md5sum <"$T/norms.json")" = "$before" ]
}
check "a negative quantity is refused, naming the field" \
	refused "/norms/0/qty: minimum" norms set water_drinking total -1 --source x
check "an unknown item is refused, naming the field" \
	refused "/norms/10/item: 'water' is not in the item catalogue" norms set water total 1 --source x
check "an unknown group is refused" \
	refused "/norms/10/group: enum" norms set sanitary_pad women 1 --source x
check "a quantity that is not a number is refused" \
	refused "QTY is a decimal number" norms set water_drinking total 2l --source x
check "a norm without a source is refused" \
	refused "--source TEXT is required" norms set water_drinking total 2
check "no temporary file is left behind" [ ! -e "$T/norms.json.tmp" ]
check "the estimate still uses the last good norms" \
	[ "$(est 24h "r('S1','water_drinking','normal')")" = 180 ]

# --- who is left out
hqc close S1 >/dev/null
check "a shelter closed by an operator is left out" [ "$(est 24h "d")" = "[]" ]
hqc open S1 >/dev/null
check "... and back when reopened" [ "$(est 24h "r('S1','meal_ready','normal')")" = 200 ]

printf '{"v": 1, "norms": [{"item": "nosuch", "group": "total", "qty": 1, "per": "day", "source": "x"}]}\n' >"$T/bad-norms.json"
sed "s|^norms_file = .*|norms_file = $T/bad-norms.json|" "$T/hq.conf" >"$T/hq-bad.conf"
check "hq -n refuses a norms file naming an unknown item" \
	sh -c "'$HQ' -c '$T/hq-bad.conf' -n 2>&1 | grep -q \"bad-norms.json: /norms/0/item: 'nosuch' is not in the item catalogue\""
check "the repository's data/norms.json was not touched" [ "$(md5sum <"$ROOT/data/norms.json")" = "$repo_norms" ]
done_testing
