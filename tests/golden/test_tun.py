"""Tunnelling (ipvsadm -i, --tun-type ipip|gue|gre): the client's packet,
untouched but for its TTL, inside an outer header from the director (--src)
to the real server; a packet that no longer fits the MTU once encapsulated
is answered with fragmentation-needed / packet-too-big quoting it."""
import pytest

from conftest import (CLIENT, CLIENT6, GOOD, GW_MAC, NOT_PRESENT, OUR_MAC, RS,
                      RS6, RS6_MAC, RS_MAC, SRC4, SRC6, VIP, VIP6,
                      assert_csums_good, c2v, tshark_rows, write_raw_ip_pcap)

SVC = "-A -t 10.0.0.1:80 -s rr"
DEST = "-a -t 10.0.0.1:80 -r 192.168.10.3:80 -i -w 1"
DATA = b"GET /tunnel HTTP/1.0\r\n\r\n"


def frames4():
    return [c2v(40000, "S", seq=1000, ip_id=0x4242, ttl=50),
            c2v(40000, "PA", seq=1001, ack=1, payload=DATA, ip_id=0x4243, ttl=50)]


def assert_outer4(row, proto):
    assert row["eth.src"] == [OUR_MAC]
    assert row["eth.dst"] == [RS_MAC[2]]
    assert row["ip.src"][0] == SRC4
    assert row["ip.dst"][0] == RS[2]
    assert row["ip.proto"][0] == str(proto)
    assert int(row["ip.ttl"][0]) >= 1


def assert_inner4(row, idx, inp_len, ip_id):
    """The client's IPv4 packet as layer idx of row: only the TTL moved."""
    assert row["ip.src"][idx] == CLIENT
    assert row["ip.dst"][idx] == VIP
    assert row["ip.ttl"][idx] == "49"
    assert row["ip.len"][idx] == str(inp_len)
    assert row["ip.id"][idx] == "0x%04x" % ip_id
    assert row["tcp.srcport"] == ["40000"] and row["tcp.dstport"] == ["80"]


