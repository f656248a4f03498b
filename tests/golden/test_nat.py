"""NAT (masquerading, ipvsadm -m): destination rewritten on the way in,
source rewritten back to the virtual service on the way out, TTL / hop
limit decremented, checksums (IP header, L4 with its pseudo-header) valid."""
from scapy.all import Ether, IP, UDP, Raw

from conftest import (ACK, CLIENT, CLIENT6, FIN, GW_MAC, OUR_MAC, PSH, RS, RS6,
                      RS6_MAC, RS_MAC, SYN, VIP, VIP6, MAC_OF, GOOD, NOT_PRESENT,
                      assert_csums_good, c2v, parse_counts, parse_drops, s2c, tcp_flags)

TCP_RULES = [
    "-A -t 10.0.0.1:80 -s rr",
    "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 1",
]

GET = b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n"
RESP = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


def assert_to_server(row, rip, dport, sport=40000, client=CLIENT, ttl=63):
    assert row["eth.src"] == [OUR_MAC]
    assert row["eth.dst"] == [MAC_OF[rip]]
    if ":" in rip:
        assert row["ipv6.src"] == [client] and row["ipv6.dst"] == [rip]
        assert row["ipv6.hlim"] == [str(ttl)]
    else:
        assert row["ip.src"] == [client] and row["ip.dst"] == [rip]
        assert row["ip.ttl"] == [str(ttl)]
    l4 = "tcp" if row["tcp.srcport"] else "udp"
    assert row[l4 + ".srcport"] == [str(sport)]
    assert row[l4 + ".dstport"] == [str(dport)]


def assert_to_client(row, vip, vport, dport=40000, client=CLIENT, ttl=63):
    assert row["eth.src"] == [OUR_MAC]
    assert row["eth.dst"] == [GW_MAC]
    if ":" in vip:
        assert row["ipv6.src"] == [vip] and row["ipv6.dst"] == [client]
        assert row["ipv6.hlim"] == [str(ttl)]
    else:
        assert row["ip.src"] == [vip] and row["ip.dst"] == [client]
        assert row["ip.ttl"] == [str(ttl)]
    l4 = "tcp" if row["tcp.srcport"] else "udp"
    assert row[l4 + ".srcport"] == [str(vport)]
    assert row[l4 + ".dstport"] == [str(dport)]


def test_nat_tcp_full_connection(replay):
    rip = RS[0]
    frames = [
        c2v(40000, "S", seq=1000, ip_id=11),                       # 1 SYN
        s2c(rip, 8080, 40000, "SA", seq=5000, ack=1001, ip_id=21),  # 2 SYN-ACK
        c2v(40000, "A", seq=1001, ack=5001, ip_id=12),             # 3 ACK
        c2v(40000, "PA", seq=1001, ack=5001, payload=GET, ip_id=13),  # 4 GET
        s2c(rip, 8080, 40000, "PA", seq=5001, ack=1001 + len(GET),
            payload=RESP, ip_id=22),                                # 5 response
        c2v(40000, "FA", seq=1001 + len(GET), ack=5001 + len(RESP), ip_id=14),
        s2c(rip, 8080, 40000, "FA", seq=5001 + len(RESP), ack=1002 + len(GET),
            ip_id=23),
        c2v(40000, "A", seq=1002 + len(GET), ack=5002 + len(RESP), ip_id=15),
    ]
    rc, out, err, rows = replay(TCP_RULES, frames)
    assert rc == 0, err
    assert len(rows) == 8, err
    to_server = [0, 2, 3, 5, 7]
    for i, row in enumerate(rows):
        assert_csums_good(row)
        assert row["ip.checksum.status"] == [GOOD]
        assert row["tcp.checksum.status"] == [GOOD]
        if i in to_server:
            assert_to_server(row, rip, 8080)
        else:
            assert_to_client(row, VIP, 80)
        # NAT touches addresses, ports and TTL only.
        inp = frames[i]
        assert row["ip.id"] == ["0x%04x" % inp[IP].id]
        assert row["ip.len"] == [str(inp[IP].len if inp[IP].len else len(inp[IP]))]
        assert row["tcp.seq_raw"] == [str(inp["TCP"].seq)]
        assert row["tcp.ack_raw"] == [str(inp["TCP"].ack)]
        assert tcp_flags(row) == int(inp["TCP"].flags)
    assert tcp_flags(rows[0]) == SYN
    assert tcp_flags(rows[1]) == SYN | ACK
    assert tcp_flags(rows[5]) == FIN | ACK
    assert tcp_flags(rows[6]) == FIN | ACK
    assert tcp_flags(rows[3]) == PSH | ACK
    assert rows[3]["tcp.payload"] == [GET.hex()]
    assert rows[4]["tcp.payload"] == [RESP.hex()]
    assert parse_counts(err)["tx"] == 8
    assert "192.168.10.1:8080" in out and "conns=1 inpkts=5 outpkts=3" in out, out


