#!/bin/bash
# lab.sh - build and tear down the lvsd network-namespace lab: a client, the
# director, a router where the topology needs one, an L2 switch and three
# real servers running nginx, wired for one LVS forwarding method:
#
#   nat  client -- director -- switch -- rs1..3   (servers' gateway: director)
#   dr   client -- router -- switch -- director + rs1..3 (VIP on the servers'
#        lo, arp_ignore=1 / arp_announce=2, servers' gateway: the router)
#   tun  client LAN (client, director, router) ; director -- router ;
#        router -- switch -- rs1..3 (VIP on lo, the decapsulating helper on
#        eth0, replies through the router straight to the client LAN)
#   nat2, dr2  the same as nat / dr with two directors, a hot-standby pair
#        (-dir and -dir2) on shared segments: the VIP (and in nat2 the
#        servers' gateway) belongs to whichever is VRRP master
#
# IPv4 and IPv6 everywhere, documentation prefixes only (lab/README.md has
# the plan and the diagrams).  The director never forwards in the kernel
# (ip_forward=0, IPv6 forwarding=0) and holds no VIP: lvsd does that work.
#
#   lab.sh up nat|dr|tun|nat2|dr2 [--prefix P] [--env FILE] [--no-nginx] [--port2 N]
#   lab.sh down [--prefix P | --env FILE]
#   lab.sh status [--prefix P | --env FILE]
#
# up writes a shell-sourceable env file (default <labdir>/env, and its path
# on stdout) with every name and address a test needs.  Namespaces are named
# <prefix>-cli, -dir, -rtr, -sw, -rs1..3; the per-lab directory
# /tmp/lvslab.<prefix> holds the nginx configs, pid and log files, the
# content and the list of what was made.  down removes exactly that:
# processes by recorded PID (then any process left inside our namespaces,
# found with `ip netns pids`), namespaces by exact name (tc/BPF state goes
# with them), the directory.  down is idempotent; a failed up cleans up what
# it had built.  Every wait is bounded.
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3

# ---- address plan (documentation prefixes: RFC 5737, RFC 2544, RFC 3849) ----
VIP4=203.0.113.10
VIP6=2001:db8:f::10
VIP_PORT=80
CLI_NET4=198.51.100	# client LAN /24
CLI_NET6=2001:db8:1:	# client LAN /64
SRV_NET4=192.0.2	# real-server LAN /24
SRV_NET6=2001:db8:2:	# real-server LAN /64
TRN_NET4=198.18.0	# TUN: director <-> router transit /24 (RFC 2544)
TRN_NET6=2001:db8:3:
CLIENT_HOST=100		# client .100, extra client addresses .101 - .104
CLIENT_EXTRA_HOSTS="101 102 103 104"
GUE_PORT=6080
BIG_SIZE=10485760
NRS=3
DIR_QUEUES=2		# receive / transmit queues of the director's veths

die() { echo "lab: $*" >&2; exit 1; }
log() { [ -n "${LAB_QUIET:-}" ] || echo "lab: $*" >&2; }