@pytest.mark.parametrize("spec", ["", " --tun-type ipip"])
def test_tun_ipip(replay, spec):
    fr = frames4()
    r = replay([SVC, DEST + spec], fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    for i, row in enumerate(r.rows):
        inner_len = len(fr[i]["IP"])
        assert_csums_good(row)
        assert row["ip.checksum.status"] == [GOOD, GOOD]
        assert row["tcp.checksum.status"] == [GOOD]
        assert_outer4(row, 4)
        assert row["ip.proto"] == ["4", "6"]
        assert row["ip.len"][0] == str(inner_len + 20)
        assert_inner4(row, 1, inner_len, 0x4242 + i)
        assert row["tcp.seq_raw"] == [str(fr[i]["TCP"].seq)]
    assert r.rows[1]["tcp.payload"] == [DATA.hex()]


def gue_inner(r, tmp_path, i, want_proto):
    """Check the 4-byte GUE header (version 0, no options, proto_ctype =
    the inner protocol) and decode what follows with tshark."""
    payload = bytes.fromhex(r.rows[i]["udp.payload"][0])
    assert payload[:4] == bytes([0, want_proto, 0, 0]), payload[:4].hex()
    p = tmp_path / ("gue_inner%d.pcap" % i)
    write_raw_ip_pcap(p, [payload[4:]])
    (row,) = tshark_rows(p)
    return row


@pytest.mark.parametrize("csum", [False, True])
def test_tun_gue(replay, tmp_path, csum):
    spec = " --tun-type gue --tun-port 6080" + (" --tun-csum" if csum else "")
    fr = frames4()
    r = replay([SVC, DEST + spec], fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    for i, row in enumerate(r.rows):
        inner_len = len(fr[i]["IP"])
        assert_outer4(row, 17)
        assert row["ip.proto"] == ["17"]  # tshark has no GUE dissector
        assert row["udp.dstport"] == ["6080"]
        assert row["udp.srcport"] != ["0"]
        assert row["udp.length"] == [str(8 + 4 + inner_len)]
        assert row["ip.len"] == [str(20 + 8 + 4 + inner_len)]
        if csum:
            assert_csums_good(row)
            assert row["udp.checksum.status"] == [GOOD]
        else:
            assert_csums_good(row, allow={"udp.checksum.status": {NOT_PRESENT}})
            assert row["udp.checksum"] == ["0x0000"]
        inner = gue_inner(r, tmp_path, i, 4)
        assert_csums_good(inner)
        assert inner["ip.checksum.status"] == [GOOD]
        assert inner["tcp.checksum.status"] == [GOOD]
        assert_inner4(inner, 0, inner_len, 0x4242 + i)
        assert inner["tcp.seq_raw"] == [str(fr[i]["TCP"].seq)]


@pytest.mark.parametrize("csum", [False, True])
def test_tun_gre(replay, csum):
    spec = " --tun-type gre" + (" --tun-csum" if csum else "")
    fr = frames4()
    r = replay([SVC, DEST + spec], fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    grelen = 8 if csum else 4
    for i, row in enumerate(r.rows):
        inner_len = len(fr[i]["IP"])
        assert_csums_good(row)
        assert_outer4(row, 47)
        assert row["ip.proto"] == ["47", "6"]
        assert row["ip.len"][0] == str(20 + grelen + inner_len)
        assert row["gre.proto"] == ["0x0800"]
        assert row["gre.flags.checksum"] == (["1"] if csum else ["0"])
        if csum:
            assert row["gre.checksum.status"] == [GOOD]
        assert row["ip.checksum.status"] == [GOOD, GOOD]
        assert row["tcp.checksum.status"] == [GOOD]
        assert_inner4(row, 1, inner_len, 0x4242 + i)


def test_tun_ipv6_in_ipv6(replay):
    rules = ["-A -t [fd00::1]:80 -s rr",
             "-a -t [fd00::1]:80 -r [fd00:10::2]:80 -i -w 1"]
    fr = [c2v(40000, "S", client=CLIENT6, ttl=30),
          c2v(40000, "PA", seq=1001, ack=1, payload=DATA, client=CLIENT6, ttl=30)]
    r = replay(rules, fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    for i, row in enumerate(r.rows):
        inner_plen = len(fr[i]["IPv6"]) - 40
        assert_csums_good(row)
        assert row["eth.src"] == [OUR_MAC] and row["eth.dst"] == [RS6_MAC[1]]
        assert row["ipv6.src"] == [SRC6, CLIENT6]
        assert row["ipv6.dst"] == [RS6[1], VIP6]
        assert row["ipv6.nxt"] == ["41", "6"]
        assert row["ipv6.plen"] == [str(40 + inner_plen), str(inner_plen)]
        assert row["ipv6.hlim"][1] == "29"
        assert row["tcp.checksum.status"] == [GOOD]
        assert row["tcp.srcport"] == ["40000"] and row["tcp.dstport"] == ["80"]


@pytest.mark.parametrize("spec,overhead", [
    ("", 20),
    (" --tun-type gue --tun-port 6080", 32),
    (" --tun-type gre", 24),
    (" --tun-type gre --tun-csum", 28),
])
def test_tun_too_big_sends_frag_needed(replay, spec, overhead):
    """A 1500-byte DF packet cannot be encapsulated on a 1500 MTU: the client
    gets ICMP fragmentation-needed with next-hop MTU 1500 - overhead."""
    big = b"x" * 1460
    fr = [c2v(40000, "S", seq=1000),
          c2v(40000, "PA", seq=1001, ack=1, payload=big, df=True, ip_id=0x777)]
    assert len(fr[1]["IP"]) == 1500
    r = replay([SVC, DEST + spec], fr, ["--mtu", "1500"])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    assert r.rows[0]["eth.dst"] == [RS_MAC[2]]          # the SYN fits
    row = r.rows[1]
    assert row["eth.src"] == [OUR_MAC] and row["eth.dst"] == [GW_MAC]
    assert row["ip.src"] == [SRC4, CLIENT]
    assert row["ip.dst"] == [CLIENT, VIP]
    assert row["icmp.type"] == ["3"] and row["icmp.code"] == ["4"]
    assert row["icmp.mtu"] == [str(1500 - overhead)]
    assert int(row["ip.len"][0]) <= 576                # RFC 1812 4.3.2.3
    assert row["ip.id"][1] == "0x0777"
    assert row["tcp.srcport"] == ["40000"] and row["tcp.dstport"] == ["80"]
    # The quote is truncated, so tshark cannot judge the quoted TCP checksum.
    assert_csums_good(row, allow={"tcp.checksum.status": {"0", "2"}})
    assert row["ip.checksum.status"] == [GOOD, GOOD]
    assert row["icmp.checksum.status"] == [GOOD]


def test_tun_ipv6_too_big_sends_packet_too_big(replay):
    rules = ["-A -t [fd00::1]:80 -s rr",
             "-a -t [fd00::1]:80 -r [fd00:10::2]:80 -i -w 1"]
    fr = [c2v(40000, "S", client=CLIENT6),
          c2v(40000, "PA", seq=1001, ack=1, payload=b"y" * 1440, client=CLIENT6)]
    assert len(fr[1]["IPv6"]) == 1500
    r = replay(rules, fr, ["--mtu", "1500"])
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 2, r.stderr
    row = r.rows[1]
    assert row["eth.dst"] == [GW_MAC]
    assert row["ipv6.src"] == [SRC6, CLIENT6]
    assert row["ipv6.dst"] == [CLIENT6, VIP6]
    assert row["icmpv6.type"] == ["2"] and row["icmpv6.code"] == ["0"]
    assert row["icmpv6.mtu"] == ["1460"]
    assert 40 + int(row["ipv6.plen"][0]) <= 1280       # RFC 4443 2.4(c)
    assert row["icmpv6.checksum.status"] == [GOOD]
    assert_csums_good(row, allow={"tcp.checksum.status": {"0", "2"}})


def test_tun_ipv6_service_ipv4_server(replay):
    """Mixed families (kernel 4.x+, ipvsadm 1.28+): an IPv6 service tunnelled
    to an IPv4 real server, IPv6 inside IPv4 (protocol 41)."""
    rules = ["-A -t [fd00::1]:80 -s rr",
             "-a -t [fd00::1]:80 -r 192.168.10.3:80 -i -w 1"]
    fr = [c2v(40000, "S", client=CLIENT6, ttl=30)]
    r = replay(rules, fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 1, r.stderr
    row = r.rows[0]
    assert_csums_good(row)
    assert row["eth.dst"] == [RS_MAC[2]]
    assert row["ip.src"] == [SRC4] and row["ip.dst"] == [RS[2]]
    assert row["ip.proto"] == ["41"]
    assert row["ip.len"] == [str(20 + len(fr[0]["IPv6"]))]
    assert row["ipv6.src"] == [CLIENT6] and row["ipv6.dst"] == [VIP6]
    assert row["ipv6.hlim"] == ["29"]
    assert row["tcp.checksum.status"] == [GOOD]
