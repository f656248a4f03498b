#!/bin/sh
# replay.sh - show the lvsd forwarding core at work, with no network needed.
#
#   sh demo/replay.sh build/lvs-pcap
#
# 300 short HTTP connections from varied clients to the NAT service
# 10.0.0.1:80 (wrr over three real servers, weights 3:2:1) are generated
# with scapy, together with the servers' replies, replayed through lvs-pcap
# (the daemon's pipeline, fed from a capture), and the result is shown:
# how many connections each real server got, and the first frames in and
# out as tshark decodes them.  Needs python3-scapy and tshark (Debian).
set -eu

tool=${1:-}
if [ -z "$tool" ] || [ ! -x "$tool" ]; then
	echo "usage: sh demo/replay.sh path/to/lvs-pcap" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
for need in "$py" tshark; do
	command -v "$need" >/dev/null 2>&1 || { echo "demo: $need not found" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lvs-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM

cat >"$tmp/rules" <<'EOF'
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 3
-a -t 10.0.0.1:80 -r 192.168.10.2:8080 -m -w 2
-a -t 10.0.0.1:80 -r 192.168.10.3:8080 -m -w 1
EOF
env_args="--mac 02:00:00:00:00:01 --gw 02:00:00:00:00:fe --src 10.0.0.254
	--neigh 192.168.10.1=02:00:00:00:10:01
	--neigh 192.168.10.2=02:00:00:00:10:02
	--neigh 192.168.10.3=02:00:00:00:10:03"

echo "== lvsd demo: NAT service 10.0.0.1:80, wrr, real servers weighted 3:2:1"
sed 's/^/   /' "$tmp/rules"
echo

# Pass 1: the clients' SYNs alone tell which server each connection gets,
# so that pass 2 can have the right server answer.
"$py" "$here/gen_traffic.py" syn "$tmp/syn.pcap"
# shellcheck disable=SC2086
"$tool" -q -r "$tmp/rules" -i "$tmp/syn.pcap" -o "$tmp/syn-out.pcap" $env_args \
	2>"$tmp/pass1.err" || { cat "$tmp/pass1.err" >&2; exit 1; }
"$py" "$here/gen_traffic.py" full "$tmp/syn-out.pcap" "$tmp/in.pcap"

# Pass 2: whole conversations, both directions.
# shellcheck disable=SC2086
"$tool" -r "$tmp/rules" -i "$tmp/in.pcap" -o "$tmp/out.pcap" $env_args \
	>"$tmp/summary" 2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; exit 1; }

echo "== replay: $(sed -n 's/^lvs-pcap: //p' "$tmp/stderr" | head -n 1)"
grep '^lvs-pcap: drop' "$tmp/stderr" | sed 's/^lvs-pcap: /   /' || true
echo
echo "== connections per real server (from lvs-pcap's summary)"
awk '
	/^(TCP|UDP|SCTP|FWM)/ { printf "   service %s %s\n", $2, $3; next }
	/->/ {
		split($0, f, " "); srv = f[2]; w = c = ip = op = "";
		for (i = 3; i <= NF; i++) {
			split($i, kv, "=");
			if (kv[1] == "weight") w = kv[2];
			if (kv[1] == "conns") c = kv[2];
			if (kv[1] == "inpkts") ip = kv[2];
			if (kv[1] == "outpkts") op = kv[2];
		}
		printf "   -> %-20s weight %-2s %4s connections  (%s packets in, %s out)\n",
		    srv, w, c, ip, op;
	}' "$tmp/summary"
echo

excerpt() {
	tshark -n -r "$1" -c "$2" -T fields -E separator=/t \
		-e frame.number -e eth.dst -e ip.src -e ip.dst -e ip.ttl -e _ws.col.Info \
		2>/dev/null |
	awk -F '\t' '{ printf "   %3s  %-17s  %-15s -> %-15s ttl %-3s %s\n", $1, $2, $3, $4, $5, $6 }'
}
header="   no.  dst MAC            IP source          IP destination"
echo "== first frames IN (as the director receives them)"
echo "$header"
excerpt "$tmp/in.pcap" 10
echo
echo "== the same frames OUT (as the director sends them)"
echo "$header"
excerpt "$tmp/out.pcap" 10
echo
echo "   Client -> VIP frames leave for a real server's MAC and address (port"
echo "   8080); the servers' replies leave with the VIP (port 80) as source,"
echo "   toward the gateway's MAC; every TTL is one less."