usage() {
	sed -n '20,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ---------------------------------------------------------------- helpers --

# Run in a namespace.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Write sysctls (key=value, dotted keys) in one exec.
ns_sysctl() {
	local ns=$1 kv k v script=""
	shift
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		script+="echo $v > /proc/sys/${k//.//};"
	done
	ip netns exec "$ns" sh -ec "$script"
}

# A namespace of ours: created, recorded, lo up, quiet defaults.
mk_ns() {
	local ns=$1
	ip netns add "$ns"
	echo "$ns" >>"$LABDIR/netns"
	ip -n "$ns" link set lo up
	# rp_filter off before any interface exists (new ones copy "default");
	# no DAD, so addresses are usable at once.
	ns_sysctl "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
}

# veth pair from ns1:if1 to ns2:if2, both up, created directly in place
# (nothing appears in the caller's namespace).
# The far end of each director interface is recorded (DIR_PEER_<if>='NS IF'):
# captures there see what crossed the wire, whatever lvsd's I/O driver.
mk_link() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4 q=()
	# the director's links have two queues each way, as a NIC has several:
	# lvsd's AF_XDP driver runs one worker per receive queue
	if [ "$ns1" = "$NS_DIR" ] || [ "$ns2" = "$NS_DIR" ] ||
		{ [ -n "$NS_DIR2" ] && { [ "$ns1" = "$NS_DIR2" ] || [ "$ns2" = "$NS_DIR2" ]; }; }; then
		q=(numtxqueues "$DIR_QUEUES" numrxqueues "$DIR_QUEUES")
	fi
	ip -n "$ns1" link add "$if1" "${q[@]}" type veth peer name "$if2" netns "$ns2" "${q[@]}"
	ip -n "$ns1" link set "$if1" up
	ip -n "$ns2" link set "$if2" up
	if [ ${#q[@]} -gt 0 ]; then
		# frames an XDP program on the director's end sends (XDP_TX,
		# bpf_redirect) are taken by the peer's NAPI, which a veth has only
		# with GRO on (or a program of its own); a NIC needs nothing of this
		local pns=$ns2 pif=$if2
		case $ns2 in "$NS_DIR"|"$NS_DIR2") pns=$ns1 pif=$if1 ;; esac
		ip netns exec "$pns" ethtool -K "$pif" gro on >/dev/null
	fi
	if [ "$ns1" = "$NS_DIR" ]; then setv "DIR_PEER_$if1" "$ns2 $if2"; fi
	if [ "$ns2" = "$NS_DIR" ]; then setv "DIR_PEER_$if2" "$ns1 $if1"; fi
}

# Bridge BR in the switch namespace; ports added with sw_port.
mk_bridge() {
	ip -n "$NS_SW" link add "$1" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$NS_SW" link set "$1" up
}

# Connect ns:if to bridge BR through a switch port named PORT.
sw_port() {
	local br=$1 ns=$2 ifn=$3 port=$4
	mk_link "$ns" "$ifn" "$NS_SW" "$port"
	ip -n "$NS_SW" link set "$port" master "$br"
}

addr4() { ip -n "$1" addr add "$3" dev "$2"; }
addr6() { ip -n "$1" -6 addr add "$3" dev "$2" nodad; }

mac_of() { ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }

# ------------------------------------------------------------- env file --

ENV_LINES=()
setv() { # NAME VALUE: set a shell variable and record it for the env file
	printf -v "$1" '%s' "$2"
	ENV_LINES+=("$1='$2'")
}

write_env() {
	local tmp="$ENVFILE.tmp.$$"
	{
		echo "# lvsd lab ($LAB_MODE), written by lab/lab.sh up; source it."
		printf '%s\n' "${ENV_LINES[@]}"
	} >"$tmp"
	mv -f "$tmp" "$ENVFILE"
}

# ---------------------------------------------------------------- nginx --

mk_content() {
	"$PY" - "$LABDIR/big" "$BIG_SIZE" <<'EOF'
import random, sys
# Fixed seed: the same bytes in every lab, so a checksum is comparable.
open(sys.argv[1], "wb").write(random.Random(20240601).randbytes(int(sys.argv[2])))
EOF
	BIG_SHA=$(sha256sum "$LABDIR/big" | cut -d' ' -f1)
}

# start_nginx N: server N in its namespace, its own config / pid / logs.
start_nginx() {
	local n=$1 ns d
	ns=${NS_RS[$n]}
	d="$LABDIR/rs$n"
	# --port2 N: the same site on a second port too (plain HTTP), for
	# services that group ports (firewall marks, port-zero persistence)
	local listen2=""
	[ -z "$PORT2" ] || listen2="listen $PORT2 backlog=4096; listen [::]:$PORT2 ipv6only=on backlog=4096;"
	mkdir -p "$d/www" "$d/tmp"
	printf 'server%d\n' "$n" >"$d/www/index.html"
	cat >"$d/nginx.conf" <<EOF
# lvsd lab server$n ($ns)
user root;
worker_processes 1;
daemon on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
	access_log $d/access.log combined buffer=64k flush=1s;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	default_type text/plain;
	server {
		# wildcard: the RIP, and the VIP on lo for DR / TUN
		listen 80 default_server backlog=4096;
		listen [::]:80 ipv6only=on default_server backlog=4096;
		$listen2
		server_name server$n;
		root $d/www;
		location = / { try_files /index.html =404; }
		location = /big {
			default_type application/octet-stream;
			alias $LABDIR/big;
		}
		# for health checks
		location = /health { return 200 "ok\\n"; }
		location = /broken { return 500 "broken\\n"; }
	}
}
EOF
	nsx "$ns" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" ||
		die "nginx failed in $ns (see $d/error.log)"
	local i pid=""
	for i in $(seq 1 50); do
		[ -s "$d/nginx.pid" ] && pid=$(cat "$d/nginx.pid") && break
		sleep 0.1
	done
	[ -n "$pid" ] || die "nginx in $ns wrote no pid file"
	echo "$pid $d/nginx.conf" >>"$LABDIR/pids"
	NGINX_PIDS+="${NGINX_PIDS:+ }$pid"
	for i in $(seq 1 50); do
		[ -n "$(nsx "$ns" ss -Hltn 'sport = :80')" ] && return 0
		sleep 0.1
	done
	die "nginx in $ns is not listening on :80"
}

