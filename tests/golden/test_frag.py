"""Fragments (frag.h): a 4000-byte UDP datagram sent to the VIP in
fragments, in order and not, with duplicates, overlaps and a missing one,
through NAT, DR and TUN, IPv4 and IPv6.  tshark reassembles what lvs-pcap
sends: the datagram must come out whole, addressed as the method says,
with every checksum good (the UDP one over the reassembled datagram)."""
import random

import pytest
from scapy.all import (IP, UDP, Ether, IPv6, IPv6ExtHdrFragment, Raw,
                       fragment, fragment6)

from conftest import (CLIENT, CLIENT6, GOOD, GW_MAC, OUR_MAC, RS, RS6,
                      RS6_MAC, RS_MAC, SRC4, SRC6, VIP, VIP6,
                      assert_csums_good)

PAYLOAD = bytes(random.Random(7).getrandbits(8) for _ in range(4000))
VPORT, RPORT = 9999, 7777

RULES = {
    ("ipv4", "nat"): ["-A -u 10.0.0.1:9999 -s rr",
                      "-a -u 10.0.0.1:9999 -r 192.168.10.1:7777 -m"],
    ("ipv4", "dr"): ["-A -u 10.0.0.1:9999 -s rr",
                     "-a -u 10.0.0.1:9999 -r 192.168.10.2 -g"],
    ("ipv4", "tun"): ["-A -u 10.0.0.1:9999 -s rr",
                      "-a -u 10.0.0.1:9999 -r 192.168.10.3 -i"],
    ("ipv6", "nat"): ["-A -u [fd00::1]:9999 -s rr",
                      "-a -u [fd00::1]:9999 -r [fd00:10::1]:7777 -m"],
    ("ipv6", "dr"): ["-A -u [fd00::1]:9999 -s rr",
                     "-a -u [fd00::1]:9999 -r fd00:10::2 -g"],
    ("ipv6", "tun"): ["-A -u [fd00::1]:9999 -s rr",
                      "-a -u [fd00::1]:9999 -r fd00:10::3 -i"],
}


def frags(fam, size=1480, ident=0x1234):
    """The client's datagram to the VIP as Ethernet frames of fragments
    (first one first)."""
    if fam == "ipv4":
        p = IP(src=CLIENT, dst=VIP, id=ident, ttl=50) / \
            UDP(sport=40000, dport=VPORT) / Raw(PAYLOAD)
        fr = fragment(p, fragsize=size)
    else:
        p = IPv6(src=CLIENT6, dst=VIP6, hlim=50) / \
            IPv6ExtHdrFragment(id=ident) / \
            UDP(sport=40000, dport=VPORT) / Raw(PAYLOAD)
        fr = fragment6(p, 1280)
    return [Ether(src=GW_MAC, dst=OUR_MAC) / f for f in fr]


def reassembled(rows):
    """tshark's rows that carry the reassembled UDP datagram."""
    return [r for r in rows if r.get("udp.payload")]


def check(r, fam, method, n=1):
    assert r.rc == 0, r.stderr
    for row in r.rows:
        assert_csums_good(row)
        assert row["eth.src"] == [OUR_MAC]
    whole = reassembled(r.rows)
    assert len(whole) == n, r.stderr
    for row in whole:
        assert bytes.fromhex(row["udp.payload"][0]) == PAYLOAD
        assert row["udp.checksum.status"] == [GOOD]
        assert row["udp.srcport"] == ["40000"]
        if fam == "ipv4":
            dst = row["ip.dst"]
            if method == "nat":
                assert dst == [RS[0]] and row["udp.dstport"] == [str(RPORT)]
            elif method == "dr":
                assert dst == [VIP] and row["eth.dst"] == [RS_MAC[1]]
            else:
                assert dst == [RS[2], VIP] and row["ip.src"][0] == SRC4
        else:
            dst = row["ipv6.dst"]
            if method == "nat":
                assert dst == [RS6[0]] and row["udp.dstport"] == [str(RPORT)]
            elif method == "dr":
                assert dst == [VIP6] and row["eth.dst"] == [RS6_MAC[1]]
            else:
                assert dst == [RS6[2], VIP6] and row["ipv6.src"][0] == SRC6
        if method != "nat":
            assert row["udp.dstport"] == [str(VPORT)]


FAMS = ["ipv4", "ipv6"]
METHODS = ["nat", "dr", "tun"]