def test_nat_tcp_two_clients_one_server_keep_apart(replay):
    """Replies are matched to their own connection (client port)."""
    rip = RS[0]
    frames = [
        c2v(40000, "S", seq=100), c2v(40001, "S", seq=200, client="198.51.100.9"),
        s2c(rip, 8080, 40001, "SA", seq=900, ack=201, client="198.51.100.9"),
        s2c(rip, 8080, 40000, "SA", seq=800, ack=101),
    ]
    rc, _, err, rows = replay(TCP_RULES, frames)
    assert rc == 0, err
    assert len(rows) == 4
    assert_to_server(rows[0], rip, 8080, 40000)
    assert_to_server(rows[1], rip, 8080, 40001, client="198.51.100.9")
    assert_to_client(rows[2], VIP, 80, 40001, client="198.51.100.9")
    assert rows[2]["tcp.ack_raw"] == ["201"]
    assert_to_client(rows[3], VIP, 80, 40000)
    assert rows[3]["tcp.ack_raw"] == ["101"]
    for r in rows:
        assert_csums_good(r)


UDP_RULES = [
    "-A -u 10.0.0.1:53 -s rr",
    "-a -u 10.0.0.1:53 -r 192.168.10.1:5353 -m -w 1",
]


def udp_c2v(payload, chksum=None, sport=40000):
    u = UDP(sport=sport, dport=53)
    if chksum is not None:
        u.chksum = chksum
    return Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP, ttl=64) / u / Raw(payload)


def udp_s2c(payload, sport=40000):
    return (Ether(src=RS_MAC[0], dst=OUR_MAC) / IP(src=RS[0], dst=CLIENT, ttl=64) /
            UDP(sport=5353, dport=sport) / Raw(payload))


def test_nat_udp_both_directions(replay):
    frames = [udp_c2v(b"query-1"), udp_s2c(b"answer-1"), udp_c2v(b"query-2"),
              udp_s2c(b"answer-2")]
    rc, out, err, rows = replay(UDP_RULES, frames)
    assert rc == 0, err
    assert len(rows) == 4, err
    for i, row in enumerate(rows):
        assert_csums_good(row)
        assert row["udp.checksum.status"] == [GOOD]
        if i % 2 == 0:
            assert_to_server(row, RS[0], 5353)
        else:
            assert_to_client(row, VIP, 53)
    assert rows[0]["udp.payload"] == [b"query-1".hex()]
    assert rows[3]["udp.payload"] == [b"answer-2".hex()]
    assert "conns=1 inpkts=2 outpkts=2" in out, out


def test_nat_udp_without_checksum(replay):
    """An IPv4 UDP checksum of 0 means "none" (RFC 768): NAT must leave it
    0 or compute a full one, never patch 0 incrementally into garbage."""
    frames = [udp_c2v(b"no-csum", chksum=0)]
    rc, _, err, rows = replay(UDP_RULES, frames)
    assert rc == 0, err
    assert len(rows) == 1, err
    assert_to_server(rows[0], RS[0], 5353)
    assert_csums_good(rows[0], allow={"udp.checksum.status": {NOT_PRESENT}})
    if rows[0]["udp.checksum.status"] == [NOT_PRESENT]:
        assert rows[0]["udp.checksum"] == ["0x0000"]


