"""lvsd end-to-end in NAT (masquerading, lvsadm -m): the lab's client asks
the VIP with curl / wrk / socat, lvsd rewrites toward nginx (or socat) on
the three real servers and rewrites their answers back.  Every test runs
once per packet I/O driver (afxdp is skipped until lvsd lists it).

Covered: wrr 3:2:1 over 600 new connections, rr's order and evenness, wlc
with idle and active connections, persistence (-p), weight 0 (quiesce),
deleting a real server under an open connection, the 10 MB file intact
over IPv4 and IPv6, a UDP service (IPv4 and IPv6), the first datagram /
SYN toward a server whose MAC is not known yet (held until resolved, not
lost), a short wrk load, the headers on the wire (tshark), and that the
director's own kernel never answers VIP traffic (see KernelWatch in
conftest.py).
"""
import collections
import re
import subprocess
import time

import pytest

from .conftest import (PY, WireCapture, HeldDownload, addr_port, check_kernel_never_answers,
                       client_addrs, fresh_conns, sha256_responders, split_addr, udp_ask,
                       udp_asks, udp_responders, upload, upload_file, within)

pytestmark = pytest.mark.parametrize("module_lab", ["nat"], indirect=True)


# ----------------------------------------------------------- schedulers --

def test_wrr_weights_3_2_1(director):
    d, e = director, director.lab.env
    key = d.service(e["VIP4"], sched="wrr", weights=[3, 2, 1])
    c = fresh_conns(d.lab, e["VIP4"], 600)
    assert c["error"] == 0, c
    want = {"server1": 300, "server2": 200, "server3": 100}
    for name, n in want.items():
        assert within(c[name], n), (name, c)
    st = d.stats()
    assert st[key][0] == 600, st[key]
    for i, name in enumerate(d.lab.servers):
        conns, inpkts, outpkts, inbytes, outbytes = st["%s -> %s:80" % (key, d.lab.rips4[i])]
        assert conns == c[name]
        # NAT: both directions pass lvsd
        assert inpkts >= 3 * conns and outpkts >= 3 * conns and outbytes > inbytes > 0
    d.watch.assert_silent()


def test_rr_order_and_evenness(director):
    d, e = director, director.lab.env
    d.service(e["VIP4"], sched="rr")
    # The kernel puts a new destination at the head of the list: rr starts
    # with the one added last (server3) and walks back.
    first = [fresh_conns(d.lab, e["VIP4"], 1) for _ in range(3)]
    assert [list(c) for c in first] == [["server3"], ["server2"], ["server1"]]
    c = fresh_conns(d.lab, e["VIP4"], 30)
    assert c == {"server1": 10, "server2": 10, "server3": 10}
    d.watch.assert_silent()


def test_wlc_idle_and_active(director):
    d, e = director, director.lab.env
    key = d.service(e["VIP4"], sched="wlc")
    # Only idle (TIME_WAIT, inactive) connections: an even spread.
    c = fresh_conns(d.lab, e["VIP4"], 30)
    assert c["error"] == 0 and all(abs(c[n] - 10) <= 1 for n in d.lab.servers), c
    # One active connection weighs 256 inactive ones (kernel wlc: overhead =
    # active * 256 + inactive): its server gets no new connection.
    held = HeldDownload(d, e["VIP4"])
    ent = d.wait_conn(lambda x: x["state"] == "ESTABLISHED")
    busy = d.server_of(split_addr(ent["dst"])[0])
    dests = d.listing()[key]["dests"]
    assert dests[ent["dst"]][2] == 1, dests          # ActiveConn
    c = fresh_conns(d.lab, e["VIP4"], 20)
    assert c["error"] == 0 and busy not in c, (busy, c)
    assert sum(c.values()) == 20
    assert held.running(), "the download ended before the test was done"
    assert held.result() == (0, e["BIG_SHA256"])
    d.watch.assert_silent()