# --------------------------------------------------------------- pieces --

# Common namespaces; a router only for dr / tun.
mk_namespaces() {
	local n
	NS_CLI=$P-cli NS_DIR=$P-dir NS_SW=$P-sw NS_RTR="" NS_DIR2=""
	case $LAB_MODE in nat|nat2) ;; *) NS_RTR=$P-rtr ;; esac
	case $LAB_MODE in nat2|dr2) NS_DIR2=$P-dir2 ;; esac
	NS_RS=("")
	for n in $(seq 1 $NRS); do NS_RS+=("$P-rs$n"); done
	for ns in "$NS_CLI" "$NS_DIR" $NS_DIR2 "$NS_SW" $NS_RTR "${NS_RS[@]:1}"; do
		mk_ns "$ns"
	done
	ns_sysctl "$NS_SW" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	# The director: the kernel forwards nothing, lvsd does.
	ns_sysctl "$NS_DIR" net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	[ -z "$NS_DIR2" ] || ns_sysctl "$NS_DIR2" net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	# Connecting sides reuse TIME_WAIT ports (benchmarks open many).
	ns_sysctl "$NS_CLI" net.ipv4.tcp_tw_reuse=1 "net.ipv4.ip_local_port_range=10000 60999"
	if [ -n "$NS_RTR" ]; then
		ns_sysctl "$NS_RTR" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	fi
}

# Client: eth0 on the client LAN, its address plus extras, a route to the VIP
# via $1 / $2 and a default route via $3 / $4 (may equal the first pair).
mk_client() {
	local h
	addr4 "$NS_CLI" eth0 "$CLI_NET4.$CLIENT_HOST/24"
	addr6 "$NS_CLI" eth0 "$CLI_NET6:$CLIENT_HOST/64"
	for h in $CLIENT_EXTRA_HOSTS; do
		addr4 "$NS_CLI" eth0 "$CLI_NET4.$h/24"
		addr6 "$NS_CLI" eth0 "$CLI_NET6:$h/64"
	done
	ip -n "$NS_CLI" route add "$VIP4/32" via "$1"
	ip -n "$NS_CLI" -6 route add "$VIP6/128" via "$2"
	ip -n "$NS_CLI" route add default via "$3"
	ip -n "$NS_CLI" -6 route add default via "$4"
}

# Real servers on the server LAN (bridge br0), default route via $1 / $2;
# with $3 = vip, the VIP on lo and the ARP settings of LVS DR / TUN.
mk_servers() {
	local n ns
	for n in $(seq 1 $NRS); do
		ns=${NS_RS[$n]}
		if [ "${3:-}" = vip ]; then
			ns_sysctl "$ns" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
				net.ipv4.conf.default.arp_ignore=1 net.ipv4.conf.default.arp_announce=2
		fi
		sw_port br0 "$ns" eth0 "p-rs$n"
		addr4 "$ns" eth0 "$SRV_NET4.1$n/24"
		addr6 "$ns" eth0 "$SRV_NET6:1$n/64"
		ip -n "$ns" route add default via "$1"
		ip -n "$ns" -6 route add default via "$2"
		if [ "${3:-}" = vip ]; then
			ip -n "$ns" addr add "$VIP4/32" dev lo
			ip -n "$ns" -6 addr add "$VIP6/128" dev lo
		fi
	done
}

