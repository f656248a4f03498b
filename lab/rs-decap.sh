#!/bin/bash
# rs-decap.sh - attach / detach / inspect the TUN real-server helper
# (src/rshelper/lvs_decap.bpf.c) on one interface of the current network
# namespace: a tc clsact ingress BPF program that strips IPIP, IPv6-in-IPv6,
# GUE and GRE headers from packets addressed to this host, in place of the
# ipip / ip6_tunnel / fou / ip_gre modules this kernel lacks.
#
#   rs-decap.sh [--netns NS] attach DEV [--obj FILE] [--gue-port N] [--addr A]... [--any-dst]
#   rs-decap.sh detach DEV
#   rs-decap.sh stats  DEV
#   rs-decap.sh build  [--obj FILE]        (compile the object only)
#
# Run it inside the real server's namespace (ip netns exec NS lab/rs-decap.sh
# ...), or pass --netns NS first.  attach compiles the object when it is
# missing or older than its source.  The addresses the program accepts as
# outer destination default to the device's global IPv4/IPv6 addresses;
# --any-dst accepts any destination on frames sent to our MAC.  --gue-port
# 0 turns GUE off (default 6080, the port the lvsd tests use).
#
# The program is configured through its maps after tc loads it: tc prints
# the program id, bpftool names its maps, and we write them by id (BPF maps
# are not per-namespace, so names alone would be ambiguous across servers).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SRC="$REPO/src/rshelper/lvs_decap.bpf.c"
OBJ="${LVS_DECAP_OBJ:-$REPO/build/lvs_decap.bpf.o}"
PY=/usr/bin/python3
PREF=49		# tc filter priority we own on the device
GUE_PORT=6080
ANY_DST=0
ADDRS=()

die() { echo "rs-decap: $*" >&2; exit 1; }

usage() {
	sed -n '8,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

if [ "${1:-}" = "--netns" ]; then
	[ $# -ge 2 ] || usage
	ns=$2
	shift 2
	exec ip netns exec "$ns" "$0" "$@"
fi

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
dev=""
if [ "$cmd" != build ]; then
	dev=${1:-}
	[ -n "$dev" ] || usage
	shift
fi
while [ $# -gt 0 ]; do
	case $1 in
	--obj) OBJ=$2; shift 2 ;;
	--gue-port) GUE_PORT=$2; shift 2 ;;
	--addr) ADDRS+=("$2"); shift 2 ;;
	--any-dst) ANY_DST=1; shift ;;
	*) usage ;;
	esac
done
case $GUE_PORT in ''|*[!0-9]*) die "bad --gue-port $GUE_PORT" ;; esac
[ "$GUE_PORT" -le 65535 ] || die "bad --gue-port $GUE_PORT"

# The Makefile-equivalent rule: clang -O2 -g -target bpf, with the multiarch
# include directory for <asm/types.h> (Debian keeps it out of the default
# path for the bpf target).
build_obj() {
	if [ -f "$OBJ" ] && [ "$OBJ" -nt "$SRC" ]; then
		return 0
	fi
	command -v clang >/dev/null || die "clang is missing (apt-get install clang)"
	[ -f /usr/include/bpf/bpf_helpers.h ] || die "libbpf-dev is missing"
	mkdir -p "$(dirname "$OBJ")"
	clang -O2 -g -Wall -Wextra -Werror -target bpf \
		-I"/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)" \
		-c "$SRC" -o "$OBJ.tmp.$$"
	mv -f "$OBJ.tmp.$$" "$OBJ"
}

has_clsact() { [[ $'\n'$(tc qdisc show dev "$dev" 2>/dev/null) == *$'\n'"qdisc clsact"* ]]; }

# Program id of our filter on $dev ingress, or nothing.
prog_id() {
	local out
	out=$(tc filter show dev "$dev" ingress pref $PREF 2>/dev/null) || true
	out=$(sed -n 's/.* id \([0-9][0-9]*\).*/\1/p' <<<"$out")
	echo "${out%%$'\n'*}"
}

