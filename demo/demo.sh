#!/bin/sh
# demo.sh - lvsd in front of three real nginx servers, in a network-namespace
# lab on this machine.
#
#   sh demo/demo.sh BUILD_DIR
#
# Builds the NAT lab (lab/lab.sh: client, director, three servers), starts
# lvsd on the director's interfaces, configures a wrr service 3:2:1 with
# lvsadm, sends 120 HTTP requests (a new connection each) with curl from the
# client, prints which server answered how often and `lvsadm -Ln --stats`,
# then tears everything down (also on failure or Ctrl-C).  Needs root.
set -eu

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
lvsd="$build/lvsd"
lvsadm="$build/lvsadm"
for b in "$lvsd" "$lvsadm"; do
	[ -x "$b" ] || { echo "demo: $b not built (make)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }

prefix="lvdemo$$"
lvsd_pid=""
cleanup() {
	if [ -n "$lvsd_pid" ]; then
		kill -TERM "$lvsd_pid" 2>/dev/null || true
		i=0
		while kill -0 "$lvsd_pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	fi
	bash "$here/lab/lab.sh" down --prefix "$prefix" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

echo "== building the NAT lab (client, director, 3 nginx servers)"
env=$(bash "$here/lab/lab.sh" up nat --prefix "$prefix")
. "$env"
dir() { ip netns exec "$NS_DIRECTOR" "$@"; }

echo "== starting lvsd on the director ($DIR_IFS)"
ifargs=""
for i in $DIR_IFS; do ifargs="$ifargs -i $i"; done
# shellcheck disable=SC2086
ip netns exec "$NS_DIRECTOR" "$lvsd" -n $ifargs 2>"/tmp/$prefix-lvsd.log" &
lvsd_pid=$!
i=0
until dir "$lvsadm" -L -n >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "demo: lvsd did not start:" >&2; cat "/tmp/$prefix-lvsd.log" >&2; exit 1; }
	sleep 0.1
done
rm -f "/tmp/$prefix-lvsd.log"

echo "== configuring: wrr service $VIP4:80, real servers weighted 3:2:1 (NAT)"
dir "$lvsadm" -A -t "$VIP4:80" -s wrr
w=3
for r in $RIPS4; do
	echo "   lvsadm -a -t $VIP4:80 -r $r:80 -m -w $w"
	dir "$lvsadm" -a -t "$VIP4:80" -r "$r:80" -m -w $w
	w=$((w - 1))
done

echo "== 120 requests from the client, a new connection each"
urls=""
n=0
while [ $n -lt 120 ]; do urls="$urls http://$VIP4/"; n=$((n + 1)); done
# shellcheck disable=SC2086
ip netns exec "$NS_CLIENT" curl -s --max-time 20 -H 'Connection: close' $urls |
	sort | uniq -c | awk '{ printf "   %-10s answered %3d requests\n", $2, $1 }'

echo "== lvsadm -Ln --stats"
dir "$lvsadm" -L -n --stats
echo "== lvsadm -Ln"
dir "$lvsadm" -L -n
echo "== tearing down"
