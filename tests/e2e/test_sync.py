"""Connection sync between two lvsd directors (IPVS sync protocol v1).

The DR lab (namespaces named sy<pid>_<n>-*) gets a second director, its own
namespace <prefix>-dir2 on the same server LAN (192.0.2.2), with the same
service; the router sends the VIP's traffic to the first director
(192.0.2.1) until the test moves it.  The master sync daemon runs on the
first, the backup on the second, both started with lvsadm.  Covered:
lvsadm's daemon commands and their kernel-worded errors, -L --daemon,
the backup's table pull when it starts (an idle established connection
reaches a freshly started backup), connections synced with their states
and destinations, tshark's `ipvs` dissector on the wire, and a failover
by hand (the router's route to the VIP moved to the backup, the master
stopped) that a keep-alive connection and a running download survive.
"""
import re
import subprocess
import time

import pytest

from .conftest import LVSADM, LVSD, PY, SLOW_GET, Capture, own_lab, parse_conns

VIP = "203.0.113.10"
SYNCID = "7"

KEEPALIVE = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=10)
print("port %d" % s.getsockname()[1], flush=True)
for line in sys.stdin:
    s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            print("closed", flush=True); sys.exit(1)
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < n:
        d = s.recv(4096)
        if not d:
            print("closed", flush=True); sys.exit(1)
        body += d
    print("ok %s" % body.decode().strip(), flush=True)
