#!/bin/bash
# TLS to the broker: the server's certificate must chain to the
# configured CA *and* name the host we connected to (paho's default
# would skip the name); a client certificate authenticates the agent.
. "$(dirname "$0")/lib.sh"

ID=CC0000000518
P="$T/pki"
mkdir -p "$P"
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shelterlink test CA" \
	-keyout "$P/ca.key" -out "$P/ca.pem"
# server_cert NAME SAN: a server certificate signed by the CA.
server_cert() {
	ossl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.csr"
	printf 'subjectAltName=%s\n' "$2" >"$P/$1.ext"
	ossl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
		-CAcreateserial -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem"
}
server_cert right "IP:127.0.0.1,DNS:localhost"
server_cert wrong "DNS:broker.elsewhere.invalid"
ossl req -newkey rsa:2048 -nodes -subj "/CN=$ID" -keyout "$P/client.key" -out "$P/client.csr"
ossl x509 -req -in "$P/client.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
	-CAcreateserial -days 2 -out "$P/client.pem"
chmod 755 "$P"; chmod 644 "$P"/*
check "test PKI created" [ -s "$P/right.pem" ] && [ -s "$P/client.pem" ]

# tls_broker CERTNAME: a TLS-only broker requiring client certificates.
tls_broker() {
	PORT=$(free_port)
	BROKER_EXTRA="cafile $P/ca.pem
certfile $P/$1.pem
keyfile $P/$1.key
require_certificate true" start_broker ||
		{ not_ok "TLS broker with certificate $1 starts"; done_testing; exit 1; }
	BROKER="ssl://127.0.0.1:$PORT"
}
tls_agent() { # tls_agent NAME [with-ca] [with-cert]
	write_agent_conf "$1" "$1"
	[ "${2:-}" = with-ca ] && echo "ca_file = $P/ca.pem" >>"$T/agent-$1.conf"
	if [ "${3:-}" = with-cert ]; then
		echo "cert_file = $P/client.pem" >>"$T/agent-$1.conf"
		echo "key_file = $P/client.key" >>"$T/agent-$1.conf"
	fi
	agent "$1" report --total 42 >/dev/null
}

tls_broker right
HQ_EXTRA="ca_file = $P/ca.pem
cert_file = $P/client.pem
key_file = $P/client.key" write_hq_conf
start_hq
tls_agent "$ID" with-ca with-cert
printf 'username = %s\npassword = hunter2\n' "$ID" >>"$T/agent-$ID.conf"
"$AGENT" -c "$T/agent-$ID.conf" run --until-acked --timeout 20 2>"$T/agent-tls.log" &
apid=$!
check "the password is not in any process's command line" \
	sh -c "! ps -eo args | grep -v grep | grep -q hunter2"
check "over TLS with a verified server and a client certificate, HQ acknowledges" \
	wait "$apid"
check "HQ stored the report it received over TLS" field_is "$ID" total 42
tls_agent NOCERT with-ca
check "without a client certificate the broker refuses the agent" \
	sh -c "! '$AGENT' -c '$T/agent-NOCERT.conf' run --until-acked --timeout 4 2>/dev/null"
tls_agent NOCA
echo "cert_file = $P/client.pem" >>"$T/agent-NOCA.conf"
echo "key_file = $P/client.key" >>"$T/agent-NOCA.conf"
sed -i "s|^broker = .*|broker = ssl://127.0.0.1:$PORT|" "$T/agent-NOCA.conf"
echo "ca_file = /etc/ssl/certs/ca-certificates.crt" >>"$T/agent-NOCA.conf"
check "a server certificate from a CA we do not trust is refused" \
	sh -c "! '$AGENT' -c '$T/agent-NOCA.conf' run --until-acked --timeout 4 2>/dev/null"
stop_hq
stop_broker

tls_broker wrong
tls_agent WRONG with-ca with-cert
tlspub() { mosquitto_pub -p "$PORT" --cafile "$P/ca.pem" --cert "$P/client.pem" \
	--key "$P/client.key" -t probe -m x "$@" 2>/dev/null; }
check "control: that broker serves TLS to a client that skips the name check" tlspub --insecure
notls() { ! tlspub; }
check "control: mosquitto_pub checking the name is refused too" notls
check "a trusted certificate for another host name is refused" \
	sh -c "! '$AGENT' -c '$T/agent-WRONG.conf' run --until-acked --timeout 4 2>'$T/wrong.err'"
check "the password never reaches a log" sh -c "! grep -q hunter2 '$T'/*.log '$T/wrong.err'"

done_testing