def test_persistence_keeps_client_on_one_server(director):
    d, e = director, director.lab.env
    key = d.service(e["VIP4"], sched="rr", svc_opts=("-p", "60"))
    assert d.listing()[key]["flags"] == "persistent 60"
    other = e["CLIENT_EXTRA4"].split()[0]
    a = fresh_conns(d.lab, e["VIP4"], 12)
    b = fresh_conns(d.lab, e["VIP4"], 12, src=other)
    a2 = fresh_conns(d.lab, e["VIP4"], 6)
    assert len(a) == 1 and sum(a.values()) == 12 and "error" not in a, a
    assert len(b) == 1 and sum(b.values()) == 12 and "error" not in b, b
    assert a2 == collections.Counter({list(a)[0]: 6}), (a, a2)
    # rr scheduled each client's template once: different servers.
    assert list(a) != list(b)
    # The templates (client address, port 0) name the chosen servers.
    tmpl = {split_addr(c["src"])[0]: d.server_of(split_addr(c["dst"])[0])
            for c in d.conns() if c["state"] == "NONE" and split_addr(c["src"])[1] == 0}
    assert tmpl == {e["CLIENT_IP4"]: list(a)[0], other: list(b)[0]}, d.conns()
    d.watch.assert_silent()


# ------------------------------------------------- changing real servers --

def test_weight_zero_quiesces(director):
    d, e = director, director.lab.env
    key = d.service(e["VIP4"], sched="rr")
    held = HeldDownload(d, e["VIP4"])
    ent = d.wait_conn(lambda x: x["state"] == "ESTABLISHED")
    busy = d.server_of(split_addr(ent["dst"])[0])
    d.lvsadm("-e", "-t", addr_port(e["VIP4"], 80), "-r", ent["dst"], "-m", "-w", "0")
    out_before = d.stats()["%s -> %s" % (key, ent["dst"])][4]
    fwd, weight, active, _ = d.listing()[key]["dests"][ent["dst"]]
    assert (fwd, weight, active) == ("Masq", 0, 1)
    c = fresh_conns(d.lab, e["VIP4"], 30)
    others = [n for n in d.lab.servers if n != busy]
    assert c == {others[0]: 15, others[1]: 15}, (busy, c)
    assert held.running(), "the download ended before the test was done"
    # the quiesced server's connection kept carrying data
    assert d.stats()["%s -> %s" % (key, ent["dst"])][4] > out_before
    # the open connection goes on to the end, intact
    assert held.result() == (0, e["BIG_SHA256"])
    d.watch.assert_silent()


def test_delete_real_server(director):
    d, e = director, director.lab.env
    key = d.service(e["VIP4"], sched="rr")
    held = HeldDownload(d, e["VIP4"])
    ent = d.wait_conn(lambda x: x["state"] == "ESTABLISHED")
    gone = d.server_of(split_addr(ent["dst"])[0])
    d.lvsadm("-d", "-t", addr_port(e["VIP4"], 80), "-r", ent["dst"])
    assert ent["dst"] not in d.listing()[key]["dests"]
    assert len(d.listing()[key]["dests"]) == 2
    c = fresh_conns(d.lab, e["VIP4"], 20)
    others = [n for n in d.lab.servers if n != gone]
    assert c == {others[0]: 10, others[1]: 10}, (gone, c)
    assert held.running(), "the download ended before the test was done"
    # ipvsadm -d: the server's connections continue until they expire
    assert held.result() == (0, e["BIG_SHA256"])
    d.watch.assert_silent()


# -------------------------------------------------------- data, families --

@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_big_download_is_byte_identical(director, fam):
    d, e = director, director.lab.env
    vip = e["VIP4"] if fam == "ipv4" else e["VIP6"]
    d.service(vip, sched="rr")
    # three downloads: one from each server
    for _ in range(3):
        assert d.lab.sha256("client", vip) == e["BIG_SHA256"]
    st = d.stats()
    key = "TCP %s" % addr_port(vip, 80)
    assert st[key][0] == 3 and st[key][4] > 3 * int(e["BIG_SIZE"])   # OutBytes
    d.watch.assert_silent()


