"""Direct routing (ipvsadm -g): only the Ethernet header changes (to the
real server's MAC) and the TTL / hop limit is decremented; every other
header field, the L4 header and the payload leave as they came."""
from conftest import (CLIENT, CLIENT6, GOOD, OUR_MAC, RS, RS6, RS6_MAC, RS_MAC,
                      VIP, VIP6, assert_csums_good, c2v, tshark_rows)

# Fields that must be identical between what came in and what went out.
SAME4 = ["ip.version", "ip.src", "ip.dst", "ip.id", "ip.len", "ip.proto",
         "ip.flags.df", "ip.frag_offset", "tcp.srcport", "tcp.dstport",
         "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.len", "tcp.payload",
         "tcp.checksum", "frame.len"]
SAME6 = ["ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.nxt", "tcp.srcport",
         "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.len",
         "tcp.payload", "tcp.checksum", "frame.len"]


def test_dr_ipv4(replay):
    rules = ["-A -t 10.0.0.1:80 -s rr",
             "-a -t 10.0.0.1:80 -r 192.168.10.2:80 -g -w 1"]
    frames = [c2v(40000, "S", seq=1000, ip_id=0x1234, df=True),
              c2v(40000, "A", seq=1001, ack=9001, ip_id=0x1235, df=True),
              c2v(40000, "PA", seq=1001, ack=9001, payload=b"GET / HTTP/1.0\r\n\r\n",
                  ip_id=0x1236, df=True)]
    r = replay(rules, frames)
    assert r.rc == 0, r.stderr
    inrows = tshark_rows(r.in_pcap)
    assert len(r.rows) == 3, r.stderr
    for i, (a, b) in enumerate(zip(inrows, r.rows)):
        assert_csums_good(b)
        assert b["eth.src"] == [OUR_MAC]
        assert b["eth.dst"] == [RS_MAC[1]]
        assert b["ip.src"] == [CLIENT] and b["ip.dst"] == [VIP]
        assert b["ip.ttl"] == [str(int(a["ip.ttl"][0]) - 1)]
        assert b["ip.checksum.status"] == [GOOD]
        assert b["tcp.checksum.status"] == [GOOD]
        for f in SAME4:
            assert a[f] == b[f], "frame %d: %s in %s out %s" % (i + 1, f, a[f], b[f])
    assert "192.168.10.2:80" in r.stdout and "conns=1 inpkts=3" in r.stdout


def test_dr_ipv6(replay):
    rules = ["-A -t [fd00::1]:80 -s rr",
             "-a -t [fd00::1]:80 -r [fd00:10::2]:80 -g -w 1"]
    frames = [c2v(40000, "S", seq=1000, client=CLIENT6, ttl=17),
              c2v(40000, "PA", seq=1001, ack=1, payload=b"hello", client=CLIENT6, ttl=17)]
    r = replay(rules, frames)
    assert r.rc == 0, r.stderr
    inrows = tshark_rows(r.in_pcap)
    assert len(r.rows) == 2, r.stderr
    for i, (a, b) in enumerate(zip(inrows, r.rows)):
        assert_csums_good(b)
        assert b["eth.src"] == [OUR_MAC]
        assert b["eth.dst"] == [RS6_MAC[1]]
        assert b["ipv6.src"] == [CLIENT6] and b["ipv6.dst"] == [VIP6]
        assert b["ipv6.hlim"] == ["16"]
        assert b["tcp.checksum.status"] == [GOOD]
        for f in SAME6:
            assert a[f] == b[f], "frame %d: %s in %s out %s" % (i + 1, f, a[f], b[f])


def test_dr_spreads_by_mac_only(replay):
    """Two DR servers: every frame of one connection goes to the same MAC,
    and the IP destination stays the VIP for both."""
    rules = ["-A -t 10.0.0.1:80 -s rr",
             "-a -t 10.0.0.1:80 -r 192.168.10.1:80 -g -w 1",
             "-a -t 10.0.0.1:80 -r 192.168.10.2:80 -g -w 1"]
    frames = [c2v(40000, "S"), c2v(40001, "S"), c2v(40000, "A", seq=1001, ack=1),
              c2v(40001, "A", seq=1001, ack=1)]
    r = replay(rules, frames)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 4
    macs = [row["eth.dst"][0] for row in r.rows]
    assert macs[0] != macs[1]
    assert macs[2] == macs[0] and macs[3] == macs[1]
    assert set(macs) == {RS_MAC[0], RS_MAC[1]}
    for row in r.rows:
        assert row["ip.dst"] == [VIP]
        assert_csums_good(row)
    assert RS[0] in r.stdout and RS6[0] not in r.stdout