@pytest.mark.parametrize("fam", FAMS)
@pytest.mark.parametrize("method", METHODS)
def test_in_order(replay, fam, method):
    fr = frags(fam)
    r = replay(RULES[fam, method], fr, ["--mtu", "1500"])
    check(r, fam, method)
    assert not r.drops(), r.stderr


@pytest.mark.parametrize("fam", FAMS)
@pytest.mark.parametrize("method", METHODS)
def test_out_of_order(replay, fam, method):
    """Later fragments before their first are held, then sent after it."""
    fr = frags(fam)
    fr = fr[::-1]
    r = replay(RULES[fam, method], fr, ["--mtu", "1500"])
    check(r, fam, method)
    assert not r.drops(), r.stderr


@pytest.mark.parametrize("fam", FAMS)
def test_duplicates(replay, fam):
    """A repeated fragment is dropped; the datagram goes through once."""
    fr = frags(fam)
    fr = [fr[0], fr[1], fr[1], fr[0]] + fr[2:]
    r = replay(RULES[fam, "nat"], fr, ["--mtu", "1500"])
    check(r, fam, "nat")
    assert r.drops() == {"fragment_duplicate": 2}, r.stderr


@pytest.mark.parametrize("fam", FAMS)
def test_overlap_drops_datagram(replay, fam):
    """A fragment that partly overlaps one received kills the datagram
    (kernel, RFC 5722): it and every later fragment are dropped, so the
    server never gets a datagram to reassemble."""
    fr = frags(fam)
    bad = fr[1].copy()
    if fam == "ipv4":
        bad[IP].frag -= 1       # 8 bytes earlier: overlaps the first
        del bad[IP].chksum
    else:
        bad[IPv6ExtHdrFragment].offset -= 1
    fr = [fr[0], bad] + fr[1:]
    r = replay(RULES[fam, "dr"], fr, ["--mtu", "1500"])
    assert r.rc == 0, r.stderr
    assert not reassembled(r.rows)
    assert len(r.rows) == 1  # only the first went
    d = r.drops()
    assert d.get("fragment_overlap") == 1, r.stderr
    assert d.get("fragment_of_dropped_datagram") == len(fr) - 2, r.stderr


@pytest.mark.parametrize("fam", FAMS)
def test_missing_fragment_times_out(replay, fam):
    """Without its first, a datagram's fragments are held, then dropped as
    timed out (30 s for IPv4, 60 s for IPv6) when the clock moves on."""
    fr = frags(fam)[1:]
    late = frags(fam, ident=0x999)[0]  # another datagram, 61 s later
    base = 1700000000.0
    times = [base + i * 0.001 for i in range(len(fr))] + [base + 61]
    r = replay(RULES[fam, "nat"], fr + [late], ["--mtu", "1500"], times=times)
    assert r.rc == 0, r.stderr
    assert not reassembled(r.rows)
    assert r.drops() == {"fragment_timeout": len(fr)}, r.stderr


def test_tcp_tiny_fragment(replay):
    """RFC 1858: a TCP fragment at offset 8 is dropped."""
    f = Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP, proto=6,
                                            flags=0, frag=1) / Raw(b"x" * 40)
    r = replay(["-A -t 10.0.0.1:80 -s rr",
                "-a -t 10.0.0.1:80 -r 192.168.10.1:80 -m"], [f])
    assert r.rc == 0, r.stderr
    assert r.drops() == {"fragment_tiny": 1}, r.stderr


def test_nat_split_to_mtu(replay):
    """An IPv4 datagram without DF too big for the way out is cut into
    fragments that fit (the kernel fragments what it forwards)."""
    fr = [Ether(src=GW_MAC, dst=OUR_MAC) /
          IP(src=CLIENT, dst=VIP, id=0x4321, ttl=50, flags=0) /
          UDP(sport=40000, dport=VPORT) / Raw(PAYLOAD[:2000])]
    r = replay(RULES["ipv4", "nat"], fr, ["--mtu", "1000"])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 3, r.stderr
    for row in r.rows:
        assert_csums_good(row)
        assert int(row["ip.len"][0]) <= 1000
    whole = reassembled(r.rows)
    assert len(whole) == 1
    assert bytes.fromhex(whole[0]["udp.payload"][0]) == PAYLOAD[:2000]
    assert whole[0]["udp.checksum.status"] == [GOOD]
    assert whole[0]["udp.dstport"] == [str(RPORT)]