def test_nat_ipv6_tcp(replay):
    rules = ["-A -t [fd00::1]:80 -s rr",
             "-a -t [fd00::1]:80 -r [fd00:10::1]:8080 -m -w 1"]
    rip = RS6[0]
    frames = [
        c2v(40000, "S", seq=1000, client=CLIENT6),
        s2c(rip, 8080, 40000, "SA", seq=7000, ack=1001, client=CLIENT6),
        c2v(40000, "A", seq=1001, ack=7001, client=CLIENT6),
        c2v(40000, "PA", seq=1001, ack=7001, payload=GET, client=CLIENT6),
    ]
    rc, out, err, rows = replay(rules, frames)
    assert rc == 0, err
    assert len(rows) == 4, err
    for i, row in enumerate(rows):
        assert_csums_good(row)
        assert row["tcp.checksum.status"] == [GOOD]
        assert row["ip.src"] == []  # no IPv4 layer anywhere
        if i == 1:
            assert_to_client(row, VIP6, 80, client=CLIENT6)
            assert row["eth.dst"] == [GW_MAC]
        else:
            assert_to_server(row, rip, 8080, client=CLIENT6)
            assert row["eth.dst"] == [RS6_MAC[0]]
    assert rows[3]["tcp.payload"] == [GET.hex()]
    assert rows[3]["ipv6.plen"] == [str(20 + len(GET))]
    assert "[fd00:10::1]:8080" in out


def test_new_flow_needs_syn(replay):
    """Only a SYN (without RST) schedules a new TCP connection."""
    frames = [c2v(40000, "A", seq=1, ack=1), c2v(40001, "SR", seq=1),
              c2v(40002, "PA", seq=1, ack=1, payload=b"x")]
    rc, _, err, rows = replay(TCP_RULES, frames)
    assert rc == 0, err
    assert rows == []
    drops = parse_drops(err)
    # SYN+RST may already be refused by the parser as an invalid combination.
    assert drops in ({"tcp_new_flow_without_syn": 3},
                     {"tcp_new_flow_without_syn": 2, "tcp_bad_flags": 1}), err
    c = parse_counts(err)
    assert c["tx"] == 0 and c["conns"] == 0


def test_traffic_not_for_a_service_passes(replay):
    """Other addresses/ports belong to the host: nothing sent, nothing dropped."""
    frames = [c2v(40000, "S", vip="10.0.0.99"), c2v(40000, "S", vport=443)]
    rc, _, err, rows = replay(TCP_RULES, frames)
    assert rc == 0, err
    assert rows == []
    c = parse_counts(err)
    assert c == {"rx": 2, "tx": 0, "pass": 2, "drop": 0, "conns": 0}, err


def test_nat_too_big_for_mtu_sends_frag_needed(replay):
    """A DF packet larger than the server side's MTU: the client is told
    the MTU (path MTU discovery through the director), nothing forwarded."""
    fr = [c2v(40000, "S", seq=1000),
          c2v(40000, "PA", seq=1001, ack=1, payload=b"z" * 1460, df=True, ip_id=0x42)]
    r = replay(TCP_RULES, fr, ["--mtu", "1400"])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    assert r.rows[0]["ip.dst"] == [RS[0]]
    row = r.rows[1]
    assert row["eth.dst"] == [GW_MAC]
    assert row["ip.dst"] == [CLIENT, VIP]
    assert row["icmp.type"] == ["3"] and row["icmp.code"] == ["4"]
    assert row["icmp.mtu"] == ["1400"]
    assert row["ip.id"][1] == "0x0042"
    assert row["tcp.dstport"] == ["80"]      # quotes the packet as the client sent it
    assert int(row["ip.len"][0]) <= 576
    assert_csums_good(row, allow={"tcp.checksum.status": {"0", "2"}})
    assert row["icmp.checksum.status"] == [GOOD]


def test_nat_fits_mtu_exactly(replay):
    fr = [c2v(40000, "S", seq=1000),
          c2v(40000, "PA", seq=1001, ack=1, payload=b"z" * 1360, df=True)]
    assert len(fr[1][IP]) == 1400
    r = replay(TCP_RULES, fr, ["--mtu", "1400"])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    assert r.rows[1]["ip.dst"] == [RS[0]] and r.rows[1]["ip.len"] == ["1400"]
    assert_csums_good(r.rows[1])