build_nat() {
	mk_bridge br0
	sw_port br0 "$NS_DIR" eth1 p-dir
	mk_link "$NS_CLI" eth0 "$NS_DIR" eth0
	addr4 "$NS_DIR" eth0 "$CLI_NET4.1/24"
	addr6 "$NS_DIR" eth0 "$CLI_NET6:1/64"
	addr4 "$NS_DIR" eth1 "$SRV_NET4.1/24"
	addr6 "$NS_DIR" eth1 "$SRV_NET6:1/64"
	mk_client "$CLI_NET4.1" "$CLI_NET6:1" "$CLI_NET4.1" "$CLI_NET6:1"
	mk_servers "$SRV_NET4.1" "$SRV_NET6:1"
	setv DIR_IFS "eth0 eth1"
	setv DIR_IF_CLIENT eth0
	setv DIR_IF_SERVER eth1
	setv DIR_CLIENT_IP4 "$CLI_NET4.1"
	setv DIR_CLIENT_IP6 "$CLI_NET6:1"
	setv DIR_SERVER_IP4 "$SRV_NET4.1"
	setv DIR_SERVER_IP6 "$SRV_NET6:1"
	setv RS_GW4 "$SRV_NET4.1"
	setv RS_GW6 "$SRV_NET6:1"
	setv CLIENT_GW4 "$CLI_NET4.1"
	setv CLIENT_GW6 "$CLI_NET6:1"
}

build_dr() {
	mk_bridge br0
	mk_link "$NS_CLI" eth0 "$NS_RTR" eth0
	sw_port br0 "$NS_RTR" eth1 p-rtr
	sw_port br0 "$NS_DIR" eth0 p-dir
	addr4 "$NS_RTR" eth0 "$CLI_NET4.1/24"
	addr6 "$NS_RTR" eth0 "$CLI_NET6:1/64"
	addr4 "$NS_RTR" eth1 "$SRV_NET4.254/24"
	addr6 "$NS_RTR" eth1 "$SRV_NET6:254/64"
	addr4 "$NS_DIR" eth0 "$SRV_NET4.1/24"
	addr6 "$NS_DIR" eth0 "$SRV_NET6:1/64"
	ip -n "$NS_DIR" route add default via "$SRV_NET4.254"
	ip -n "$NS_DIR" -6 route add default via "$SRV_NET6:254"
	# The router sends VIP traffic to the director.
	ip -n "$NS_RTR" route add "$VIP4/32" via "$SRV_NET4.1"
	ip -n "$NS_RTR" -6 route add "$VIP6/128" via "$SRV_NET6:1"
	mk_client "$CLI_NET4.1" "$CLI_NET6:1" "$CLI_NET4.1" "$CLI_NET6:1"
	mk_servers "$SRV_NET4.254" "$SRV_NET6:254" vip
	setv DIR_IFS "eth0"
	setv DIR_IF_CLIENT eth0
	setv DIR_IF_SERVER eth0
	setv DIR_CLIENT_IP4 "$SRV_NET4.1"
	setv DIR_CLIENT_IP6 "$SRV_NET6:1"
	setv DIR_SERVER_IP4 "$SRV_NET4.1"
	setv DIR_SERVER_IP6 "$SRV_NET6:1"
	setv RTR_CLIENT_IP4 "$CLI_NET4.1"
	setv RTR_CLIENT_IP6 "$CLI_NET6:1"
	setv RTR_SERVER_IP4 "$SRV_NET4.254"
	setv RTR_SERVER_IP6 "$SRV_NET6:254"
	setv RS_GW4 "$SRV_NET4.254"
	setv RS_GW6 "$SRV_NET6:254"
	setv CLIENT_GW4 "$CLI_NET4.1"
	setv CLIENT_GW6 "$CLI_NET6:1"
}

# Two directors, a hot-standby pair: both on one client-side segment (bridge
# brc) and one server-side segment (br0), addresses .2 and .3; the VIP and
# the real servers' gateway (.1) belong to whichever is VRRP master, so the
# client reaches the VIP on-link (it ARPs for it).
build_nat2() {
	local k ns
	mk_bridge br0
	mk_bridge brc
	sw_port brc "$NS_CLI" eth0 p-cli
	for k in 1 2; do
		ns=$NS_DIR; [ $k = 1 ] || ns=$NS_DIR2
		sw_port brc "$ns" eth0 "p-d${k}c"
		sw_port br0 "$ns" eth1 "p-d${k}s"
		addr4 "$ns" eth0 "$CLI_NET4.$((k + 1))/24"
		addr6 "$ns" eth0 "$CLI_NET6:$((k + 1))/64"
		addr4 "$ns" eth1 "$SRV_NET4.$((k + 1))/24"
		addr6 "$ns" eth1 "$SRV_NET6:$((k + 1))/64"
	done
	addr4 "$NS_CLI" eth0 "$CLI_NET4.$CLIENT_HOST/24"
	addr6 "$NS_CLI" eth0 "$CLI_NET6:$CLIENT_HOST/64"
	for k in $CLIENT_EXTRA_HOSTS; do
		addr4 "$NS_CLI" eth0 "$CLI_NET4.$k/24"
		addr6 "$NS_CLI" eth0 "$CLI_NET6:$k/64"
	done
	ip -n "$NS_CLI" route add "$VIP4/32" dev eth0
	ip -n "$NS_CLI" -6 route add "$VIP6/128" dev eth0
	mk_servers "$SRV_NET4.1" "$SRV_NET6:1"
	setv DIR_IFS "eth0 eth1"
	setv DIR_IF_CLIENT eth0
	setv DIR_IF_SERVER eth1
	setv DIR_CLIENT_IP4 "$CLI_NET4.2"
	setv DIR_CLIENT_IP6 "$CLI_NET6:2"
	setv DIR_SERVER_IP4 "$SRV_NET4.2"
	setv DIR_SERVER_IP6 "$SRV_NET6:2"
	setv DIR2_CLIENT_IP4 "$CLI_NET4.3"
	setv DIR2_CLIENT_IP6 "$CLI_NET6:3"
	setv DIR2_SERVER_IP4 "$SRV_NET4.3"
	setv DIR2_SERVER_IP6 "$SRV_NET6:3"
	setv RS_GW4 "$SRV_NET4.1"
	setv RS_GW6 "$SRV_NET6:1"
	setv CLIENT_GW4 ""
	setv CLIENT_GW6 ""
}

