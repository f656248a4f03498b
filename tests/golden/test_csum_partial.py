"""Checksum-partial input (--csum-partial), as a local sender on veth hands
frames over: the L4 checksum field holds only the folded pseudo-header sum
(not complemented, Linux's CHECKSUM_PARTIAL convention, see csum.c).  What
the director sends must carry complete, correct checksums once the NIC (here
lvs-pcap) finishes them -- so NAT must update the pseudo-header sum, not
treat the field as a finished checksum, and tunnels must complete the inner
checksum before encapsulating."""
from scapy.all import Ether, IP, IPv6, UDP, TCP, Raw

from conftest import (CLIENT, CLIENT6, GOOD, GW_MAC, OUR_MAC, RS, RS6, RS_MAC,
                      SRC4, VIP, assert_csums_good, c2v, pseudo_sum, s2c)

PARTIAL = ["--csum-partial"]
GET = b"GET /partial HTTP/1.1\r\nHost: x\r\n\r\n"


def partial(fr):
    """Replace the L4 checksum of a scapy frame by its pseudo-header sum."""
    fr = fr.__class__(bytes(fr))   # built: lengths filled in
    l3 = fr[IPv6] if IPv6 in fr else fr[IP]
    l4, proto = (fr[TCP], 6) if TCP in fr else (fr[UDP], 17)
    l4.chksum = pseudo_sum(l3.src, l3.dst, proto, len(bytes(l4)))
    return fr


def test_partial_input_is_not_a_valid_checksum():
    """Sanity of the generator: the partial field is not the real checksum,
    so a good checksum on output proves it was completed."""
    fr = partial(c2v(40000, "PA", payload=GET))
    full = c2v(40000, "PA", payload=GET)
    full = full.__class__(bytes(full))
    assert fr[TCP].chksum != full[TCP].chksum
    assert fr[TCP].chksum == pseudo_sum(CLIENT, VIP, 6, 20 + len(GET))


NAT = ["-A -t 10.0.0.1:80 -s rr",
       "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 1"]


def test_partial_nat_tcp_both_directions(replay):
    fr = [partial(c2v(40000, "S", seq=1000)),
          partial(s2c(RS[0], 8080, 40000, "SA", seq=5000, ack=1001)),
          partial(c2v(40000, "PA", seq=1001, ack=5001, payload=GET)),
          partial(s2c(RS[0], 8080, 40000, "PA", seq=5001, ack=1001 + len(GET),
                      payload=b"HTTP/1.1 200 OK\r\n\r\n"))]
    r = replay(NAT, fr, PARTIAL)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 4, r.stderr
    for i, row in enumerate(r.rows):
        assert_csums_good(row)
        assert row["tcp.checksum.status"] == [GOOD], "frame %d" % (i + 1)
        if i % 2 == 0:
            assert row["ip.dst"] == [RS[0]] and row["tcp.dstport"] == ["8080"]
        else:
            assert row["ip.src"] == [VIP] and row["tcp.srcport"] == ["80"]


def test_partial_nat_udp(replay):
    rules = ["-A -u 10.0.0.1:53 -s rr",
             "-a -u 10.0.0.1:53 -r 192.168.10.1:5353 -m -w 1"]
    q = Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP) / UDP(sport=40000, dport=53) / Raw(b"q" * 33)
    a = Ether(src=RS_MAC[0], dst=OUR_MAC) / IP(src=RS[0], dst=CLIENT) / UDP(sport=5353, dport=40000) / Raw(b"a" * 71)
    r = replay(rules, [partial(q), partial(a)], PARTIAL)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    for row in r.rows:
        assert_csums_good(row)
        assert row["udp.checksum.status"] == [GOOD]
    assert r.rows[0]["udp.dstport"] == ["5353"] and r.rows[1]["udp.srcport"] == ["53"]


def test_partial_nat_ipv6(replay):
    rules = ["-A -t [fd00::1]:80 -s rr",
             "-a -t [fd00::1]:80 -r [fd00:10::1]:8080 -m -w 1"]
    fr = [partial(c2v(40000, "S", client=CLIENT6)),
          partial(s2c(RS6[0], 8080, 40000, "SA", client=CLIENT6)),
          partial(c2v(40000, "PA", seq=1001, ack=5001, payload=GET, client=CLIENT6))]
    r = replay(rules, fr, PARTIAL)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 3, r.stderr
    for row in r.rows:
        assert_csums_good(row)
        assert row["tcp.checksum.status"] == [GOOD]
    assert r.rows[2]["ipv6.dst"] == [RS6[0]]


def test_partial_dr(replay):
    rules = ["-A -t 10.0.0.1:80 -s rr",
             "-a -t 10.0.0.1:80 -r 192.168.10.2:80 -g -w 1"]
    fr = [partial(c2v(40000, "S")), partial(c2v(40000, "PA", seq=1001, ack=1, payload=GET))]
    r = replay(rules, fr, PARTIAL)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    for row in r.rows:
        assert_csums_good(row)
        assert row["tcp.checksum.status"] == [GOOD]
        assert row["eth.dst"] == [RS_MAC[1]] and row["ip.dst"] == [VIP]


def test_partial_tunnel_completes_inner_checksum(replay):
    rules = ["-A -t 10.0.0.1:80 -s rr",
             "-a -t 10.0.0.1:80 -r 192.168.10.3:80 -i -w 1 --tun-type gre --tun-csum"]
    fr = [partial(c2v(40000, "S")), partial(c2v(40000, "PA", seq=1001, ack=1, payload=GET))]
    r = replay(rules, fr, PARTIAL)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    for row in r.rows:
        assert_csums_good(row)
        assert row["ip.src"] == [SRC4, CLIENT]
        assert row["tcp.checksum.status"] == [GOOD]
        assert row["gre.checksum.status"] == [GOOD]
