"""Schedulers, weights and thresholds as seen on the wire: which real
server (destination MAC) each new connection's SYN is sent to.

Kernel facts relied on: a new destination goes to the head of its
service's list, so rr/wrr start with the one added last; lc picks the least
(activeconns << 8) + inactconns, the first in list order on a tie; a TCP
connection counts as active in ESTABLISHED and, since Linux 4.8, in the
handshake states (SYN_RECV, SYN_SENT, SYNACK), and inactive once closing; weight 0 takes no new
connections; -x marks a server overloaded once active + inactive reaches it,
and with no -y it becomes available again below 3/4 of -x."""
from collections import Counter

from conftest import (BASE_TIME, RS, RS_MAC, assert_csums_good, c2v, dst_rs,
                      parse_counts, s2c, syns)

A, B, C = RS


def nat_rules(sched, weights, extra=None, svc_opts=""):
    lines = ["-A -t 10.0.0.1:80 -s %s%s" % (sched, svc_opts)]
    for i, w in enumerate(weights):
        line = "-a -t 10.0.0.1:80 -r %s:8080 -m -w %d" % (RS[i], w)
        if extra and extra.get(i):
            line += " " + extra[i]
        lines.append(line)
    return lines


def test_rr_starts_with_last_added_and_cycles(replay):
    r = replay(nat_rules("rr", [1, 1, 1]), syns(6))
    assert r.rc == 0, r.stderr
    assert [dst_rs(x) for x in r.rows] == [C, B, A, C, B, A]
    for x in r.rows:
        assert x["tcp.dstport"] == ["8080"]
        assert x["ip.dst"] == [dst_rs(x)]  # NAT: IP and MAC agree
        assert_csums_good(x)


def test_wrr_3_2_1_over_600_syns(replay):
    r = replay(nat_rules("wrr", [3, 2, 1]), syns(600))
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 600
    got = Counter(dst_rs(x) for x in r.rows)
    assert got == {A: 300, B: 200, C: 100}
    s = r.summary()
    assert s["%s:8080" % A]["conns"] == 300
    assert s["%s:8080" % B]["conns"] == 200
    assert s["%s:8080" % C]["conns"] == 100
    assert s["%s:8080" % A]["weight"] == 3
    # wrr interleaves: the heaviest server gets the first one, and no
    # server gets more than its weight's share in any 6-connection round.
    assert dst_rs(r.rows[0]) == A
    for k in range(0, 600, 6):
        rnd = Counter(dst_rs(x) for x in r.rows[k:k + 6])
        assert rnd == {A: 3, B: 2, C: 1}, (k, rnd)
    assert parse_counts(r.stderr)["conns"] == 600


def test_lc_counts_active_connections_256_times(replay):
    """Three SYNs spread C, B, A; each connection is active from its SYN
    (SYN_RECV, as kernels since 4.8 count it).  Resets close the ones on B
    and A, which become inactive (overhead 1) while C stays active (256),
    so the next two SYNs go to B then A.  Had handshaking connections been
    inactive, all three would tie at 1 and C would be chosen first."""
    fr = syns(3)                                        # -> C, B, A
    for port in (40001, 40002):                         # B's and A's: ESTABLISHED, then RST
        fr += [c2v(port, "A", seq=1001, ack=5001), c2v(port, "R", seq=1001)]
    fr += syns(2, first_port=41000)                     # -> B, A
    r = replay(nat_rules("lc", [1, 1, 1]), fr)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 9, r.stderr
    got = [dst_rs(x) for x in r.rows]
    assert got[:3] == [C, B, A]
    assert got[3:7] == [B, B, A, A]                      # ACKs and resets follow their conns
    assert got[7:] == [B, A]


def test_weight_zero_gets_no_new_connections(replay):
    r = replay(nat_rules("rr", [1, 0]), syns(10))
    assert r.rc == 0, r.stderr
    assert [dst_rs(x) for x in r.rows] == [A] * 10
    s = r.summary()
    assert s["%s:8080" % B]["conns"] == 0 and s["%s:8080" % B]["weight"] == 0


def test_all_weights_zero_drops(replay):
    r = replay(nat_rules("wlc", [0, 0]), syns(3))
    assert r.rc == 0, r.stderr
    assert r.rows == []
    assert r.drops() == {"no_destination_available": 3}, r.stderr


def test_upper_threshold(replay):
    """A (-x 2) and B, rr from B: B A B A, then A is overloaded: B B B B."""
    r = replay(nat_rules("rr", [1, 1], extra={0: "-x 2"}), syns(8))
    assert r.rc == 0, r.stderr
    got = [dst_rs(x) for x in r.rows]
    assert got == [B, A, B, A, B, B, B, B]
    assert r.summary()["%s:8080" % A]["conns"] == 2


def test_upper_threshold_recovers_when_connections_end(replay):
    """A's two connections complete their handshake and are then reset
    (ESTABLISHED -> CLOSE, 10 s timeout); once they expire A is below its
    threshold again and rr gives it the next connection."""
    fr = syns(6)                                         # B A B A B B
    for port in (40001, 40003):
        fr += [s2c(A, 8080, port, "SA", seq=5000, ack=1001),
               c2v(port, "A", seq=1001, ack=5001),
               c2v(port, "R", seq=1001)]
    fr += syns(2, first_port=42000)
    t = [BASE_TIME + i * 0.001 for i in range(12)] + [BASE_TIME + 15, BASE_TIME + 15.001]
    r = replay(nat_rules("rr", [1, 1], extra={0: "-x 2"}), fr, times=t)
    assert r.rc == 0, r.stderr
    assert len(r.rows) == 14, r.stderr
    got = [dst_rs(x) for x in r.rows]
    assert got[:6] == [B, A, B, A, B, B]
    assert [got[i] for i in (7, 8, 10, 11)] == [A, A, A, A]  # ACK, RST follow their conns
    assert got[12:] == [A, B]


def test_one_packet_scheduling_udp(replay):
    """-o: every UDP datagram is scheduled on its own (rr alternates even
    within one flow) and no connection entry is kept."""
    from scapy.all import Ether, IP, UDP, Raw
    from conftest import GW_MAC, OUR_MAC, CLIENT, VIP
    rules = ["-A -u 10.0.0.1:53 -s rr -o",
             "-a -u 10.0.0.1:53 -r 192.168.10.1:53 -m -w 1",
             "-a -u 10.0.0.1:53 -r 192.168.10.2:53 -m -w 1"]
    fr = [Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP) /
          UDP(sport=5000, dport=53) / Raw(b"q%d" % i) for i in range(4)]
    r = replay(rules, fr)
    assert r.rc == 0, r.stderr
    assert [dst_rs(x) for x in r.rows] == [B, A, B, A]
    assert [x["eth.dst"][0] for x in r.rows] == [RS_MAC[1], RS_MAC[0]] * 2
    for x in r.rows:
        assert_csums_good(x)
    assert parse_counts(r.stderr)["conns"] == 0
