#!/bin/bash
# The dispatch loop: HQ's order reaches the running agent's inbox (once,
# however often it is sent; invalid ones are refused), and the receipt
# staff record travels back through the outbox into HQ's database.
. "$(dirname "$0")/lib.sh"

ID=CC0000000518
start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
write_agent_conf "$ID" "山王小学校"
echo "heartbeat_s = 1" >>"$T/agent-$ID.conf"
start_hq
"$AGENT" -c "$T/agent-$ID.conf" run >>"$T/agent.log" 2>&1 &
PIDS+=($!)
TOPIC="shelterlink/v1/$MUNI/$ID/dispatch"
order() { # order ID ITEM
	printf '{"v":1,"type":"dispatch","dispatch_id":"%s","shelter_id":"%s","municipality":"%s","time":"2024-01-10T08:30:00+09:00","lines":[{"item":"%s","qty":300},{"item":"blanket","qty":60}],"note":"正門から搬入"}' \
		"$1" "$ID" "$MUNI" "$2"
}
inbox_has() { agent "$ID" inbox | grep -q "^$1 "; }
connected() { agent "$ID" status --format json | grep -q '"connected": true'; }
# Orders are not retained: the agent's session must exist first.
eventually 60 "the agent is connected" connected
mosquitto_pub -p "$PORT" -q 1 -t "$TOPIC" -m "$(order D20240110-0007 water_drinking)"
mosquitto_pub -p "$PORT" -q 1 -t "$TOPIC" -m "$(order D20240110-0007 water_drinking)"
mosquitto_pub -p "$PORT" -q 1 -t "$TOPIC" -m "$(order D20240110-0008 gold)"
eventually 10 "the dispatch order reaches the inbox" inbox_has D20240110-0007
check "sent twice, listed once" [ "$(agent "$ID" inbox | grep -c '^D20240110-0007 ')" = 1 ]
check "an order with an unknown item is refused" sh -c "! '$AGENT' -c '$T/agent-$ID.conf' inbox | grep -q D20240110-0008"
check "the refusal is logged with its reason" grep -q "unknown_item" "$T/agent.log"
check "the inbox shows lines and the note" sh -c "'$AGENT' -c '$T/agent-$ID.conf' inbox | grep -q '正門から搬入'"

check "a receipt for an unknown order is refused" \
	sh -c "! '$AGENT' -c '$T/agent-$ID.conf' receive D-NONE water_drinking=1 2>'$T/err' && grep -q 'no dispatch order' '$T/err'"
check "a receipt with a negative quantity is refused" \
	sh -c "! '$AGENT' -c '$T/agent-$ID.conf' receive D20240110-0007 water_drinking=-5 2>'$T/err' && grep -q 'minimum' '$T/err'"
seq=$(agent "$ID" receive D20240110-0007 water_drinking=280 blanket=60)
check "the receipt takes the next sequence number" [ "$seq" = 1 ]
check "the inbox marks the order received" sh -c "'$AGENT' -c '$T/agent-$ID.conf' inbox | grep -q 'D20240110-0007 .* received'"
eventually 10 "HQ stores the receipt" sql_is "SELECT json_extract(payload, '$.lines[0].qty') FROM messages WHERE type = 'receipt' AND shelter_id = '$ID'" 280
eventually 10 "HQ acknowledges it" field_is "$ID" acked_seq 1
check "status shows a connected agent with nothing waiting and no error" \
	sh -c "'$AGENT' -c '$T/agent-$ID.conf' status --format json | grep -q '\"connected\": true, \"outbox\": 0, .*\"last_error\": \"\"'"
seen0=$(shelter_field "$ID" last_seen)
sleep 2.5
check "an idle agent's heartbeats keep HQ's last_seen moving" \
	[ "$(shelter_field "$ID" last_seen)" != "$seen0" ]

done_testing