# The DR pair: both directors on the server segment (.1 and .2), the router
# reaches the VIP on-link there; real servers as in dr.
build_dr2() {
	local k ns
	mk_bridge br0
	mk_link "$NS_CLI" eth0 "$NS_RTR" eth0
	sw_port br0 "$NS_RTR" eth1 p-rtr
	addr4 "$NS_RTR" eth0 "$CLI_NET4.1/24"
	addr6 "$NS_RTR" eth0 "$CLI_NET6:1/64"
	addr4 "$NS_RTR" eth1 "$SRV_NET4.254/24"
	addr6 "$NS_RTR" eth1 "$SRV_NET6:254/64"
	for k in 1 2; do
		ns=$NS_DIR; [ $k = 1 ] || ns=$NS_DIR2
		sw_port br0 "$ns" eth0 "p-d$k"
		addr4 "$ns" eth0 "$SRV_NET4.$k/24"
		addr6 "$ns" eth0 "$SRV_NET6:$k/64"
		ip -n "$ns" route add default via "$SRV_NET4.254"
		ip -n "$ns" -6 route add default via "$SRV_NET6:254"
	done
	ip -n "$NS_RTR" route add "$VIP4/32" dev eth1
	ip -n "$NS_RTR" -6 route add "$VIP6/128" dev eth1
	mk_client "$CLI_NET4.1" "$CLI_NET6:1" "$CLI_NET4.1" "$CLI_NET6:1"
	mk_servers "$SRV_NET4.254" "$SRV_NET6:254" vip
	setv DIR_IFS "eth0"
	setv DIR_IF_CLIENT eth0
	setv DIR_IF_SERVER eth0
	setv DIR_CLIENT_IP4 "$SRV_NET4.1"
	setv DIR_CLIENT_IP6 "$SRV_NET6:1"
	setv DIR_SERVER_IP4 "$SRV_NET4.1"
	setv DIR_SERVER_IP6 "$SRV_NET6:1"
	setv DIR2_CLIENT_IP4 "$SRV_NET4.2"
	setv DIR2_CLIENT_IP6 "$SRV_NET6:2"
	setv DIR2_SERVER_IP4 "$SRV_NET4.2"
	setv DIR2_SERVER_IP6 "$SRV_NET6:2"
	setv RTR_CLIENT_IP4 "$CLI_NET4.1"
	setv RTR_CLIENT_IP6 "$CLI_NET6:1"
	setv RTR_SERVER_IP4 "$SRV_NET4.254"
	setv RTR_SERVER_IP6 "$SRV_NET6:254"
	setv RS_GW4 "$SRV_NET4.254"
	setv RS_GW6 "$SRV_NET6:254"
	setv CLIENT_GW4 "$CLI_NET4.1"
	setv CLIENT_GW6 "$CLI_NET6:1"
}

