"""The XDP fast path end to end (lvsd --fastpath): established connections
are forwarded by the XDP program on the director's interfaces while lvsd
keeps every decision; with either driver (with AF_XDP the program stands
in for the driver's own and hands it the rest).

Covered: the 10 MB file intact through NAT (IPv4 and IPv6), DR and TUN
with most of its packets forwarded by the program, and its packets and
bytes in `lvsadm --stats` as user space would count them; a connection's
timer restarted by the packets only the program saw (a download longer
than the TCP timeout survives); a destination deleted under a running
download (its entries go, the download goes on through user space); a
real server whose MAC changes under a running download (entries
rewritten); a route with a smaller MTU to the client under a running
download (entries rewritten, larger frames sent up and answered, the
server's path MTU lowered); a TUN server's tunnel type edited under a running download
(entries rewritten, GUE on the wire); a full map (idle entries make
room for a busy connection); jumbo frames (multi-buffer in XDP)
with either driver, the fast path on and off; the program gone with lvsd
after SIGKILL; `--fastpath off`.
"""
import re
import signal
import subprocess
import time

import pytest

from .conftest import PY, Director, HeldDownload, WireCapture, addr_port, split_addr

NAT = pytest.mark.parametrize("module_lab", ["nat"], indirect=True)


def fast_status(d):
    """(entries, counters of the fast path line, the program's counters)
    from `lvsadm --status`; None when the fast path is off."""
    text = d.lvsadm("--status").stdout
    m = re.search(r"^XDP fast path: on, (\d+) entries; (.*)$", text, re.M)
    if not m:
        return None
    counts = {k: int(v) for v, k in re.findall(r"(\d+) ([a-z][a-z ]*?)(?:,|$)", m.group(2))}
    p = re.search(r"^  program:(.*)$", text, re.M)
    prog = {k: int(v) for k, v in re.findall(r"([a-z_]+) (\d+)", p.group(1))} if p else {}
    return int(m.group(1)), counts, prog


def forwarded(prog):
    return prog.get("tx", 0) + prog.get("redirect", 0)


def xdp_progs(lab):
    """Names of the XDP programs attached in the director namespace."""
    out = lab.run("director", "ip", "-d", "link", "show").stdout
    return re.findall(r"prog/xdp id \d+ name (\S+)", out)


def wait_for(pred, timeout=5.0, what="condition"):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("no %s within %.0f s" % (what, timeout))
        time.sleep(0.1)


@pytest.fixture(params=["afpacket", "afxdp"])
def fast(module_lab, request):
    d = Director(module_lab, request.param)
    try:
        yield d
    finally:
        d.close()


@pytest.mark.parametrize("module_lab", ["nat", "dr", "tun"], indirect=True)
def test_download_through_the_program(fast):
    d, e = fast, fast.lab.env
    mode = d.lab.mode
    key = d.service(e["VIP4"], sched="rr", rips=[d.lab.rips4[0]])
    assert fast_status(d) is not None, d.lvsadm("--status").stdout
    assert sorted(xdp_progs(d.lab)) == ["lvs_fast"] * len(e["DIR_IFS"].split())
    # read at 20 MB/s: half a second each, so the first 10 ms a connection
    # waits before it gets its entries (fastpathd.c) are a small part
    for _ in range(2):
        held = HeldDownload(d, e["VIP4"], rate=2e7, limit=20)
        assert held.result() == (0, e["BIG_SHA256"])
    entries, counts, prog = fast_status(d)
    # the handshakes and FINs went up, the rest went through the program
    # (DR/TUN: only the client's ACKs pass the director)
    assert counts["written"] >= 2, counts
    assert forwarded(prog) >= (1000 if mode == "nat" else 100), prog
    assert prog.get("broken", 0) == 0
    st = d.stats()[key]
    conns, inpkts, outpkts, inbytes, outbytes = st
    assert conns == 2
    size = int(e["BIG_SIZE"])
    if mode == "nat":
        # both directions, and every byte of the two files counted
        assert outbytes >= 2 * size and outpkts >= forwarded(prog) // 2, (st, prog)
    else:
        # DR/TUN: the client's ACKs only, as the kernel counts them
        assert inpkts >= forwarded(prog) and outpkts == 0, (st, prog)
    total = lambda: int(re.search(r"^Frames: (\d+) received", d.lvsadm("--status").stdout,
                                  re.M).group(1))
    assert total() < forwarded(prog), "user space saw most packets"
    if mode == "nat":
        key6 = d.service(e["VIP6"], sched="rr", rips=[d.lab.rips6[0]])
        assert d.lab.sha256("client", e["VIP6"]) == e["BIG_SHA256"]
        assert d.stats()[key6][4] >= size
    d.watch.assert_silent()


