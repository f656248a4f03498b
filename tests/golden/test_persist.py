"""Persistence (-p, -M): every connection from one client (or one client
network, with a netmask) goes to the server its first connection got, for
the -p timeout after its last connection."""
from collections import Counter

from conftest import BASE_TIME, RS, assert_csums_good, dst_rs, syns

A, B = RS[0], RS[1]


def rules(opts):
    return ["-A -t 10.0.0.1:80 -s rr " + opts,
            "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 1",
            "-a -t 10.0.0.1:80 -r 192.168.10.2:8080 -m -w 1"]


def test_persistent_client_sticks(replay):
    fr = syns(10, client="203.0.113.5") + syns(10, client="198.51.100.7")
    r = replay(rules("-p 300"), fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 20, r.stderr
    first = [dst_rs(x) for x in r.rows[:10]]
    second = [dst_rs(x) for x in r.rows[10:]]
    # rr starts with the server added last; the second client gets the next.
    assert first == [B] * 10
    assert second == [A] * 10
    for x in r.rows:
        assert x["ip.dst"] == [dst_rs(x)]
        assert x["tcp.dstport"] == ["8080"]
        assert_csums_good(x)
    s = r.summary()
    assert s["%s:8080" % A]["conns"] == 10 and s["%s:8080" % B]["conns"] == 10


def test_persistent_interleaved_clients(replay):
    """Interleaving does not matter: each client keeps its own server."""
    fr = []
    for i in range(6):
        fr += syns(1, first_port=40000 + i, client="203.0.113.5")
        fr += syns(1, first_port=40000 + i, client="198.51.100.7")
    r = replay(rules("-p 300"), fr)
    assert r.rc == 0, r.stderr
    got = [dst_rs(x) for x in r.rows]
    assert got == [B, A] * 6


def test_without_persistence_rr_alternates(replay):
    """Control for the tests above: the same client is spread without -p."""
    r = replay(rules(""), syns(4, client="203.0.113.5"))
    assert r.rc == 0, r.stderr
    assert [dst_rs(x) for x in r.rows] == [B, A, B, A]


def test_persistence_netmask_groups_a_network(replay):
    fr = (syns(3, client="203.0.113.5") + syns(3, client="203.0.113.77") +
          syns(3, client="198.51.100.7") + syns(3, client="203.0.113.200"))
    r = replay(rules("-p 300 -M 255.255.255.0"), fr)
    assert r.rc == 0, r.stderr
    got = [dst_rs(x) for x in r.rows]
    assert got == [B] * 6 + [A] * 3 + [B] * 3
    assert Counter(got) == {A: 3, B: 9}


def test_persistence_template_expires(replay):
    """After the -p timeout (and the connections' own timeouts) the client is
    scheduled afresh: rr moves on to the other server."""
    fr = syns(2, client="203.0.113.5") + syns(1, first_port=41000, client="203.0.113.5")
    # SYN_RECV connections live 60 s; the template 10 s after them.
    t = [BASE_TIME, BASE_TIME + 0.001, BASE_TIME + 200]
    r = replay(rules("-p 10"), fr, times=t)
    assert r.rc == 0, r.stderr
    got = [dst_rs(x) for x in r.rows]
    assert got == [B, B, A]


def test_port_zero_persistent_service_keeps_the_port(replay):
    """A persistent service on port 0 takes every port of the VIP; one client
    sticks to one server across ports, and the packet keeps its port."""
    from conftest import c2v
    rules0 = ["-A -t 10.0.0.1:0 -s rr -p 300",
              "-a -t 10.0.0.1:0 -r 192.168.10.1:0 -m -w 1",
              "-a -t 10.0.0.1:0 -r 192.168.10.2:0 -m -w 1"]
    fr = [c2v(40000, "S", vport=80), c2v(40001, "S", vport=443),
          c2v(40002, "S", vport=8443),
          c2v(40003, "S", vport=443, client="198.51.100.7")]
    r = replay(rules0, fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 4, r.stderr
    assert [dst_rs(x) for x in r.rows] == [B, B, B, A]
    assert [x["tcp.dstport"][0] for x in r.rows] == ["80", "443", "8443", "443"]
    for x in r.rows:
        assert x["ip.dst"] == [dst_rs(x)]
        assert_csums_good(x)