build_tun() {
	local n obj
	mk_bridge br0		# server LAN
	mk_bridge br1		# client LAN
	sw_port br1 "$NS_CLI" eth0 p-cli
	sw_port br1 "$NS_DIR" eth0 p-dir
	sw_port br1 "$NS_RTR" eth2 p-rtrc
	mk_link "$NS_DIR" eth1 "$NS_RTR" eth0
	sw_port br0 "$NS_RTR" eth1 p-rtr
	addr4 "$NS_DIR" eth0 "$CLI_NET4.1/24"
	addr6 "$NS_DIR" eth0 "$CLI_NET6:1/64"
	addr4 "$NS_DIR" eth1 "$TRN_NET4.1/24"
	addr6 "$NS_DIR" eth1 "$TRN_NET6:1/64"
	ip -n "$NS_DIR" route add "$SRV_NET4.0/24" via "$TRN_NET4.2"
	ip -n "$NS_DIR" -6 route add "$SRV_NET6:/64" via "$TRN_NET6:2"
	addr4 "$NS_RTR" eth0 "$TRN_NET4.2/24"
	addr6 "$NS_RTR" eth0 "$TRN_NET6:2/64"
	addr4 "$NS_RTR" eth1 "$SRV_NET4.254/24"
	addr6 "$NS_RTR" eth1 "$SRV_NET6:254/64"
	addr4 "$NS_RTR" eth2 "$CLI_NET4.254/24"
	addr6 "$NS_RTR" eth2 "$CLI_NET6:254/64"
	ip -n "$NS_RTR" route add "$VIP4/32" via "$TRN_NET4.1"
	ip -n "$NS_RTR" -6 route add "$VIP6/128" via "$TRN_NET6:1"
	# VIP via the director; everything else (none needed) via the router.
	mk_client "$CLI_NET4.1" "$CLI_NET6:1" "$CLI_NET4.254" "$CLI_NET6:254"
	mk_servers "$SRV_NET4.254" "$SRV_NET6:254" vip
	obj=${LVS_DECAP_OBJ:-$REPO/build/lvs_decap.bpf.o}
	for n in $(seq 1 $NRS); do
		LAB_QUIET=1 LVS_DECAP_OBJ="$obj" nsx "${NS_RS[$n]}" "$HERE/rs-decap.sh" attach eth0 \
			--gue-port "$GUE_PORT" --addr "$SRV_NET4.1$n" --addr "$SRV_NET6:1$n" >&2
	done
	setv DIR_IFS "eth0 eth1"
	setv DIR_IF_CLIENT eth0
	setv DIR_IF_SERVER eth1
	setv DIR_CLIENT_IP4 "$CLI_NET4.1"
	setv DIR_CLIENT_IP6 "$CLI_NET6:1"
	setv DIR_SERVER_IP4 "$TRN_NET4.1"
	setv DIR_SERVER_IP6 "$TRN_NET6:1"
	setv DIR_TUN_SRC4 "$TRN_NET4.1"
	setv DIR_TUN_SRC6 "$TRN_NET6:1"
	setv RTR_DIR_IP4 "$TRN_NET4.2"
	setv RTR_DIR_IP6 "$TRN_NET6:2"
	setv RTR_SERVER_IP4 "$SRV_NET4.254"
	setv RTR_SERVER_IP6 "$SRV_NET6:254"
	setv RTR_CLIENT_IP4 "$CLI_NET4.254"
	setv RTR_CLIENT_IP6 "$CLI_NET6:254"
	setv RS_GW4 "$SRV_NET4.254"
	setv RS_GW6 "$SRV_NET6:254"
	setv CLIENT_GW4 "$CLI_NET4.254"
	setv CLIENT_GW6 "$CLI_NET6:254"
	setv TUN_GUE_PORT "$GUE_PORT"
	setv DECAP_OBJ "$obj"
}

# ----------------------------------------------------------------- up --

UP_DONE=0
cleanup_failed_up() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$UP_DONE" != 1 ]; then
		echo "lab: up failed (rc $rc); removing what was built" >&2
		do_down || true
		[ "$rc" != 0 ] || rc=1
	fi
	exit "$rc"
}

