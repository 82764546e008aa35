#!/bin/bash
# One report end to end through a real mosquitto: agent -> broker -> hq,
# HQ's acknowledgement back to the agent; invalid messages to the dead-
# letter table with their reason; the same report twice stored once.
. "$(dirname "$0")/lib.sh"

start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
write_agent_conf CC0000000518 "山王小学校"
STATUS_TOPIC="shelterlink/v1/$MUNI/CC0000000518/status"

check "hq -n accepts its configuration" \
	sh -c "'$HQ' -c '$T/hq.conf' -n | grep -q 'configuration OK'"
check "shelter-agent -n accepts its configuration" \
	sh -c "'$AGENT' -c '$T/agent-CC0000000518.conf' -n | grep -q 'configuration OK'"

# --- configuration errors name the file, the line and the rule
printf 'broker = %s\ndatabase = %s\nmunicipality = %s\nshelter_id = a/b\n' \
	"$BROKER" "$T/x.db" "$MUNI" >"$T/bad-id.conf"
check "a shelter_id with '/' is refused, naming the rule" \
	sh -c "! '$AGENT' -c '$T/bad-id.conf' -n 2>'$T/err' && grep -q 'shelter_id' '$T/err' && grep -q pattern '$T/err'"
printf 'database = x.db\nmunicipality = 172022\nbatch_max = many\n' >"$T/bad-int.conf"
check "a non-numeric integer is refused with file:line" \
	sh -c "! '$HQ' -c '$T/bad-int.conf' -n 2>'$T/err' && grep -q 'bad-int.conf:3: key .batch_max.' '$T/err'"
printf 'database = x.db\nmunicipality = 172022\nbroker_uri = tcp://x\n' >"$T/bad-key.conf"
check "an unknown key is refused with file:line" \
	sh -c "! '$HQ' -c '$T/bad-key.conf' -n 2>'$T/err' && grep -q \"bad-key.conf:3: unknown key 'broker_uri'\" '$T/err'"

# --- reports are refused whole at entry, without using a number
check "a group larger than the total is refused" \
	sh -c "! '$AGENT' -c '$T/agent-CC0000000518.conf' report --total 10 --infants 11 2>'$T/err' && grep -q 'inconsistent: /headcount/infants' '$T/err'"
check "an unknown item code is refused" \
	sh -c "! '$AGENT' -c '$T/agent-CC0000000518.conf' report --total 10 --need gold=1 2>'$T/err' && grep -q \"unknown_item: /needs/0/item: 'gold'\" '$T/err'"
check "a non-numeric count is refused naming the flag" \
	sh -c "! '$AGENT' -c '$T/agent-CC0000000518.conf' report --total ten 2>'$T/err' && grep -q -- \"--total: 'ten' is not a whole number\" '$T/err'"
check "a negative count is refused by the schema, naming the field" \
	sh -c "! '$AGENT' -c '$T/agent-CC0000000518.conf' report --total -3 2>'$T/err' && grep -q '/headcount/total' '$T/err'"

# --- a report reaches HQ and is acknowledged end to end
seq=$(agent CC0000000518 report --total 180 --elderly 60 --infants 4 \
	--need water_drinking=200:critical --note "断水中")
check "the first stored report gets seq 1 (refusals used no number)" [ "$seq" = 1 ]
start_hq
check "agent delivers and sees HQ's acknowledgement" \
	agent CC0000000518 run --until-acked --timeout 30
check "HQ lists the shelter with its headcount" [ "$(shelter_field CC0000000518 total)" = 180 ]
check "HQ's shelter name came from the report" [ "$(shelter_field CC0000000518 name)" = "山王小学校" ]
check "HQ stored the need" [ "$(sql "SELECT item||'='||qty||':'||urgency FROM needs")" = "water_drinking=200:critical" ]
check "agent outbox is empty" \
	sh -c "'$AGENT' -c '$T/agent-CC0000000518.conf' status --format json | grep -q '\"outbox\": 0'"
eventually 10 "the agent's clean exit marks the shelter offline" \
	field_is CC0000000518 status offline

