"""VRRP adverts as lvsd encodes them, decoded by tshark.

The codec's unit test (build/tests/test_vrrp, env LVS_TEST_VRRP) writes
every advert it encodes, framed in Ethernet and IPv4/IPv6 with TTL / hop
limit 255, to the capture named by LVS_VRRP_PCAP.  tshark must see valid
VRRP in each frame with a good checksum: the pseudo-header rule of version
3 (RFC 5798 5.2.8) and the message-only rule of version 2 (RFC 3768 5.3.8)
are checked by a decoder that shares nothing with ours.
"""
import os
import subprocess

from conftest import GOOD, REPO, tshark_rows

TEST_VRRP = os.environ.get("LVS_TEST_VRRP", str(REPO / "build" / "tests" / "test_vrrp"))

# tshark names the 12-bit version 3 interval short_adver_int, the 8-bit
# version 2 one adver_int.
FIELDS = ["frame.number", "ip.ttl", "ipv6.hlim", "vrrp.version", "vrrp.type",
          "vrrp.virt_rtr_id", "vrrp.prio", "vrrp.addr_count", "vrrp.adver_int", "vrrp.short_adver_int",
          "vrrp.auth_type", "vrrp.auth_string", "vrrp.ip_addr", "vrrp.ipv6_addr",
          "vrrp.checksum.status", "_ws.expert"]


def adverts(tmp_path):
    pcap = tmp_path / "vrrp.pcap"
    r = subprocess.run([TEST_VRRP], env=dict(os.environ, LVS_VRRP_PCAP=str(pcap)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return tshark_rows(pcap, FIELDS)


def test_every_advert_decodes_with_a_good_checksum(tmp_path):
    rows = adverts(tmp_path)
    assert len(rows) >= 10
    for row in rows:
        assert row["vrrp.type"] == ["1"], row
        assert row["vrrp.checksum.status"] == [GOOD], row
        assert (row["ip.ttl"] or row["ipv6.hlim"]) == ["255"], row
        assert row["_ws.expert"] == [], row
        n = int(row["vrrp.addr_count"][0])
        assert len(row["vrrp.ip_addr"] or row["vrrp.ipv6_addr"]) == n, row


def test_fields_of_the_vectors(tmp_path):
    rows = adverts(tmp_path)
    v3_4, v3_6, v2_pass, v2_none = rows[:4]
    assert v3_4["vrrp.version"] == ["3"] and v3_4["vrrp.virt_rtr_id"] == ["51"]
    assert v3_4["vrrp.prio"] == ["100"] and v3_4["vrrp.short_adver_int"] == ["100"]
    assert v3_4["vrrp.ip_addr"] == ["192.0.2.100", "192.0.2.101"]
    assert v3_6["vrrp.version"] == ["3"] and v3_6["vrrp.short_adver_int"] == ["50"]
    assert v3_6["vrrp.ipv6_addr"] == ["fe80::100", "2001:db8::100"]
    assert v2_pass["vrrp.version"] == ["2"] and v2_pass["vrrp.auth_type"] == ["1"]
    assert v2_pass["vrrp.auth_string"] == ["secret"]
    assert v2_pass["vrrp.adver_int"] == ["1"]
    assert v2_none["vrrp.auth_type"] == ["0"]