do_up() {
	local n f
	case $LAB_MODE in nat|dr|tun|nat2|dr2) ;; *) usage ;; esac
	for f in ip tc nginx ss sha256sum; do
		command -v $f >/dev/null || die "$f is missing (mk/deps.sh installs it)"
	done
	[ -x "$PY" ] || die "$PY is missing"
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	[ ! -e "$LABDIR" ] || die "$LABDIR exists: lab '$P' is up or half-removed; run: $0 down --prefix $P"
	mkdir -p "$LABDIR"
	chmod 755 "$LABDIR"
	: >"$LABDIR/netns"
	: >"$LABDIR/pids"
	trap cleanup_failed_up EXIT
	trap 'exit 130' INT TERM
	[ -n "$ENVFILE" ] || ENVFILE="$LABDIR/env"
	echo "$ENVFILE" >"$LABDIR/envfile"
	log "up $LAB_MODE prefix $P"

	mk_namespaces
	setv LAB_MODE "$LAB_MODE"
	setv LAB_PREFIX "$P"
	setv LAB_DIR "$LABDIR"
	setv NS_CLIENT "$NS_CLI"
	setv NS_DIRECTOR "$NS_DIR"
	setv NS_DIRECTOR2 "$NS_DIR2"
	setv NS_ROUTER "$NS_RTR"
	setv NS_SWITCH "$NS_SW"
	setv NS_SERVERS "${NS_RS[*]:1}"
	setv NS_ALL "$(tr '\n' ' ' <"$LABDIR/netns" | sed 's/ $//')"
	"build_$LAB_MODE"

	NGINX_PIDS=""
	if [ "$WITH_NGINX" = 1 ]; then
		mk_content
		for n in $(seq 1 $NRS); do start_nginx "$n"; done
	else
		BIG_SHA=""
	fi

	setv VIP4 "$VIP4"
	setv VIP6 "$VIP6"
	setv VIP_PORT "$VIP_PORT"
	setv CLIENT_IF eth0
	setv CLIENT_IP4 "$CLI_NET4.$CLIENT_HOST"
	setv CLIENT_IP6 "$CLI_NET6:$CLIENT_HOST"
	setv CLIENT_EXTRA4 "$(for h in $CLIENT_EXTRA_HOSTS; do printf '%s ' "$CLI_NET4.$h"; done | sed 's/ $//')"
	setv CLIENT_EXTRA6 "$(for h in $CLIENT_EXTRA_HOSTS; do printf '%s ' "$CLI_NET6:$h"; done | sed 's/ $//')"
	setv CLIENT_MAC "$(mac_of "$NS_CLI" eth0)"
	setv CLIENT_NET4 "$CLI_NET4.0/24"
	setv CLIENT_NET6 "$CLI_NET6:/64"
	setv SERVER_NET4 "$SRV_NET4.0/24"
	setv SERVER_NET6 "$SRV_NET6:/64"
	local i rips4="" rips6="" names="" macs=""
	for i in $(seq 1 $NRS); do
		setv "RS${i}_NS" "${NS_RS[$i]}"
		setv "RS${i}_NAME" "server$i"
		setv "RS${i}_IF" eth0
		setv "RS${i}_IP4" "$SRV_NET4.1$i"
		setv "RS${i}_IP6" "$SRV_NET6:1$i"
		setv "RS${i}_MAC" "$(mac_of "${NS_RS[$i]}" eth0)"
		rips4+="${rips4:+ }$SRV_NET4.1$i"
		rips6+="${rips6:+ }$SRV_NET6:1$i"
		names+="${names:+ }server$i"
		macs+="${macs:+ }$(mac_of "${NS_RS[$i]}" eth0)"
	done
	setv RIPS4 "$rips4"
	setv RIPS6 "$rips6"
	setv RS_NAMES "$names"
	setv RS_MACS "$macs"
	for f in $DIR_IFS; do
		setv "DIR_MAC_$f" "$(mac_of "$NS_DIR" "$f")"
		[ -z "$NS_DIR2" ] || setv "DIR2_MAC_$f" "$(mac_of "$NS_DIR2" "$f")"
	done
	if [ -n "$NS_RTR" ]; then
		for f in eth0 eth1 eth2; do
			ip -n "$NS_RTR" link show dev "$f" >/dev/null 2>&1 &&
				setv "RTR_MAC_$f" "$(mac_of "$NS_RTR" "$f")"
		done
	fi
	setv NGINX_PIDS "$NGINX_PIDS"
	setv BIG_PATH /big
	setv BIG_SIZE "$BIG_SIZE"
	setv BIG_SHA256 "$BIG_SHA"
	setv LAB_ENV "$ENVFILE"
	write_env
	UP_DONE=1
	trap - EXIT INT TERM
	log "up: env $ENVFILE"
	echo "$ENVFILE"
}

# --------------------------------------------------------------- down --

