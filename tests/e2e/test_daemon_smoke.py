"""lvsd smoke test: the daemon on real interfaces, self-contained.

Three network namespaces joined by veth pairs, offloads left ON everywhere
(a local sender's TCP reaches lvsd checksum-partial and as GSO super-frames):

    client  --c0 ---- d0--  director  --d1 ---- s0--  server
    10.1.0.2/24          10.1.0.1/24  10.2.0.1/24        10.2.0.2/24
    fd01::2/64           fd01::1/64   fd02::1/64         fd02::2/64

The director's kernel forwards nothing (ip_forward=0) unless a test says
so; the server's default route is the director (NAT).  VIPs 10.1.0.100
and fd01::100 are on the client's link, so the client resolves them with
ARP / ND, which only lvsd answers.  The server is python3's http.server.

Checked: a request through the VIP works (a 2 MB body arrives intact,
IPv4 and IPv6, and a 2 MB upload too); the director's kernel sent no TCP
RST and forwarded nothing (nft counters on its output and forward hooks:
lvsd's AF_PACKET frames pass neither), and the client never received an
untranslated reply, with forwarding off and on; with --sw-offload every
frame lvsd sends is at most MTU-sized with correct checksums (decoded by
tshark), and likewise when the kernel finishes lvsd's offload requests;
ARP, ND and ping of the VIP, announcements when it is taken, learning of
the asker; neighbour resolution after the director forgot every neighbour;
SIGTERM ends lvsd with exit 0, its nft tables and pid file gone;
background mode with a pid file; lvsd stays idle without traffic; usage
errors exit 2.  Set LVD_KEEP=1 to keep captures and logs.

Names are unique per run ("lvd<pid>..."); everything is removed at
teardown, pass or fail.  Only processes this module started are signalled.
"""
import hashlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LVS_BUILD", REPO / "build"))
LVSD = Path(os.environ.get("LVSD", BUILD / "lvsd"))
LVSADM = Path(os.environ.get("LVSADM", BUILD / "lvsadm"))
PY = "/usr/bin/python3"

VIP4, VIP6 = "10.1.0.100", "fd01::100"
RS4, RS6 = "10.2.0.2", "fd02::2"
MTU = 1500

SINK = """
import socket
s = socket.create_server(("::", 9000), family=socket.AF_INET6, dualstack_ipv6=True)
while True:
    c, _ = s.accept()
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    c.sendall(b"ok %d" % n)
    c.close()
"""

UPLOAD = """
import socket, sys
c = socket.create_connection((sys.argv[1], 9000), timeout=5)
c.sendall(b"x" * int(sys.argv[2]))
c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode())
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def sh(*cmd, check=True, timeout=20, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(c) for c in cmd], check=check, timeout=timeout, **kw)


class Topo:
    def __init__(self):
        self.p = "lvd%d" % os.getpid()
        self.ns = {r: self.p + r for r in ("c", "d", "s")}
        self.c0, self.d0, self.d1, self.s0 = (self.p + x for x in ("c0", "d0", "d1", "s0"))
        self.procs = []   # everything we started, to stop at teardown
        self.tmp = Path(tempfile.mkdtemp(prefix=self.p))

    def ip(self, role, *args):
        return sh("ip", "-n", self.ns[role], *args)

    def run(self, role, *cmd, **kw):
        return sh("ip", "netns", "exec", self.ns[role], *cmd, **kw)

    def popen(self, role, *cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[role]] + [str(c) for c in cmd], **kw)
        self.procs.append(p)
        return p

    def up(self):
        for n in self.ns.values():
            sh("ip", "netns", "add", n)
        sh("ip", "link", "add", self.c0, "netns", self.ns["c"], "type", "veth",
           "peer", "name", self.d0, "netns", self.ns["d"])
        sh("ip", "link", "add", self.s0, "netns", self.ns["s"], "type", "veth",
           "peer", "name", self.d1, "netns", self.ns["d"])
        for role, dev, a4, a6 in (("c", self.c0, "10.1.0.2/24", "fd01::2/64"),
                                  ("d", self.d0, "10.1.0.1/24", "fd01::1/64"),
                                  ("d", self.d1, "10.2.0.1/24", "fd02::1/64"),
                                  ("s", self.s0, "10.2.0.2/24", "fd02::2/64")):
            self.ip(role, "addr", "add", a4, "dev", dev)
            self.ip(role, "addr", "add", a6, "dev", dev, "nodad")
            self.ip(role, "link", "set", dev, "up")
        for role in self.ns:
            self.ip(role, "link", "set", "lo", "up")
        # the peers of lvsd's veths take what its XDP fast path sends (NAPI)
        self.run("c", "ethtool", "-K", self.c0, "gro", "on")
        self.run("s", "ethtool", "-K", self.s0, "gro", "on")
        self.ip("c", "route", "add", "default", "via", "10.1.0.1")
        self.ip("c", "-6", "route", "add", "default", "via", "fd01::1")
        self.ip("s", "route", "add", "default", "via", "10.2.0.1")
        self.ip("s", "-6", "route", "add", "default", "via", "fd02::1")
        self.forwarding(False)
        # What the director's own stack sends or forwards, and what reaches
        # the client: lvsd's packet-socket frames pass none of these hooks.
        self.run("d", "nft", "-f", "-", input="""
