"""ICMP errors: those quoting a tracked connection are translated and sent
on like the connection (so path MTU discovery works through the director),
and the director's own errors (time exceeded) are well formed."""
from scapy.all import Ether, IP, ICMP, TCP, UDP, Raw

from conftest import (CLIENT, CLIENT6, GOOD, GW_MAC, OUR_MAC, RS, RS_MAC, SRC4,
                      SRC6, VIP, VIP6, assert_csums_good, c2v, s2c)

ROUTER = "198.51.100.1"
NAT = ["-A -t 10.0.0.1:80 -s rr",
       "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 1"]


def icmp_from_client_side(quoted, type_=3, code=4, mtu=1400, src=ROUTER, dst=VIP):
    return (Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=src, dst=dst, ttl=64, id=0x99) /
            ICMP(type=type_, code=code, nexthopmtu=mtu) / Raw(bytes(quoted)))


def reply_as_client_saw_it():
    """The SYN-ACK as it left the director toward the client."""
    return IP(src=VIP, dst=CLIENT, ttl=63, id=0x55) / TCP(
        sport=80, dport=40000, flags="SA", seq=5000, ack=1001, window=65160)


def test_nat_frag_needed_from_client_side_goes_to_server(replay):
    fr = [c2v(40000, "S", seq=1000),
          s2c(RS[0], 8080, 40000, "SA", seq=5000, ack=1001),
          icmp_from_client_side(reply_as_client_saw_it())]
    r = replay(NAT, fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 3, r.stderr
    row = r.rows[2]
    assert row["eth.src"] == [OUR_MAC] and row["eth.dst"] == [RS_MAC[0]]
    assert row["ip.src"] == [ROUTER, RS[0]]
    assert row["ip.dst"] == [RS[0], CLIENT]
    assert row["ip.ttl"][0] == "63"
    assert row["ip.id"] == ["0x0099", "0x0055"]
    assert row["icmp.type"] == ["3"] and row["icmp.code"] == ["4"]
    assert row["icmp.mtu"] == ["1400"]
    assert row["tcp.srcport"] == ["8080"] and row["tcp.dstport"] == ["40000"]
    assert row["tcp.seq"] == ["5000"]  # absolute (relative numbers are off)
    assert_csums_good(row)
    assert row["ip.checksum.status"] == [GOOD, GOOD]
    assert row["icmp.checksum.status"] == [GOOD]
    assert row["tcp.checksum.status"] == [GOOD]   # the whole segment is quoted


def test_nat_frag_needed_with_8_byte_quote(replay):
    """The minimum an ICMP error carries: IP header + 8 bytes (ports, seq)."""
    quoted = bytes(reply_as_client_saw_it())[:28]
    fr = [c2v(40000, "S", seq=1000), icmp_from_client_side(quoted, mtu=1280)]
    r = replay(NAT, fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    row = r.rows[1]
    assert row["eth.dst"] == [RS_MAC[0]]
    assert row["ip.src"] == [ROUTER, RS[0]]
    assert row["ip.dst"] == [RS[0], CLIENT]
    assert row["icmp.mtu"] == ["1280"]
    assert row["tcp.srcport"] == ["8080"] and row["tcp.dstport"] == ["40000"]
    assert_csums_good(row)
    assert row["ip.checksum.status"] == [GOOD, GOOD]
    assert row["icmp.checksum.status"] == [GOOD]


def test_nat_frag_needed_from_server_side_goes_to_client(replay):
    """The server's side says the client's packet was too big: the client
    must see it come from the VIP, quoting client -> VIP:80."""
    quoted = IP(src=CLIENT, dst=RS[0], ttl=63, id=0x66) / TCP(
        sport=40000, dport=8080, flags="S", seq=1000, window=64240)
    icmp = (Ether(src=RS_MAC[0], dst=OUR_MAC) / IP(src=RS[0], dst=CLIENT, ttl=64) /
            ICMP(type=3, code=4, nexthopmtu=1450) / Raw(bytes(quoted)))
    r = replay(NAT, [c2v(40000, "S", seq=1000), icmp])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    row = r.rows[1]
    assert row["eth.src"] == [OUR_MAC] and row["eth.dst"] == [GW_MAC]
    assert row["ip.src"] == [VIP, CLIENT]
    assert row["ip.dst"] == [CLIENT, VIP]
    assert row["ip.ttl"][0] == "63"
    assert row["icmp.type"] == ["3"] and row["icmp.code"] == ["4"]
    assert row["icmp.mtu"] == ["1450"]
    assert row["tcp.srcport"] == ["40000"] and row["tcp.dstport"] == ["80"]
    assert_csums_good(row)
    assert row["ip.checksum.status"] == [GOOD, GOOD]
    assert row["icmp.checksum.status"] == [GOOD]
    assert row["tcp.checksum.status"] == [GOOD]


def test_nat_udp_port_unreachable_from_server_goes_to_client(replay):
    rules = ["-A -u 10.0.0.1:53 -s rr",
             "-a -u 10.0.0.1:53 -r 192.168.10.1:5353 -m -w 1"]
    query = (Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP, ttl=64) /
             UDP(sport=40000, dport=53) / Raw(b"query"))
    quoted = IP(src=CLIENT, dst=RS[0], ttl=63) / UDP(sport=40000, dport=5353) / Raw(b"query")
    unreach = (Ether(src=RS_MAC[0], dst=OUR_MAC) / IP(src=RS[0], dst=CLIENT, ttl=64) /
               ICMP(type=3, code=3) / Raw(bytes(quoted)))
    r = replay(rules, [query, unreach])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    row = r.rows[1]
    assert row["eth.dst"] == [GW_MAC]
    assert row["ip.src"] == [VIP, CLIENT]
    assert row["ip.dst"] == [CLIENT, VIP]
    assert row["icmp.type"] == ["3"] and row["icmp.code"] == ["3"]
    assert row["udp.srcport"] == ["40000"] and row["udp.dstport"] == ["53"]
    assert_csums_good(row)
    assert row["ip.checksum.status"] == [GOOD, GOOD]
    assert row["icmp.checksum.status"] == [GOOD]
    assert row["udp.checksum.status"] == [GOOD]


def test_dr_frag_needed_goes_to_server_unchanged(replay):
    rules = ["-A -t 10.0.0.1:80 -s rr",
             "-a -t 10.0.0.1:80 -r 192.168.10.2:80 -g -w 1"]
    quoted = IP(src=VIP, dst=CLIENT, ttl=60) / TCP(sport=80, dport=40000, flags="SA",
                                                   seq=5000, ack=1001)
    fr = [c2v(40000, "S", seq=1000), icmp_from_client_side(quoted)]
    r = replay(rules, fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    row = r.rows[1]
    assert row["eth.src"] == [OUR_MAC] and row["eth.dst"] == [RS_MAC[1]]
    assert row["ip.src"] == [ROUTER, VIP]
    assert row["ip.dst"] == [VIP, CLIENT]
    assert row["ip.ttl"] == ["63", "60"]
    assert row["tcp.srcport"] == ["80"] and row["tcp.dstport"] == ["40000"]
    assert row["icmp.mtu"] == ["1400"]
    assert_csums_good(row)


def test_icmp_error_for_unknown_connection_is_not_forwarded(replay):
    quoted = IP(src=VIP, dst=CLIENT) / TCP(sport=80, dport=45678, flags="SA")
    ping = (Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP) /
            ICMP(type=8, id=1, seq=1) / Raw(b"ping"))
    r = replay(NAT, [c2v(40000, "S"), icmp_from_client_side(quoted), ping])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 1, r.stderr   # only the SYN


def test_ttl_1_gets_time_exceeded(replay):
    syn = c2v(40000, "S", seq=1000, ttl=1, ip_id=0x31)
    r = replay(NAT, [syn])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 1, r.stderr
    row = r.rows[0]
    assert row["eth.src"] == [OUR_MAC] and row["eth.dst"] == [GW_MAC]
    assert row["ip.src"] == [SRC4, CLIENT]
    assert row["ip.dst"] == [CLIENT, VIP]
    assert row["ip.proto"] == ["1", "6"]
    assert row["icmp.type"] == ["11"] and row["icmp.code"] == ["0"]
    assert row["ip.id"][1] == "0x0031"
    assert row["tcp.srcport"] == ["40000"] and row["tcp.dstport"] == ["80"]
    assert int(row["ip.ttl"][0]) > 1
    assert_csums_good(row)
    assert row["ip.checksum.status"] == [GOOD, GOOD]
    assert row["icmp.checksum.status"] == [GOOD]
    assert row["tcp.checksum.status"] == [GOOD]


def test_hop_limit_1_gets_icmpv6_time_exceeded(replay):
    rules = ["-A -t [fd00::1]:80 -s rr",
             "-a -t [fd00::1]:80 -r [fd00:10::1]:8080 -m -w 1"]
    syn = c2v(40000, "S", client=CLIENT6, ttl=1)
    r = replay(rules, [syn])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 1, r.stderr
    row = r.rows[0]
    assert row["eth.dst"] == [GW_MAC]
    assert row["ipv6.src"] == [SRC6, CLIENT6]
    assert row["ipv6.dst"] == [CLIENT6, VIP6]
    assert row["icmpv6.type"] == ["3"] and row["icmpv6.code"] == ["0"]
    assert row["tcp.dstport"] == ["80"]
    assert_csums_good(row)
    assert row["icmpv6.checksum.status"] == [GOOD]


def test_time_exceeded_without_src_comes_from_the_vip(replay):
    """Without --src the director answers from the address the packet was
    sent to, as the kernel's icmp_send does for a locally addressed packet."""
    from conftest import MAC_OF
    args = ["--mac", OUR_MAC, "--gw", GW_MAC]
    for ip, mac in MAC_OF.items():
        args += ["--neigh", "%s=%s" % (ip, mac)]
    r = replay(NAT, [c2v(40000, "S", ttl=1)], args, env=False)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 1, r.stderr
    row = r.rows[0]
    assert row["ip.src"] == [VIP, CLIENT] and row["ip.dst"] == [CLIENT, VIP]
    assert row["icmp.type"] == ["11"]
    assert_csums_good(row)