""".replace("import socket, sys", "import re, socket, sys")


def wait_for(fn, timeout=10.0, step=0.2):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


class Dir2:
    """The second director: a namespace on the lab's server LAN and an
    lvsd in it, both removed by close() (the process by its PID)."""

    def __init__(self, lab):
        self.lab = lab
        self.ns = lab.prefix + "-dir2"
        self.proc = None
        sw = lab.env["NS_SWITCH"]
        run = lambda *c: subprocess.run(c, check=True, capture_output=True, timeout=10)
        run("ip", "netns", "add", self.ns)
        run("ip", "-n", self.ns, "link", "set", "lo", "up")
        run("ip", "netns", "exec", self.ns, "sysctl", "-q", "net.ipv4.ip_forward=0")
        run("ip", "-n", self.ns, "link", "add", "eth0", "type", "veth", "peer", "name",
            "p-dir2", "netns", sw)
        run("ip", "-n", sw, "link", "set", "p-dir2", "master", "br0", "up")
        run("ip", "netns", "exec", sw, "ethtool", "-K", "p-dir2", "gro", "on")
        run("ip", "-n", self.ns, "link", "set", "eth0", "up")
        run("ip", "-n", self.ns, "addr", "add", "192.0.2.2/24", "dev", "eth0")
        run("ip", "-n", self.ns, "route", "add", "default", "via", "192.0.2.254")

    def start_lvsd(self):
        self.log = open("%s/lvsd-dir2.log" % self.lab.env["LAB_DIR"], "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, str(LVSD), "-n", "-i", "eth0",
                                      "--fastpath", "on"],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        ok = wait_for(lambda: self.lvsadm("-L", "-n", check=False).returncode == 0, 5)
        assert ok, "lvsd in %s did not start" % self.ns

    def stop_lvsd(self):
        """SIGTERM (SIGKILL after 5 s); the exit code, None if none ran."""
        rc = None
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            rc = self.proc.returncode
        self.proc = None
        return rc

    def lvsadm(self, *args, check=True):
        r = subprocess.run(["ip", "netns", "exec", self.ns, str(LVSADM)] + list(args),
                           capture_output=True, text=True, timeout=10)
        if check and r.returncode:
            raise AssertionError("lvsadm %s: %d %s%s" % (args, r.returncode, r.stdout, r.stderr))
        return r

    def close(self):
        self.stop_lvsd()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)


def add_service(lvsadm, rips):
    lvsadm("-A", "-t", VIP + ":80", "-s", "rr")
    for r in rips:
        lvsadm("-a", "-t", VIP + ":80", "-r", r + ":80", "-g")


@pytest.fixture(scope="module")
def pair():
    if not LVSD.exists() or not LVSADM.exists():
        pytest.skip("lvsd / lvsadm not built")
    for lab in own_lab("dr", "sy"):
        d2 = Dir2(lab)
        procs = []
        try:
            lab.start_lvsd()
            add_service(lab.lvsadm, lab.rips4)
            yield lab, d2, procs
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(5)
            d2.close()


def test_daemon_commands(pair):
    lab, d2, _ = pair
    assert lab.lvsadm("-L", "--daemon").stdout == ""
    lab.lvsadm("--start-daemon", "master", "--mcast-interface", "eth0", "--syncid", SYNCID)
    assert lab.lvsadm("-L", "--daemon").stdout == (
        "master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, "
        "port=8848, ttl=1)\n")
    r = lab.lvsadm("--start-daemon", "master", "--mcast-interface", "eth0", check=False)
    assert (r.returncode, r.stderr) == (255, "Daemon has already run\n")
    r = lab.lvsadm("--stop-daemon", "backup", check=False)
    assert (r.returncode, r.stderr) == (255, "No daemon is running\n")
    r = lab.lvsadm("--start-daemon", "backup", "--mcast-interface", "nosuch0", check=False)
    assert (r.returncode, r.stderr) == (255, "No such device\n")
    # both roles at once, the kernel's options; then back to the master alone
    lab.lvsadm("--start-daemon", "backup", "--mcast-interface", "eth0", "--syncid", "9",
               "--sync-maxlen", "2000", "--mcast-group", "224.0.0.99", "--mcast-port", "9000",
               "--mcast-ttl", "2")
    assert lab.lvsadm("-L", "--daemon").stdout.splitlines()[1] == (
        "backup sync daemon (mcast=eth0, syncid=9, maxlen=2000, group=224.0.0.99, "
        "port=9000, ttl=2)")
    lab.lvsadm("--stop-daemon", "backup")
    r = lab.lvsadm("--start-daemon", "slave", check=False)
    assert r.returncode == 2 and "illegal start-daemon parameter specified" in r.stderr
    assert "master sync daemon" in lab.lvsadm("-L", "--daemon").stdout
    st = lab.lvsadm("--status").stdout
    assert "Connection sync:" in st and "master: mcast=eth0 syncid=7" in st


def test_pull_fills_a_fresh_backup(pair):
    lab, d2, procs = pair
    # an established keep-alive connection through the master, then idle
    k = lab.popen("client", PY, "-c", KEEPALIVE, VIP, stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, text=True)
    procs.append(k)
    port = int(k.stdout.readline().split()[1])
    k.stdin.write("\n")
    k.stdin.flush()
    first = k.stdout.readline().split()
    assert first[0] == "ok", first
    src = "198.51.100.100:%d" % port
    mine = [c for c in parse_conns(lab.lvsadm("-L", "-n", "-c").stdout) if c["src"] == src]
    assert len(mine) == 1 and mine[0]["state"] == "ESTABLISHED"

    # a backup started now has seen nothing of it: the pull brings it
    d2.start_lvsd()
    add_service(d2.lvsadm, lab.rips4)
    d2.lvsadm("--start-daemon", "backup", "--mcast-interface", "eth0", "--syncid", SYNCID)
    got = wait_for(lambda: [c for c in parse_conns(d2.lvsadm("-L", "-n", "-c").stdout)
                            if c["src"] == src], 10)
    assert got, d2.lvsadm("--status").stdout
    assert got[0]["state"] == "ESTABLISHED" and got[0]["dst"] == mine[0]["dst"]
    st = d2.lvsadm("--status").stdout
    assert re.search(r"pulls: 1 started, 1 done", st), st
    assert "pulls served: 1" in lab.lvsadm("--status").stdout
    d2.keepalive = (k, src, mine[0]["dst"])


def test_sync_and_failover(pair):
    lab, d2, procs = pair
    k, ksrc, kdst = d2.keepalive
    cap_ns = d2.ns
    cap = Capture(lab, cap_ns, ["eth0"], bpf="udp port 8848", duration=60)

    # a slow download through the master (about 10 s: a small receive
    # window read slowly, so the server cannot run ahead of the reader)
    dl = lab.popen("client", PY, "-c", SLOW_GET, VIP, "/big", "1e6", "40",
                   stdout=subprocess.PIPE, text=True)
    procs.append(dl)
    k.stdin.write("\n")
    k.stdin.flush()
    assert k.stdout.readline().split()[0] == "ok"

    def dl_conn(d_lvsadm):
        return [c for c in parse_conns(d_lvsadm("-L", "-n", "-c").stdout)
                if c["state"] == "ESTABLISHED" and c["src"] != ksrc]

    m = wait_for(lambda: dl_conn(lab.lvsadm), 10)
    assert m, lab.lvsadm("-L", "-n", "-c").stdout
    b = wait_for(lambda: [c for c in dl_conn(d2.lvsadm) if c["src"] == m[0]["src"]], 10)
    assert b, d2.lvsadm("-L", "-n", "-c").stdout + d2.lvsadm("--status").stdout + \
        "\nMASTER:\n" + lab.lvsadm("-L", "-n", "-c").stdout + lab.lvsadm("--status").stdout
    assert b[0]["dst"] == m[0]["dst"] and b[0]["vip"] == VIP + ":80"
    st = d2.lvsadm("--status").stdout
    assert re.search(r"received: [1-9]\d* messages", st), st

    # failover by hand while the download runs: the router's way to the
    # VIP goes to the backup, then the master stops
    assert dl.poll() is None, "the download ended before the failover"
    lab.run("router", "ip", "route", "replace", VIP + "/32", "via", "192.0.2.2")
    assert lab.stop_lvsd() == [0]        # the master stops cleanly, sync running
    k.stdin.write("\n")
    k.stdin.flush()
    again = k.stdout.readline().split()
    assert again[0] == "ok", again       # the same socket: no reset
    out, _ = dl.communicate(timeout=70)
    f = out.split()
    assert f[:3] == ["200", lab.env["BIG_SIZE"], lab.env["BIG_SHA256"]], \
        "download broken across the failover: %s" % out
    fwd = [c for c in parse_conns(d2.lvsadm("-L", "-n", "-c").stdout) if c["src"] == ksrc]
    assert fwd and fwd[0]["dst"] == kdst

    # the sync messages as tshark's ipvs dissector reads them
    fr = cap.frames("ipvs.syncid", "ipvs.conncount", "ipvs.caddr", "ipvs.vaddr", "ipvs.daddr",
                    "ipvs.cport", "ipvs.state", dfilter="ipvs")
    assert fr, cap.text()
    assert all(f["ipvs.syncid"] == [SYNCID] for f in fr)
    entries = [(c, v, d, p, s) for f in fr for c, v, d, p, s in
               zip(f["ipvs.caddr"], f["ipvs.vaddr"], f["ipvs.daddr"], f["ipvs.cport"],
                   f["ipvs.state"])]
    dl_ip, dl_port = m[0]["src"].rsplit(":", 1)
    mine = [e for e in entries if e[0] == dl_ip and e[3] == dl_port]
    assert mine, entries[:10]
    assert mine[0][1] == VIP and mine[0][2] == m[0]["dst"].rsplit(":", 1)[0]
    assert int(mine[0][4], 0) == 1           # ESTABLISHED
    k.stdin.close()
    k.wait(10)
    assert d2.stop_lvsd() == 0