@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_upload_is_byte_identical(director, fam):
    """2 MB from the client (TSO super-frames on veth) through NAT to a
    socat that answers with the sha256 of what arrived."""
    d, e = director, director.lab.env
    vip = e["VIP4"] if fam == "ipv4" else e["VIP6"]
    sha256_responders(d, 9000)
    d.service(vip, port=9000, sched="rr")
    path, want = upload_file(d.lab)
    for _ in range(3):
        assert upload(d.lab, vip, path) == want
    d.watch.assert_silent()


def test_ipv6_service(director):
    d, e = director, director.lab.env
    d.service(e["VIP6"], sched="rr")
    c = fresh_conns(d.lab, e["VIP6"], 30)
    assert c == {"server1": 10, "server2": 10, "server3": 10}
    ents = [x for x in d.conns() if split_addr(x["vip"]) == (e["VIP6"], 80)]
    assert len(ents) == 30
    # one source: the client's (IPv6 source selection may pick any of its
    # addresses on the LAN)
    srcs = {split_addr(x["src"])[0] for x in ents}
    assert len(srcs) == 1 and srcs <= client_addrs(e), srcs
    assert {split_addr(x["dst"])[0] for x in ents} == set(d.lab.rips6)
    d.watch.assert_silent()


def warm_neighbours(d, rips):
    """Resolve the servers' MACs in the director namespace (one ping each),
    as on a director that has been running for a while; the first packet
    toward an unresolved server is test_first_datagram_to_new_server's
    subject, not this test's."""
    for rip in rips:
        d.lab.run("director", "ping", "-n", "-c", "1", "-W", "1", rip, check=False)


@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_udp_service(director, fam):
    d, e = director, director.lab.env
    vip = e["VIP4"] if fam == "ipv4" else e["VIP6"]
    rips = d.lab.rips4 if fam == "ipv4" else d.lab.rips6
    udp_responders(d, 5353, 4 if fam == "ipv4" else 6)
    warm_neighbours(d, rips)
    key = d.service(vip, port=5353, proto="-u", sched="rr")
    # a socat client: rr starts with the server added last
    assert udp_ask(d.lab, vip) == "server3"
    # each datagram from a new socket is a new flow: rr spreads them
    c = collections.Counter(udp_asks(d.lab, vip, 8))
    assert c == {"server1": 3, "server2": 3, "server3": 2}, c
    ents = [x for x in d.conns() if x["proto"] == "UDP"]
    assert len(ents) == 9 and all(split_addr(x["vip"]) == (vip, 5353) for x in ents), ents
    assert {split_addr(x["dst"]) for x in ents} == {(r, 5353) for r in rips}
    # one socket, five datagrams: one flow, one server
    got = udp_asks(d.lab, vip, 5, one_socket=True)
    assert len(got) == 5 and len(set(got)) == 1 and got[0] in d.lab.servers, got
    st = d.stats()
    assert st[key][:3] == [10, 14, 14], st[key]
    d.watch.assert_silent()


FIRST_DATAGRAM = r"""
import socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.connect((a, p))
print("ready", flush=True)
sys.stdin.readline()
s.send(b"first\n")
try:
    print(s.recv(200).decode().strip(), flush=True)
except OSError:
    print("error", flush=True)
"""