@NAT
def test_timer_follows_the_program(fast):
    """A TCP timeout of 6 s and a download of about 20 s that only the
    program forwards after its handshake: its entry's last-seen time
    restarts the connection's timer, so the connection lives on."""
    d, e = fast, fast.lab.env
    d.lvsadm("--set", "6", "0", "0")
    d.service(e["VIP4"], sched="rr", rips=[d.lab.rips4[0]])
    held = HeldDownload(d, e["VIP4"], rate=5e5, limit=40)
    wait_for(lambda: (fast_status(d) or (0,))[0] >= 2, what="fast path entries")
    time.sleep(10)
    assert held.running()
    ent = d.wait_conn(lambda c: c["state"] == "ESTABLISHED")
    # restarted within the last sweep (1 s) or so
    assert ent["expire"] >= 4, ent
    entries, counts, prog = fast_status(d)
    assert forwarded(prog) >= 1000, prog
    assert held.result() == (0, e["BIG_SHA256"])
    d.watch.assert_silent()


@NAT
def test_destination_deleted_under_download(fast):
    """Deleting the real server a download goes to: the program stops
    forwarding it at once, user space carries the connection on to its
    server (the kernel's expire_nodest_conn=0), nothing breaks."""
    d, e = fast, fast.lab.env
    d.service(e["VIP4"], sched="rr", rips=d.lab.rips4[:2])
    held = HeldDownload(d, e["VIP4"], rate=1e6, limit=40)
    ent = d.wait_conn(lambda c: c["state"] == "ESTABLISHED")
    wait_for(lambda: fast_status(d)[0] >= 2, what="fast path entries")
    time.sleep(1)
    d.lvsadm("-d", "-t", addr_port(e["VIP4"], 80), "-r", ent["dst"])
    wait_for(lambda: fast_status(d)[0] == 0, timeout=2, what="entries removed")
    before = forwarded(fast_status(d)[2])
    time.sleep(1.5)
    assert held.running()
    _, counts, prog = fast_status(d)
    assert forwarded(prog) == before, "the program still forwards to a deleted server"
    assert counts["removed"] >= 2
    assert held.result() == (0, e["BIG_SHA256"])
    d.watch.assert_silent()


@NAT
def test_server_mac_change_rewrites(fast):
    """The real server's MAC changes under a download (a NIC replaced):
    once the director's neighbour table has the new one, the entries are
    written again with it and the download goes on."""
    d, e = fast, fast.lab.env
    rip = d.lab.rips4[0]
    d.service(e["VIP4"], sched="rr", rips=[rip])
    held = HeldDownload(d, e["VIP4"], rate=1e6, limit=40)
    wait_for(lambda: fast_status(d)[0] >= 2, what="fast path entries")
    time.sleep(1)
    rs = "rs1"
    old = e["RS1_MAC"]
    new = "02:00:00:00:0a:11"
    try:
        d.lab.run(rs, "ip", "link", "set", e["RS1_IF"], "address", new)
        d.lab.run("director", "ip", "neigh", "replace", rip, "lladdr", new, "dev",
                  e["DIR_IF_SERVER"], "nud", "reachable")
        wait_for(lambda: fast_status(d)[1]["rewritten"] >= 1, timeout=3,
                 what="entry rewritten")
        assert held.result() == (0, e["BIG_SHA256"])
    finally:
        d.lab.run(rs, "ip", "link", "set", e["RS1_IF"], "address", old, check=False)
        d.lab.run("director", "ip", "neigh", "replace", rip, "lladdr", old, "dev",
                  e["DIR_IF_SERVER"], "nud", "reachable", check=False)
    d.watch.assert_silent()