# Is PID alive?  (A zombie counts as gone.)
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# TERM the PIDs, wait up to 3 s, KILL survivors, wait up to 2 s.
stop_pids() {
	local p i left
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	for i in $(seq 1 30); do
		left=""
		for p in "$@"; do alive "$p" && left+=" $p"; done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null || true
	for i in $(seq 1 20); do
		left=""
		for p in "$@"; do alive "$p" && left+=" $p"; done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "lab: processes still alive:$left" >&2
}

do_down() {
	local namespaces="" ns pid conf rest pids=() n f
	if [ -f "$LABDIR/netns" ]; then
		namespaces=$(cat "$LABDIR/netns")
	fi
	# Without a record (a lost lab dir), the exact names this prefix uses.
	if [ -z "$namespaces" ] && [ -n "$P" ]; then
		for ns in cli dir rtr sw $(seq -f 'rs%g' 1 $NRS); do
			[ -e "/run/netns/$P-$ns" ] && namespaces+=" $P-$ns"
		done
	fi
	# nginx masters by recorded PID, if the PID still runs our config.
	if [ -f "$LABDIR/pids" ]; then
		while read -r pid conf rest; do
			[ -n "$pid" ] || continue
			# (no `| grep -q` anywhere: with pipefail, grep's early exit
			# can fail the pipeline through the writer's SIGPIPE)
			if alive "$pid" && [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"$conf"* ]]; then
				pids+=("$pid")
			fi
		done <"$LABDIR/pids"
	fi
	stop_pids "${pids[@]}"
	# Whatever else still runs inside our namespaces (lvsd, socat, a test's
	# leftovers): those PIDs are ours by construction.
	pids=()
	for ns in $namespaces; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$pid"); done
	done
	stop_pids "${pids[@]}"
	for ns in $namespaces; do
		if [ -e "/run/netns/$ns" ]; then
			ip netns del "$ns" || echo "lab: could not delete namespace $ns" >&2
		fi
	done
	# The env file, if it is the one this lab wrote.
	if [ -f "$LABDIR/envfile" ]; then
		f=$(cat "$LABDIR/envfile")
		if [ -f "$f" ] && grep -qx "LAB_PREFIX='$P'" "$f"; then
			rm -f "$f"
		fi
	fi
	case $LABDIR in
	/tmp/lvslab.?*) rm -rf "$LABDIR" ;;
	esac
	log "down: prefix $P${namespaces:+, removed$(echo " $namespaces" | tr '\n' ' ')}"
}

do_status() {
	local ns
	[ -d "$LABDIR" ] || { echo "lab $P: not up"; return 1; }
	echo "lab $P ($LABDIR):"
	while read -r ns; do
		if [ -e "/run/netns/$ns" ]; then
			echo "  $ns: $(ip netns pids "$ns" | wc -l) processes"
		else
			echo "  $ns: missing"
		fi
	done <"$LABDIR/netns"
}

# --------------------------------------------------------------- main --

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
LAB_MODE=""
if [ "$cmd" = up ]; then
	LAB_MODE=${1:-}
	[ -n "$LAB_MODE" ] || usage
	shift
fi
P=""
ENVFILE=""
WITH_NGINX=1
PORT2=""
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) P=${2:-}; shift 2 ;;
	--env) ENVFILE=${2:-}; shift 2 ;;
	--no-nginx) WITH_NGINX=0; shift ;;
	--port2) PORT2=${2:-}; shift 2
		[[ $PORT2 =~ ^[0-9]{1,5}$ ]] && [ "$PORT2" != 80 ] || die "bad --port2 '$PORT2'" ;;
	*) usage ;;
	esac
done
# down --env FILE: the prefix is in the file.
if [ -z "$P" ] && [ -n "$ENVFILE" ] && [ "$cmd" != up ]; then
	[ -f "$ENVFILE" ] || { log "no env file $ENVFILE: nothing to do"; exit 0; }
	P=$(sed -n "s/^LAB_PREFIX='\(.*\)'$/\1/p" "$ENVFILE")
	[ -n "$P" ] || die "no LAB_PREFIX in $ENVFILE"
fi
if [ -z "$P" ]; then
	[ "$cmd" = up ] || die "$cmd needs --prefix P or --env FILE"
	P="lvl$$"
fi
# Names must stay short and plain: they become paths and netns names.
[[ $P =~ ^[A-Za-z0-9][A-Za-z0-9_.]{0,23}$ ]] || die "bad prefix '$P' (letters, digits, _ . ; at most 24)"
LABDIR=/tmp/lvslab.$P

case $cmd in
up) do_up ;;
down) do_down ;;
status) do_status ;;
*) usage ;;
esac