def test_first_datagram_to_new_server(director):
    """Kernel IPVS hands a packet to the neighbour layer, which queues it
    until ARP/ND completes; lvsd holds it in the worker's hold queue: the
    first UDP datagram to a server the director has not talked to yet
    arrives."""
    d, e = director, director.lab.env
    udp_responders(d, 5353, 4)
    d.lvsadm("-A", "-u", addr_port(e["VIP4"], 5353), "-s", "rr")
    # the director has never talked to rs1: no neighbour entry
    d.lab.run("director", "ip", "neigh", "flush", "dev", e["DIR_IF_SERVER"])
    sender = d.spawn("client", PY, "-c", FIRST_DATAGRAM, e["VIP4"], "5353",
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sender.stdout.readline().strip() == "ready"
    d.lvsadm("-a", "-u", addr_port(e["VIP4"], 5353), "-r", addr_port(d.lab.rips4[0], 5353), "-m")
    out, _ = sender.communicate("go\n", timeout=10)
    assert out.strip() == "server1", d.lvsd.output()


FIRST_CONNECT = r"""
import socket, sys, time
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(5)
print("ready", flush=True)
sys.stdin.readline()
t0 = time.monotonic()
try:
    s.connect((a, p))
    print("%.3f" % (time.monotonic() - t0), flush=True)
except OSError as e:
    print("error %s" % e, flush=True)
sys.stdin.readline()
"""


@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_first_syn_after_neigh_flush(director, fam):
    """The TCP side of the same: after `ip neigh flush` on the director
    (both sides: the SYN toward the server and the SYN-ACK back toward the
    client find no neighbour entry), the first SYN is held, not lost, so
    connect() takes no 1 s retransmission."""
    d, e = director, director.lab.env
    vip = e["VIP4"] if fam == "ipv4" else e["VIP6"]
    key = d.service(vip, sched="rr")
    # every server has been reached once, so their MACs were known: the
    # flush below is what makes the next hops unknown again
    assert fresh_conns(d.lab, vip, 3) == {"server1": 1, "server2": 1, "server3": 1}
    before = d.stats()[key]
    sender = d.spawn("client", PY, "-c", FIRST_CONNECT, vip, "80",
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sender.stdout.readline().strip() == "ready"
    d.lab.run("director", "ip", "neigh", "flush", "all")
    time.sleep(0.2)     # lvsd's copy of the table follows the kernel's
    sender.stdin.write("go\n")
    sender.stdin.flush()
    took = sender.stdout.readline().strip()
    assert took and not took.startswith("error"), (took, d.lvsd.output())
    assert float(took) < 0.5, (took, d.lvsd.output())
    # The connection is open and idle: the handshake's SYN and ACK came in,
    # the SYN-ACK went out.  Held packets are counted once, not per try.
    time.sleep(0.3)
    after = d.stats()[key]
    sender.communicate("bye\n", timeout=10)
    assert [a - b for a, b in zip(after[:3], before[:3])] == [1, 2, 1], (before, after)
    d.watch.assert_silent()
    # lvsadm --status: packets were held, none lost
    status = d.lvsadm("--status").stdout
    held = re.search(r"^Held for next-hop resolution: (\d+) \((\d+) sent later", status, re.M)
    assert held and int(held.group(1)) >= 1 and held.group(1) == held.group(2), status
    assert "next_hop_unresolved" not in status, status


def test_port_reuse_is_a_new_connection(director):
    d, e = director, director.lab.env
    key = d.service(e["VIP4"], sched="rr")
    ask = ["curl", "-s", "-m", "3", "--local-port", "45123", "-H", "Connection: close",
           "http://%s/" % e["VIP4"]]
    first = d.lab.run("client", *ask).stdout.strip()
    assert first == "server3"
    ent = d.wait_conn(lambda x: x["src"].endswith(":45123"))
    assert ent["state"] == "TIME_WAIT"
    # quiesce the server that connection went to
    d.lvsadm("-e", "-t", addr_port(e["VIP4"], 80), "-r", ent["dst"], "-m", "-w", "0")
    second = d.lab.run("client", *ask).stdout.strip()
    assert second in d.lab.servers and second != first, (first, second)
    assert d.stats()[key][0] == 2


def test_wrk_load(director):
    """A short bounded wrk run, a new connection per request: no errors,
    and every server carried a third of the packets."""
    d, e = director, director.lab.env
    key = d.service(e["VIP4"], sched="rr")
    r = d.lab.run("client", "wrk", "-t1", "-c4", "-d2s", "-H", "Connection: close",
                  "http://%s/" % e["VIP4"], timeout=20)
    assert "Socket errors" not in r.stdout and "Non-2xx" not in r.stdout, r.stdout
    n = int(r.stdout.split(" requests in ")[0].split()[-1])
    assert n > 50, r.stdout
    st = d.stats()
    # (Conns may count fewer: see test_port_reuse_is_a_new_connection)
    assert st[key][1] >= 4 * n and st[key][2] >= 4 * n, (st[key], n)
    for rip in d.lab.rips4:
        assert st["%s -> %s:80" % (key, rip)][1] >= n, st
    d.watch.assert_silent()


# ------------------------------------------------------------ the wire --

def test_wire_nat_rewrites(director):
    """tshark on the wires of the director's two interfaces (their far ends): toward a server lvsd
    changes only the destination (client address kept, the server's MAC);
    toward the client the source is the VIP (never a RIP), the MAC the
    client's; the rewritten IPv4 headers carry good checksums."""
    d, e = director, director.lab.env
    d.service(e["VIP4"], sched="rr")
    d.service(e["VIP6"], sched="rr")
    cap = WireCapture(d.lab, ["eth0", "eth1"], bpf="tcp port 80")
    c4 = fresh_conns(d.lab, e["VIP4"], 3)
    c6 = fresh_conns(d.lab, e["VIP6"], 3)
    assert len(c4) == 3 and len(c6) == 3, (c4, c6)
    fr = cap.frames("frame.interface_name", "eth.src", "eth.dst", "ip.src", "ip.dst",
                    "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.flags",
                    "ip.checksum.status", opts=["ip.check_checksum:TRUE"])
    macs = {e["RS%d_IP4" % i]: e["RS%d_MAC" % i] for i in (1, 2, 3)}
    macs.update({e["RS%d_IP6" % i]: e["RS%d_MAC" % i] for i in (1, 2, 3)})
    to_rs = [f for f in fr if f["frame.interface_name"] == ["eth1"]
             and f["eth.src"] == [e["DIR_MAC_eth1"]]]
    to_cli = [f for f in fr if f["frame.interface_name"] == ["eth0"]
              and f["eth.src"] == [e["DIR_MAC_eth0"]]]
    from_cli = [f for f in fr if f["eth.src"] == [e["CLIENT_MAC"]]]
    assert to_rs and to_cli and from_cli, cap.text()
    syn_dst = set()
    for f in to_rs:
        src = (f["ip.src"] or f["ipv6.src"])[0]
        dst = (f["ip.dst"] or f["ipv6.dst"])[0]
        assert src in client_addrs(e), f
        assert dst in macs and f["eth.dst"] == [macs[dst]], f
        assert f["tcp.dstport"] == ["80"], f
        if f["tcp.flags"] == ["0x0002"]:
            syn_dst.add(dst)
    # rr: each family's three SYNs went to the three servers
    assert syn_dst == set(d.lab.rips4) | set(d.lab.rips6), syn_dst
    for f in to_cli:
        src = (f["ip.src"] or f["ipv6.src"])[0]
        assert src in (e["VIP4"], e["VIP6"]), f
        assert (f["ip.dst"] or f["ipv6.dst"])[0] in client_addrs(e), f
        assert f["tcp.srcport"] == ["80"] and f["eth.dst"] == [e["CLIENT_MAC"]], f
    for f in from_cli:
        assert (f["ip.dst"] or f["ipv6.dst"])[0] in (e["VIP4"], e["VIP6"]), f
    # the IPv4 header checksum is never offloaded: lvsd's must be right
    # (tshark: 1 = good)
    bad = [f for f in to_rs + to_cli if f["ip.checksum.status"] not in ([], ["1"])]
    assert not bad, bad
    d.watch.assert_silent()


# ------------------------------------------- the director's kernel is mute --

def test_kernel_never_answers(director):
    check_kernel_never_answers(director)


def test_lvsd_runs_the_chosen_driver(director):
    """The daemon says which I/O driver it serves with."""
    assert "(%s I/O" % director.io in director.lvsd.output()
    assert director.lvsd.proc.poll() is None
    assert director.lab.lvsadm("-L", "-n").returncode == 0


# ----------------------------------------------------------- --status --

BAD_FRAMES = r"""
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, send
vip = sys.argv[1]
# three segments of no connection (dropped: not a SYN), one IPv4 header
# with a wrong checksum
send([IP(dst=vip) / TCP(sport=42000 + i, dport=80, flags="A", seq=1, ack=1)
      for i in range(3)], verbose=0)
send(IP(dst=vip, chksum=0x1234) / TCP(sport=42100, dport=80, flags="S"), verbose=0)
"""


def parse_status(text):
    """`lvsadm --status` -> (frames dict, drops dict, I/O lines)."""
    m = re.search(r"^Frames: (\d+) received, (\d+) forwarded, (\d+) passed, (\d+) dropped$",
                  text, re.M)
    assert m, text
    frames = dict(zip(("received", "forwarded", "passed", "dropped"), map(int, m.groups())))
    drops = {k: int(v) for k, v in re.findall(r"^  ([a-z0-9_]+) +(\d+)$", text, re.M)}
    io = re.findall(r"^  worker (\d+) (\S+): rx (\d+) frames", text, re.M)
    g = re.search(r"^Host guard \(frames kept from the host's stack\):(( \S+ \d+)+)$", text, re.M)
    assert g, text
    w = g.group(1).split()
    guard = {w[i]: int(w[i + 1]) for i in range(0, len(w), 2)}
    return frames, drops, io, guard


def test_status_counts_drops_by_reason(director):
    """lvsadm --status: bad frames to the VIP are counted under their drop
    reasons, every received frame has one verdict, each worker's
    interfaces show their packet I/O counters, and the host guard's count
    shows who kept the frames from the host: the guard itself with
    AF_PACKET (a tap: the host gets a copy, the guard drops it), nobody
    with AF_XDP (its program hands VIP traffic to lvsd alone)."""
    d, e = director, director.lab.env
    d.service(e["VIP4"], sched="rr")
    assert fresh_conns(d.lab, e["VIP4"], 3).get("error", 0) == 0
    before = parse_status(d.lvsadm("--status").stdout)
    d.lab.run("client", PY, "-c", BAD_FRAMES, e["VIP4"], timeout=60)
    deadline = time.monotonic() + 5
    while True:
        out = d.lvsadm("--status").stdout
        frames, drops, io, guard = parse_status(out)
        if drops.get("ipv4_bad_header_checksum", 0) >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert drops.get("ipv4_bad_header_checksum", 0) - \
        before[1].get("ipv4_bad_header_checksum", 0) == 1, out
    assert drops.get("tcp_new_flow_without_syn", 0) - \
        before[1].get("tcp_new_flow_without_syn", 0) >= 3, out
    assert frames["dropped"] == sum(drops.values()), out
    assert frames["received"] == frames["forwarded"] + frames["passed"] + frames["dropped"], out
    assert "%s I/O on %s" % (d.io, " ".join(e["DIR_IFS"].split())) in out, out
    assert {i for _, i, _ in io} == set(e["DIR_IFS"].split()), out
    kept = guard[e["DIR_IF_CLIENT"]] - before[3][e["DIR_IF_CLIENT"]]
    if d.io == "afpacket":
        assert kept >= 4, out
    else:
        assert kept == 0 and "XDP program: " in out, out
    assert sum(int(n) for _, i, n in io if i == e["DIR_IF_CLIENT"]) >= 9, out
    # not an ipvsadm command: it takes no options
    r = d.lvsadm("--status", "-n", check=False)
    assert r.returncode == 2 and "takes no options" in r.stderr, r
    d.watch.assert_silent()