# Map id by name among the maps the program uses.
map_id() {
	local want=$1 pid=$2 ids m
	ids=$(bpftool prog show id "$pid" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p')
	for m in ${ids//,/ }; do
		# a variable, not `| grep -q`: with pipefail, grep's early exit
		# fails the pipeline through bpftool's SIGPIPE
		if [[ $(bpftool map show id "$m") == *"name $want "* ]]; then
			echo "$m"
			return 0
		fi
	done
	return 1
}

# "a.b.c.d" or IPv6 -> 16 hex bytes (IPv4 as ::ffff:a.b.c.d), space separated.
addr_hex() {
	"$PY" - "$1" <<'EOF'
import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1])
if a.version == 4:
    a = ipaddress.IPv6Address("::ffff:" + str(a))
print(" ".join("%02x" % b for b in a.packed))
EOF
}

do_attach() {
	command -v bpftool >/dev/null || die "bpftool is missing (apt-get install bpftool)"
	ip link show dev "$dev" >/dev/null 2>&1 || die "no device $dev"
	build_obj
	if [ ${#ADDRS[@]} -eq 0 ] && [ "$ANY_DST" = 0 ]; then
		mapfile -t ADDRS < <(ip -o addr show dev "$dev" scope global |
			awk '{ sub("/.*", "", $4); print $4 }')
		[ ${#ADDRS[@]} -gt 0 ] || die "$dev has no global address; pass --addr or --any-dst"
	fi
	has_clsact || tc qdisc add dev "$dev" clsact
	tc filter replace dev "$dev" ingress pref $PREF handle 1 bpf da \
		obj "$OBJ" sec tc
	local pid cfg addrs a flags
	pid=$(prog_id)
	[ -n "$pid" ] || die "filter attached but no program id found"
	cfg=$(map_id lvs_decap_cfg "$pid") || die "map lvs_decap_cfg not found"
	addrs=$(map_id lvs_decap_addrs "$pid") || die "map lvs_decap_addrs not found"
	flags=$ANY_DST
	# struct lvs_decap_cfg { u16 gue_port; u16 flags; u32 pad; } little endian
	bpftool map update id "$cfg" key hex 00 00 00 00 value hex \
		"$(printf %02x $((GUE_PORT & 255)))" "$(printf %02x $((GUE_PORT >> 8)))" \
		"$(printf %02x "$flags")" 00 00 00 00 00
	for a in "${ADDRS[@]}"; do
		# shellcheck disable=SC2046
		bpftool map update id "$addrs" key hex $(addr_hex "$a") value hex 01
	done
	echo "rs-decap: $dev: prog $pid, gue port $GUE_PORT, addresses: ${ADDRS[*]:-any}"
}

do_detach() {
	if [[ $(tc filter show dev "$dev" ingress pref $PREF 2>/dev/null) == *bpf* ]]; then
		tc filter del dev "$dev" ingress pref $PREF
	fi
	# Remove clsact only when nothing else is attached to it.
	if has_clsact &&
		[ -z "$(tc filter show dev "$dev" ingress)" ] &&
		[ -z "$(tc filter show dev "$dev" egress)" ]; then
		tc qdisc del dev "$dev" clsact
	fi
}

do_stats() {
	local pid st
	pid=$(prog_id)
	[ -n "$pid" ] || die "nothing attached to $dev"
	st=$(map_id lvs_decap_stats "$pid") || die "map lvs_decap_stats not found"
	bpftool -j map dump id "$st" | "$PY" -c '
import json, sys
names = ["ipip4", "ipip6", "gue", "gre", "not_ours", "unsupported", "adjust_failed"]
for e in json.load(sys.stdin):
    k = e.get("key")
    k = int(k if isinstance(k, int) else int.from_bytes(bytes(int(x, 16) for x in k), "little"))
    vals = e.get("values") or e.get("formatted", {}).get("values", [])
    tot = 0
    for v in vals:
        v = v.get("value")
        tot += v if isinstance(v, int) else int.from_bytes(bytes(int(x, 16) for x in v), "little")
    if k < len(names):
        print("%-14s %d" % (names[k], tot))
'
}

case $cmd in
attach) do_attach ;;
detach) do_detach ;;
stats) do_stats ;;
build) build_obj; echo "$OBJ" ;;
*) usage ;;
esac