@NAT
def test_route_mtu_change_under_download(fast):
    """A route change under a download: a host route to the client with an
    MTU of 1400 comes in front of the connected one.  The reply entry is
    written again with that MTU, so the program stops forwarding the
    server's 1500-byte frames: they go up, lvsd answers fragmentation
    needed, the server learns the path MTU and sends smaller segments,
    which the program forwards again, and the download completes.  (The
    client's side of the wire has GRO on, so tshark there would see
    coalesced frames: the server's route cache is the witness.)"""
    d, e = fast, fast.lab.env
    client = e["CLIENT_IP4"]
    d.service(e["VIP4"], sched="rr", rips=[d.lab.rips4[0]])
    d.lab.run("rs1", "ip", "route", "flush", "cache", check=False)
    held = HeldDownload(d, e["VIP4"], rate=1e6, limit=40)
    wait_for(lambda: fast_status(d)[0] >= 2, what="fast path entries")
    time.sleep(1)
    _, counts, prog0 = fast_status(d)
    assert prog0.get("mtu", 0) == 0, prog0
    route = [client + "/32", "dev", e["DIR_IF_CLIENT"]]
    try:
        d.lab.run("director", "ip", "route", "add", *route, "mtu", "1400")
        wait_for(lambda: fast_status(d)[1]["rewritten"] > counts["rewritten"], timeout=3,
                 what="entry rewritten")
        wait_for(lambda: "mtu 1400" in d.lab.run("rs1", "ip", "route", "get", client).stdout,
                 timeout=5, what="path MTU learnt by the server")
        _, _, prog1 = fast_status(d)
        time.sleep(1.5)
        assert held.running()
        _, _, prog2 = fast_status(d)
    finally:
        d.lab.run("director", "ip", "route", "del", *route, check=False)
    assert prog1.get("mtu", 0) >= 1, prog1
    assert forwarded(prog2) - forwarded(prog1) >= 100, (prog1, prog2)
    assert held.result() == (0, e["BIG_SHA256"])
    d.lab.run("rs1", "ip", "route", "flush", "cache", check=False)
    d.watch.assert_silent()


@pytest.mark.parametrize("module_lab", ["tun"], indirect=True)
def test_tunnel_edited_under_download(fast):
    """A model change under a download: the server's tunnel edited from
    IPIP to GUE.  The entry is written again with the new encapsulation,
    so what the program sends the server from then on is GUE (tshark on
    the wire), and the download goes on intact."""
    d, e = fast, fast.lab.env
    rip = d.lab.rips4[0]
    svc = addr_port(e["VIP4"], 80)
    d.service(e["VIP4"], sched="rr", rips=[rip])
    held = HeldDownload(d, e["VIP4"], rate=1e6, limit=40)
    wait_for(lambda: fast_status(d)[0] >= 1, what="fast path entry")
    time.sleep(1)
    rewritten = fast_status(d)[1]["rewritten"]
    cap = WireCapture(d.lab, [e["DIR_IF_SERVER"]], bpf="udp dst port 6080", duration=20)
    try:
        d.lvsadm("-e", "-t", svc, "-r", addr_port(rip, 80), "-i", "--tun-type", "gue",
                 "--tun-port", "6080")
        wait_for(lambda: fast_status(d)[1]["rewritten"] > rewritten, timeout=3,
                 what="entry rewritten")
        before = forwarded(fast_status(d)[2])
        time.sleep(2)
        assert held.running()
        after = forwarded(fast_status(d)[2])
        gue = cap.frames("ip.dst", "udp.dstport")
    finally:
        cap.stop()
    assert after - before >= 20, (before, after)
    # every frame the program forwarded since the rewrite went out as GUE
    assert len(gue) >= after - before, (len(gue), before, after)
    assert all(f["ip.dst"] == [rip] for f in gue), gue[:3]
    assert held.result() == (0, e["BIG_SHA256"])
    d.watch.assert_silent()


IDLE_CONNS = r"""
import socket, sys, time
vip, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def ask(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
         if l.lower().startswith(b"content-length:")][0]
    while len(body) < n:
        body += s.recv(65536)
    return head.split(b" ")[1].decode()
socks = [socket.create_connection((vip, 80), timeout=10) for _ in range(n)]
first = [ask(s) for s in socks]
print("ready", flush=True)
time.sleep(hold)
print(" ".join(first + [ask(s) for s in socks]), flush=True)
"""