table inet lvdtest {
  chain out {
    type filter hook output priority 0;
    tcp flags & rst == rst counter
  }
  chain forwarded {
    type filter hook forward priority 0;
    counter
  }
}""")
        # An untranslated reply (from a real server's own address) reaching
        # the client would mean the director's kernel forwarded it.
        self.run("c", "nft", "-f", "-", input="""
table inet lvdtest {
  chain in {
    type filter hook input priority 0;
    ip saddr 10.2.0.0/24 counter
    ip6 saddr fd02::/64 counter
  }
}""")
        www = self.tmp / "www"
        www.mkdir()
        self.body = os.urandom(2 * 1024 * 1024)
        (www / "big").write_bytes(self.body)
        (www / "index.html").write_text("hello from the server\n")
        self.http = self.popen("s", PY, "-m", "http.server", "--bind", "::", "80",
                               "--directory", str(www),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # A sink on port 9000: reads everything, then answers "ok" (uploads
        # from the client reach lvsd as GSO super-frames too).
        self.sink = self.popen("s", PY, "-c", SINK, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            if self.run("s", "curl", "-s", "-o", "/dev/null", "-m", "1",
                        "http://127.0.0.1/", check=False).returncode == 0:
                break
            time.sleep(0.05)

    def forwarding(self, on):
        v = "1" if on else "0"
        self.run("d", "sysctl", "-qw", "net.ipv4.ip_forward=" + v,
                 "net.ipv6.conf.all.forwarding=" + v)

    def counter(self, role, chain):
        """Sum of the chain's rule counters."""
        out = self.run(role, "nft", "list", "chain", "inet", "lvdtest", chain).stdout
        n = [int(l.split("counter packets")[1].split()[0])
             for l in out.splitlines() if "counter packets" in l]
        assert n, "no counter in %s:\n%s" % (chain, out)
        return sum(n)

    def reset_counters(self):
        self.run("d", "nft", "reset", "counters", "table", "inet", "lvdtest")
        self.run("c", "nft", "reset", "counters", "table", "inet", "lvdtest")

    def down(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(3)
        for n in self.ns.values():
            sh("ip", "netns", "del", n, check=False)
        if not os.environ.get("LVD_KEEP"):   # keep captures and logs to debug
            sh("rm", "-rf", str(self.tmp), check=False)


@pytest.fixture(scope="module")
def topo():
    if not LVSD.exists():
        pytest.skip("%s not built" % LVSD)
    t = Topo()
    try:
        t.up()
        yield t
    finally:
        t.down()


class Lvsd:
    def __init__(self, topo, *extra, foreground=True):
        self.t = topo
        self.log = topo.tmp / ("lvsd.%d.log" % time.monotonic_ns())
        args = ["-i", topo.d0, "-i", topo.d1, "-w", "2"] + list(extra)
        if "--fastpath" not in args and "afxdp" not in args:
            args += ["--fastpath", "on"]
        if foreground:
            args.insert(0, "-n")
        with open(self.log, "wb") as f:
            self.proc = topo.popen("d", LVSD, *args, stdout=f, stderr=subprocess.STDOUT)

    def output(self):
        return self.log.read_text(errors="replace")

    def wait_ready(self):
        end = time.monotonic() + 5
        while time.monotonic() < end:
            assert self.proc.poll() is None, "lvsd exited:\n" + self.output()
            if self.tables():
                if not LVSADM.exists() or self.t.run("d", LVSADM, "-L", "-n",
                                                      check=False).returncode == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("lvsd not ready:\n" + self.output())

    def tables(self):
        return guard_tables(self.t)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(5)


def guard_tables(topo):
    out = topo.run("d", "nft", "list", "tables", "netdev", check=False).stdout
    return sorted(l.split()[-1] for l in out.splitlines() if "lvsd_" in l)


def lvsadm(topo, *args):
    return topo.run("d", LVSADM, *args)


def nat_service(topo):
    if not LVSADM.exists():
        pytest.skip("%s not built: cannot configure a service" % LVSADM)
    lvsadm(topo, "-A", "-t", VIP4 + ":80", "-s", "rr")
    lvsadm(topo, "-a", "-t", VIP4 + ":80", "-r", RS4 + ":80", "-m")
    lvsadm(topo, "-A", "-t", "[%s]:80" % VIP6, "-s", "rr")
    lvsadm(topo, "-a", "-t", "[%s]:80" % VIP6, "-r", "[%s]:80" % RS6, "-m")
    lvsadm(topo, "-A", "-t", VIP4 + ":9000")
    lvsadm(topo, "-a", "-t", VIP4 + ":9000", "-r", RS4 + ":9000", "-m")


def upload(topo, addr, n):
    r = topo.run("c", PY, "-c", UPLOAD, addr, str(n), check=False)
    return r.stdout.strip()


def fetch(topo, addr, path="/big"):
    host = "[%s]" % addr if ":" in addr else addr
    r = topo.run("c", "curl", "-s", "-f", "-m", "5", "http://%s%s" % (host, path),
                 check=False, text=False)
    return r.returncode, r.stdout


@pytest.fixture
def lvsd(topo):
    started = []

    def start(*extra, **kw):
        d = Lvsd(topo, *extra, **kw)
        started.append(d)
        d.wait_ready()
        return d
    yield start
    for d in started:
        if d.proc.poll() is None:
            d.stop()
    topo.forwarding(False)


def test_nat_through_vip(topo, lvsd):
    d = lvsd()
    assert d.tables() == sorted(["lvsd_" + topo.d0, "lvsd_" + topo.d1])
    nat_service(topo)
    topo.reset_counters()
    rc, body = fetch(topo, VIP4, "/")
    assert rc == 0 and body == b"hello from the server\n"
    for vip in (VIP4, VIP6):
        rc, body = fetch(topo, vip)
        assert rc == 0, "curl %s failed (%d):\n%s" % (vip, rc, d.output())
        assert hashlib.sha256(body).digest() == hashlib.sha256(topo.body).digest()
    assert upload(topo, VIP4, 2000000) == "ok 2000000"
    assert topo.counter("d", "out") == 0, "the director's kernel sent a RST"
    assert topo.counter("d", "forwarded") == 0, "the director's kernel forwarded"
    assert topo.counter("c", "in") == 0, "the client got an untranslated reply"
    out = lvsadm(topo, "-L", "-n", "--stats").stdout
    assert "%s:80" % RS4 in out and "[%s]:80" % RS6 in out
    assert d.stop() == 0, d.output()
    assert d.tables() == []


def test_guard_with_ip_forward_on(topo, lvsd):
    """With forwarding on, the host would forward the server's
    un-translated replies itself: the guard must keep it from doing so."""
    topo.forwarding(True)
    d = lvsd()
    nat_service(topo)
    topo.reset_counters()
    for _ in range(3):
        rc, body = fetch(topo, VIP4)
        assert rc == 0 and len(body) == len(topo.body), d.output()
    rc, _ = fetch(topo, VIP6)
    assert rc == 0
    assert topo.counter("d", "forwarded") == 0, "the director's kernel forwarded"
    assert topo.counter("d", "out") == 0, "the director's kernel sent a RST"
    assert topo.counter("c", "in") == 0, "the client got an untranslated reply"
    guard = topo.run("d", "nft", "list", "table", "netdev", "lvsd_" + topo.d1).stdout
    assert "10.2.0.2 . 6 . 80" in guard or "10.2.0.2 . tcp . 80" in guard, guard
    assert d.stop() == 0


def capture(topo, role, dev):
    pcap = topo.tmp / ("%s.%d.pcap" % (dev, time.monotonic_ns()))
    p = topo.popen(role, "dumpcap", "-q", "-i", dev, "-w", pcap,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 5
    while time.monotonic() < end and not (pcap.exists() and pcap.stat().st_size > 0):
        time.sleep(0.05)
    time.sleep(0.2)
    return p, pcap


def frames(pcap, dfilter):
    """(frame length, tcp checksum status, ip checksum status) of the TCP
    frames matching dfilter.  A TCP checksum of 0xffff where 0x0000 is due
    counts as good: it is the same one's complement zero, which the kernel
    writes when it completes a checksum (skb_checksum_help, CSUM_MANGLED_0)
    and receivers accept, though tshark reports it."""
    r = sh("tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
           "-Y", "tcp && (%s)" % dfilter, "-T", "fields", "-e", "frame.len",
           "-e", "tcp.checksum.status", "-e", "ip.checksum.status", "-e", "tcp.checksum",
           "-e", "tcp.checksum_calculated")
    out = []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 5:
            continue
        st = f[1]
        if st == "0" and f[3].lower() == "0xffff" and f[4].lower() in ("0x0000", "0x00"):
            st = "1"
        out.append((f[0], st, f[2]))
    return out


def check_wire(dev, pcap, dfilter):
    """Frames lvsd sent (dfilter): none above the MTU, every checksum good
    (tshark: 1 = good; IPv6 has no header checksum)."""
    fr = frames(pcap, dfilter)
    assert fr, "nothing captured on " + dev
    big = [f for f in fr if int(f[0]) > MTU + 14]
    assert not big, "%d frames larger than the MTU on %s (%s)" % (len(big), dev, pcap)
    bad = [f for f in fr if f[1] != "1" or f[2] not in ("1", "")]
    assert not bad, "%d frames with bad checksums on %s: %s (%s)" % (len(bad), dev, bad[:5], pcap)


@pytest.mark.parametrize("mode", ["sw-offload", "kernel-offload"])
def test_frames_leave_finished(topo, lvsd, mode):
    """Checksum-partial frames and GSO super-frames (the server's and the
    client's TCP, offloads on) leave lvsd MTU-sized with correct checksums:
    finished by lvsd (--sw-offload), or by the kernel from lvsd's
    virtio_net_hdr, which we see by turning TX offloads off on the
    director's own interfaces only.  The frames the workers send: the fast
    path's program forwards only frames within the MTU (its fixtures), and
    GRO on the capturing peers would show their coalesced frames, so both
    are off here."""
    for role, dev in (("c", topo.c0), ("s", topo.s0)):
        topo.run(role, "ethtool", "-K", dev, "gro", "off")
    if mode == "kernel-offload":
        for dev in (topo.d0, topo.d1):
            topo.run("d", "ethtool", "-K", dev, "tx", "off")
        d = lvsd("--fastpath", "off")
    else:
        d = lvsd("--sw-offload", "--fastpath", "off")
    try:
        nat_service(topo)
        pc, cpcap = capture(topo, "c", topo.c0)
        ps, spcap = capture(topo, "s", topo.s0)
        for vip in (VIP4, VIP6):
            rc, body = fetch(topo, vip)
            assert rc == 0 and body == topo.body, d.output()
        # the client's upload reaches lvsd as super-frames too
        assert upload(topo, VIP4, 1000000) == "ok 1000000"
        time.sleep(0.3)
        for p in (pc, ps):
            p.send_signal(signal.SIGTERM)
            p.wait(5)
        # what lvsd sent toward the client, and toward the server
        check_wire(topo.c0, cpcap, "ip.src == %s || ipv6.src == %s" % (VIP4, VIP6))
        check_wire(topo.s0, spcap, "ip.dst == %s || ipv6.dst == %s" % (RS4, RS6))
    finally:
        if mode == "kernel-offload":
            for dev in (topo.d0, topo.d1):
                topo.run("d", "ethtool", "-K", dev, "tx", "on")
        for role, dev in (("c", topo.c0), ("s", topo.s0)):
            topo.run(role, "ethtool", "-K", dev, "gro", "on")
    assert d.stop() == 0


def test_vip_arp_nd_ping(topo, lvsd):
    d = lvsd()
    pc, pcap = capture(topo, "c", topo.c0)
    nat_service(topo)
    time.sleep(0.3)
    topo.run("d", "ip", "neigh", "flush", "dev", topo.d0)
    for vip in (VIP4, VIP6):
        topo.run("c", "ip", "neigh", "flush", "to", vip, check=False)
        r = topo.run("c", "ping", "-c", "2", "-i", "0.2", "-W", "1", vip, check=False)
        assert r.returncode == 0, r.stdout + d.output()
    mac = topo.run("d", "cat", "/sys/class/net/%s/address" % topo.d0).stdout.strip()
    neigh = topo.run("c", "ip", "neigh", "show", "dev", topo.c0).stdout
    for vip in (VIP4, VIP6):
        assert any(l.startswith(vip + " ") and mac in l for l in neigh.splitlines()), neigh
    # lvsd told the director's kernel who asked (as the kernel does for
    # requests to its own addresses)
    cmac = topo.run("c", "cat", "/sys/class/net/%s/address" % topo.c0).stdout.strip()
    dn = topo.run("d", "ip", "neigh", "show", "dev", topo.d0).stdout
    assert any(l.startswith("10.1.0.2 ") and cmac in l for l in dn.splitlines()), dn
    pc.send_signal(signal.SIGTERM)
    pc.wait(5)
    # gratuitous ARP and an unsolicited NA when the VIPs were taken
    r = sh("tshark", "-r", pcap, "-Y",
           "(arp.isgratuitous && arp.src.proto_ipv4 == %s) || "
           "(icmpv6.type == 136 && icmpv6.nd.na.flag.s == 0 && icmpv6.nd.na.target_address == %s)"
           % (VIP4, VIP6), "-T", "fields", "-e", "frame.number")
    assert len(r.stdout.split()) >= 2, "no announcements captured"
    assert d.stop() == 0


def test_neighbour_resolution(topo, lvsd):
    """The director's kernel forgets every neighbour while the client keeps
    the VIP's MAC: lvsd has the kernel resolve the server and the client
    again (the packets that found no MAC are dropped; TCP retransmits)."""
    d = lvsd()
    nat_service(topo)
    rc, _ = fetch(topo, VIP4, "/")
    assert rc == 0
    topo.run("d", "ip", "neigh", "flush", "all")
    # let lvsd take in the kernel's notifications: a packet arriving before
    # would still find the (right) MAC and need no resolution
    time.sleep(0.3)
    rc, body = fetch(topo, VIP4, "/")
    assert rc == 0 and body == b"hello from the server\n", d.output()
    dn = topo.run("d", "ip", "neigh", "show").stdout
    for addr in ("10.1.0.2", RS4):
        assert any(l.startswith(addr + " ") and "lladdr" in l for l in dn.splitlines()), dn
    assert d.stop() == 0


def test_sigterm_pidfile_and_idle(topo, lvsd):
    pidfile = topo.tmp / "lvsd.pid"
    d = lvsd("--pidfile", str(pidfile))
    assert int(pidfile.read_text()) == d.proc.pid
    # no busy spinning: an idle daemon sleeps in poll()
    stat = Path("/proc/%d/stat" % d.proc.pid)
    t0 = sum(int(x) for x in stat.read_text().split()[13:15])
    time.sleep(1)
    t1 = sum(int(x) for x in stat.read_text().split()[13:15])
    assert t1 - t0 < 25, "lvsd used %d ticks while idle" % (t1 - t0)
    assert d.stop() == 0
    assert not pidfile.exists()
    assert d.tables() == []
    assert "stopped" in d.output()


def test_link_down_up(topo, lvsd):
    """An interface going down reports an error on lvsd's sockets once: lvsd
    must not spin on it, and must forward again when it is back up."""
    d = lvsd()
    nat_service(topo)
    stat = Path("/proc/%d/stat" % d.proc.pid)
    try:
        topo.ip("d", "link", "set", topo.d0, "down")
        time.sleep(0.2)
        t0 = sum(int(x) for x in stat.read_text().split()[13:15])
        time.sleep(1)
        t1 = sum(int(x) for x in stat.read_text().split()[13:15])
    finally:
        topo.ip("d", "link", "set", topo.d0, "up")
    assert t1 - t0 < 25, "lvsd used %d ticks with an interface down" % (t1 - t0)
    time.sleep(0.3)
    rc, body = fetch(topo, VIP4, "/")
    assert rc == 0 and body == b"hello from the server\n", d.output()
    assert d.stop() == 0


def test_background(topo):
    if not LVSD.exists():
        pytest.skip("no lvsd")
    pidfile = topo.tmp / "bg.pid"
    try:
        # the parent returns once the daemon is ready
        r = topo.run("d", LVSD, "-i", topo.d0, "-w", "1", "--pidfile", pidfile, check=False)
        assert r.returncode == 0, r.stderr
        pid = int(pidfile.read_text())
        os.kill(pid, 0)
        assert guard_tables(topo) == ["lvsd_" + topo.d0]
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
    end = time.monotonic() + 5
    while time.monotonic() < end and pidfile.exists():
        time.sleep(0.05)
    assert not pidfile.exists()


def test_bad_usage():
    if not LVSD.exists():
        pytest.skip("no lvsd")
    # no -i and no file: keepalived's default file, which is not there
    assert sh(LVSD, "-n", "-f", "/nonexistent/keepalived.conf", check=False).returncode == 1
    assert sh(LVSD, "-t", "-f", "/nonexistent/keepalived.conf", check=False).returncode == 4
    assert sh(LVSD, "-i", "no-such-if0", "-n", check=False).returncode == 2
    assert sh(LVSD, "-i", "lo", "--io", "nope", check=False).returncode == 2
    assert sh(LVSD, "-h", check=False).returncode == 0
