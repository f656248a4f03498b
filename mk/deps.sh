#!/bin/sh
# Install the Debian packages the build and the tests need, when missing.
# Runs `apt-get update` once, only if something must be installed.
set -e
PKGS="build-essential clang llvm libclang-rt-14-dev pkg-config libcmocka-dev libpcap-dev \
liburcu-dev libmnl-dev libbpf-dev libxdp-dev libevent-dev libnftables-dev libnetfilter-queue-dev libssl-dev libmicrohttpd-dev libpcre2-dev openssl bpftool tshark python3 python3-scapy python3-pytest \
debhelper dpkg-dev iproute2 iputils-ping keepalived nftables iptables ethtool curl socat wrk nginx-light libnginx-mod-stream haproxy chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages and not root; install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