@NAT
@pytest.mark.parametrize("io", ["afpacket", "afxdp"])
def test_full_map_evicts_idle_entries(module_lab, io):
    """--fastpath-entries 4: two idle keep-alive connections fill the map
    (an entry each way).  A download that starts later takes the entries
    of the idle ones, which go on through user space: the download is
    forwarded by the program, the idle connections answer their next
    request."""
    lab, e = module_lab, module_lab.env
    d = Director(lab, io, extra=("--fastpath", "on", "--fastpath-entries", "4"))
    try:
        d.service(e["VIP4"], sched="rr", rips=[lab.rips4[0]])
        idle = d.spawn("client", PY, "-c", IDLE_CONNS, e["VIP4"], "2", "8",
                       stdout=subprocess.PIPE, text=True)
        assert idle.stdout.readline().strip() == "ready"
        wait_for(lambda: fast_status(d)[0] == 4, what="the map full")
        time.sleep(1.5)  # idle for longer than a second
        assert fast_status(d)[1]["evicted"] == 0
        held = HeldDownload(d, e["VIP4"], rate=2e6, limit=30)
        wait_for(lambda: fast_status(d)[1]["evicted"] >= 2, what="idle entries evicted")
        before = forwarded(fast_status(d)[2])
        time.sleep(1)
        assert forwarded(fast_status(d)[2]) - before >= 100, fast_status(d)
        assert held.result() == (0, e["BIG_SHA256"])
        out, _ = idle.communicate(timeout=20)
        assert out.split() == ["200"] * 4, out
        assert fast_status(d)[0] <= 4
        d.watch.assert_silent()
    finally:
        d.close()


def set_mtu(lab, mtu):
    """Every link of the lab but lo to mtu (bridges after their ports)."""
    links = []
    for ns in lab.env["NS_ALL"].split():
        out = subprocess.run(["ip", "-n", ns, "-o", "link", "show"], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            if name != "lo":
                links.append((ns, name))
    for ns, name in sorted(links, key=lambda l: l[1].startswith("br")):
        subprocess.run(["ip", "-n", ns, "link", "set", name, "mtu", str(mtu)], check=True)


@NAT
@pytest.mark.parametrize("fastpath", ["on", "off"])
@pytest.mark.parametrize("io", ["afpacket", "afxdp"])
def test_jumbo_frames(module_lab, io, fastpath):
    """Links of MTU 9000 end to end: frames larger than a page, which XDP
    sees as multi-buffer frames.  The AF_XDP driver receives and sends
    them as chains of descriptors (its multi-buffer program attached), the
    fast path's program forwards them; the file arrives intact and, where
    an XDP program is attached, the service's statistics count frames of
    jumbo size."""
    lab, e = module_lab, module_lab.env
    d = None
    set_mtu(lab, 9000)
    try:
        d = Director(lab, io, extra=("--fastpath", fastpath))
        key = d.service(e["VIP4"], sched="rr")
        for _ in range(2):
            assert lab.sha256("client", e["VIP4"]) == e["BIG_SHA256"]
        conns, inpkts, outpkts, inbytes, outbytes = d.stats()[key]
        # With an XDP program on the director's veths their peers send no
        # TSO super-frames, so frames over a page can only be jumbo ones;
        # without one (AF_PACKET, fast path off) super-frames would pass
        # this check at any MTU, so there it says nothing and is skipped.
        if io == "afxdp" or fastpath == "on":
            assert outpkts and outbytes / outpkts > 4096, d.stats()[key]
        nif = len(e["DIR_IFS"].split())
        if fastpath == "on":
            assert xdp_progs(lab) == ["lvs_fast"] * nif
            assert forwarded(fast_status(d)[2]) >= 500, fast_status(d)
        elif io == "afxdp":
            assert xdp_progs(lab) == ["lvs_xdp_mb"] * nif
        d.watch.assert_silent()
    finally:
        if d:
            d.close()
        set_mtu(lab, 1500)


@NAT
def test_sigkill_takes_the_program_and_off(module_lab):
    lab, e = module_lab, module_lab.env
    d = Director(lab, "afpacket")
    try:
        d.service(e["VIP4"], sched="rr")
        assert lab.sha256("client", e["VIP4"]) == e["BIG_SHA256"]
        assert len(xdp_progs(lab)) == len(e["DIR_IFS"].split())
        d.lvsd.proc.send_signal(signal.SIGKILL)
        d.lvsd.proc.wait(5)
        wait_for(lambda: not xdp_progs(lab), timeout=3, what="program detached")
    finally:
        d.close()
    d = Director(lab, "afpacket", extra=("--fastpath", "off"))
    try:
        d.service(e["VIP4"], sched="rr")
        assert lab.sha256("client", e["VIP4"]) == e["BIG_SHA256"]
        assert xdp_progs(lab) == []
        assert fast_status(d) is None
        d.watch.assert_silent()
    finally:
        d.close()