# --- the same report twice is stored once (and acknowledged again).
# A second shelter's report, taken from its outbox, published by hand.
write_agent_conf CC0000000504 "御祓地区コミュニティセンター"
STATUS_TOPIC="shelterlink/v1/$MUNI/CC0000000504/status"
agent CC0000000504 report --total 180 >/dev/null
payload=$(sqlite3 "$T/agent-CC0000000504.db" "SELECT payload FROM outbox WHERE seq = 1")
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m "$payload"
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m "$payload"
p2=$(echo "$payload" | sed 's/"seq":1/"seq":2/; s/"total":180/"total":175/')
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m "$p2"
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m "$p2"
eventually 10 "seq 2 is stored" field_is CC0000000504 last_seq 2
check "duplicates stored once: 2 reports for 6 publishes" [ "$(shelter_field CC0000000504 reports)" = 2 ]
check "latest headcount is seq 2's" [ "$(shelter_field CC0000000504 total)" = 175 ]
# Acks are coalesced (ack_interval_ms): the one for seq 2 may follow the
# commit by up to an interval, so the retained ack is read until it does.
eventually 10 "HQ's retained acknowledgement covers seq 2" \
	sh -c "mosquitto_sub -p '$PORT' -t 'shelterlink/v1/$MUNI/CC0000000504/ack' -C 1 -W 2 |
		grep -q '\"acked_seq\":2'"

# --- a gap is never acknowledged
p4=$(echo "$payload" | sed 's/"seq":1/"seq":4/')
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m "$p4"
eventually 10 "seq 4 stored" field_is CC0000000504 last_seq 4
check "acked_seq stays 2 while seq 3 is missing" [ "$(shelter_field CC0000000504 acked_seq)" = 2 ]

# --- invalid messages land in the dead-letter table with their reason
dead() { sql "SELECT count(*) FROM dead_letters WHERE reason LIKE '%$1%'"; }
before=$(sql "SELECT count(*) FROM messages")
before_hc=$(sql "SELECT count(*) FROM headcounts")
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m \
	"$(echo "$payload" | sed 's/"seq":1/"seq":3/; s/"total":180/"total":-1/')"
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m '{"v":1, "type":'
mosquitto_pub -p "$PORT" -q 1 -t "shelterlink/v1/$MUNI/CC0000000518/status" -m "$p2"
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -m \
	"$(echo "$payload" | sed 's/"seq":1/"seq":3,"seq":3/')"
head -c 20000 /dev/zero | tr '\0' 'x' >"$T/big"
mosquitto_pub -p "$PORT" -q 1 -t "$STATUS_TOPIC" -f "$T/big"
eventually 10 "five dead letters" sql_is 'SELECT count(*) FROM dead_letters' 5
check "schema violation names pointer and keyword" [ "$(dead '/headcount/total: minimum')" = 1 ]
check "broken JSON and duplicate keys are named" [ "$(dead 'bad_json: invalid JSON')" = 2 ]
check "payload/topic mismatch is named" [ "$(dead 'differs from the topic')" = 1 ]
check "oversize payload is named" [ "$(dead 'exceeds the 16384-byte limit')" = 1 ]
check "oversize payload is stored capped" [ "$(sql "SELECT length(payload) FROM dead_letters WHERE reason LIKE '%exceeds%'")" -le 16384 ]
check "no invalid message reached the live tables" \
	[ "$(sql 'SELECT count(*) FROM messages'):$(sql 'SELECT count(*) FROM headcounts')" = "$before:$before_hc" ]
check "the rejected seq 3 is settled, so the acknowledgement moves to 4" \
	[ "$(shelter_field CC0000000504 acked_seq)" = 4 ]
check "a message claiming another shelter settles nothing" \
	[ "$(sql "SELECT count(*) FROM dead_letters WHERE seq IS NOT NULL")" = 1 ]

# --- reports entered while HQ is down arrive after it returns
stop_hq
for n in 1 2 3; do agent CC0000000518 report --total $((100 + n)) >/dev/null; done
check "three reports wait in the outbox while HQ is down" \
	sh -c "'$AGENT' -c '$T/agent-CC0000000518.conf' status --format json | grep -q '\"outbox\": 3'"
agent CC0000000518 run --until-acked --timeout 2 >/dev/null 2>&1
check "without HQ nothing is acknowledged (the PUBACK is not enough)" \
	sh -c "'$AGENT' -c '$T/agent-CC0000000518.conf' status --format json | grep -q '\"outbox\": 3'"
start_hq
check "after HQ returns the outbox drains" agent CC0000000518 run --until-acked --timeout 30
check "HQ holds the agent's seqs 1..4 exactly once" \
	[ "$(sql "SELECT count(*)||':'||min(seq)||':'||max(seq) FROM messages WHERE shelter_id = 'CC0000000518'")" = "4:1:4" ]
check "latest total is the last report's" [ "$(shelter_field CC0000000518 total)" = 103 ]

done_testing
