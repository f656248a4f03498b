"""VRRP on the wire: the socket layer (src/vrrp/vrrp_sock.c) driven by
build/lvs-vrrp-probe between two namespaces joined by a veth pair.

- probe to probe: version 3 over IPv4 and IPv6, version 2 with PASS
  authentication, multicast and unicast, each advert also captured in the
  receiving namespace and decoded by tshark as VRRP with a good checksum.
- keepalived (Debian's, VRRP only) as MASTER: the probe decodes its adverts
  (v2 and v3, IPv4 and IPv6) with no drop.
- keepalived as BACKUP (priority 100): the probe's priority 200 adverts
  keep it BACKUP with the VIP absent; when they stop (or one of priority 0
  arrives) it becomes MASTER and the VIP appears, which proves keepalived
  accepts our adverts (it checks TTL, version, checksum, VRID, auth).

Own fixture, not the lab: two namespaces vskA-<pid>-<n> / vskB-<pid>-<n>,
deleted at teardown; every process started here is killed by its PID.
Every wait is bounded.
"""
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import BUILD

PROBE = Path(os.environ.get("LVS_VRRP_PROBE", BUILD / "lvs-vrrp-probe"))
IF_A, IF_B = "vska0", "vskb0"
A4, B4, VIP4 = "10.99.51.1", "10.99.51.2", "10.99.51.100"
A6, B6, VIP6 = "fd00:99:51::1", "fd00:99:51::2", "fd00:99:51::100"
ADVERT = re.compile(r"^advert v(\d) vrid (\d+) prio (\d+) int_cs (\d+) auth (\S+) src (\S+) "
                    r"addrs ?(.*)$")

_seq = itertools.count(1)


def sh(*cmd, timeout=20, check=True):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, check=check)


class Pair:
    """Namespaces a and b, IF_A in a and IF_B in b on one veth link."""

    def __init__(self):
        tag = "%d-%d" % (os.getpid(), next(_seq))
        self.a, self.b = "vskA-" + tag, "vskB-" + tag
        self.procs = []
        self.made = []
        self.tmp = Path(tempfile.mkdtemp(prefix="vsk-"))

    def up(self):
        for ns in (self.a, self.b):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            # No duplicate address detection: the link-local source the
            # adverts use must be usable at once, not after DAD.
            for key in ("all", "default"):
                self.run(ns, "sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % key)
            self.run(ns, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", IF_A, "netns", self.a, "type", "veth", "peer", "name", IF_B,
           "netns", self.b)
        for ns, ifn, a4, a6 in ((self.a, IF_A, A4, A6), (self.b, IF_B, B4, B6)):
            self.run(ns, "ip", "addr", "add", a4 + "/24", "dev", ifn)
            self.run(ns, "ip", "addr", "add", a6 + "/64", "dev", ifn, "nodad")
            self.run(ns, "ip", "link", "set", ifn, "up")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all("fe80:" in self.run(ns, "ip", "-6", "addr", "show", "dev", ifn).stdout
                   for ns, ifn in ((self.a, IF_A), (self.b, IF_B))):
                return
            time.sleep(0.1)
        raise AssertionError("no IPv6 link-local address on the veth pair")

    def run(self, ns, *cmd, timeout=20, check=True):
        return sh("ip", "netns", "exec", ns, *cmd, timeout=timeout, check=check)

    def popen(self, ns, *cmd, **kw):
        # `ip netns exec` execs the command: the PID is the command's own.
        p = subprocess.Popen(["ip", "netns", "exec", ns] + [str(c) for c in cmd], **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=5):
        if p.poll() is None:
            os.kill(p.pid, sig)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)

    def down(self):
        for p in self.procs:
            try:
                self.stop(p)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        self.made = []
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def pair():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    if not PROBE.exists():
        pytest.skip("no %s (make %s)" % (PROBE, PROBE))
    p = Pair()
    try:
        p.up()
        yield p
    finally:
        p.down()


def parse_lines(out):
    adverts, drops = [], []
    for line in out.splitlines():
        m = ADVERT.match(line)
        if m:
            v, vrid, prio, int_cs, auth, src, addrs = m.groups()
            adverts.append(dict(version=int(v), vrid=int(vrid), prio=int(prio),
                                int_cs=int(int_cs), auth=auth, src=src, addrs=addrs.split()))
        elif line.startswith("drop "):
            drops.append(line)
    return adverts, drops


def recv(pair, ns, ifn, af, seconds, count, extra=()):
    """Start a probe receiver; returns the Popen (stdout is the lines)."""
    return pair.popen(ns, PROBE, "recv", "--if", ifn, "--af", af, "--seconds", seconds,
                      "--count", count, *extra, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)


def finish(pair, p, timeout):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pair.stop(p)
        out, err = p.communicate()
    assert p.returncode == 0, err
    return parse_lines(out)


def link_local(pair, ns, ifn):
    out = pair.run(ns, "ip", "-6", "addr", "show", "dev", ifn, "scope", "link").stdout
    return re.search(r"inet6 (fe80::[0-9a-f:]+)/", out).group(1)


def start_tshark(pair, ns, ifn, path, count, seconds):
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed (mk/deps.sh)")
    log = Path(str(path) + ".log")
    with open(log, "w") as errf:
        p = pair.popen(ns, "tshark", "-q", "-i", ifn, "-f", "ip proto 112 or ip6 proto 112",
                       "-c", count, "-a", "duration:%d" % seconds, "-w", path,
                       stdout=subprocess.DEVNULL, stderr=errf)
    # Send nothing before the capture runs: dumpcap says so on stderr.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and p.poll() is None:
        if "Capturing on" in log.read_text():
            return p
        time.sleep(0.1)
    pytest.fail("tshark did not start: %s" % log.read_text())


def tshark_decode(path):
    out = sh("tshark", "-r", path, "-Y", "vrrp", "-T", "fields", "-e", "vrrp.version",
             "-e", "vrrp.virt_rtr_id", "-e", "vrrp.prio", "-e", "vrrp.checksum.status",
             "-e", "ip.ttl", "-e", "ipv6.hlim").stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


# --- probe to probe ----------------------------------------------------------

WIRE_CASES = [
    # id, af, version, vips, extra send options
    ("v3-ipv4", "4", 3, [VIP4, "10.99.51.101"], []),
    ("v3-ipv6", "6", 3, ["fe80::51", VIP6], []),
    ("v2-ipv4-pass", "4", 2, [VIP4], ["--auth-pass", "s3cret"]),
    ("v3-ipv4-unicast", "4", 3, [VIP4], ["--peer", B4]),
    ("v3-ipv6-unicast", "6", 3, [VIP6], ["--peer", B6]),
]


@pytest.mark.parametrize("af,version,vips,extra", [c[1:] for c in WIRE_CASES],
                         ids=[c[0] for c in WIRE_CASES])
def test_probe_to_probe(pair, af, version, vips, extra):
    cap = pair.tmp / "cap.pcapng"
    ts = start_tshark(pair, pair.b, IF_B, cap, 3, 10)
    r = recv(pair, pair.b, IF_B, af, 8, 3)
    time.sleep(0.3)     # the receiver's socket is open
    send = [PROBE, "send", "--if", IF_A, "--af", af, "--version", version, "--vrid", 42,
            "--prio", 123, "--int-cs", 100, "--count", 3, "--interval-ms", 200] + extra
    for v in vips:
        send += ["--addr", v]
    pair.run(pair.a, *send)
    adverts, drops = finish(pair, r, 15)
    assert drops == []
    assert len(adverts) == 3
    src = A4 if af == "4" else link_local(pair, pair.a, IF_A)
    for a in adverts:
        assert (a["version"], a["vrid"], a["prio"], a["int_cs"]) == (version, 42, 123, 100)
        assert a["addrs"] == vips
        assert a["src"] == src
        assert a["auth"] == ("pass:s3cret" if "--auth-pass" in extra else "none")
    try:
        ts.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pair.stop(ts)
    rows = tshark_decode(cap)
    assert len(rows) == 3, rows
    for ver, vrid, prio, status, ttl, hlim in rows:
        assert (ver, vrid, prio) == (str(version), "42", "123")
        assert status == "1", "tshark: checksum not Good (%s)" % status
        assert (ttl or hlim) == "255"


def test_probe_drops_wrong_source_peer(pair):
    """Unicast mode accepts only the listed peers."""
    r = recv(pair, pair.b, IF_B, "4", 4, 1, extra=("--peer", "10.99.51.7"))
    time.sleep(0.3)
    pair.run(pair.a, PROBE, "send", "--if", IF_A, "--af", "4", "--vrid", 9, "--addr", VIP4,
             "--peer", B4)
    adverts, drops = finish(pair, r, 10)
    assert adverts == []
    assert drops == ["drop not_a_unicast_peer src %s" % A4]


# --- keepalived --------------------------------------------------------------

def keepalived_bin():
    k = shutil.which("keepalived") or (os.path.exists("/usr/sbin/keepalived")
                                       and "/usr/sbin/keepalived")
    if not k:
        pytest.skip("keepalived is not installed (mk/deps.sh)")
    return k


class Keepalived:
    """keepalived -P (VRRP only) in the foreground in namespace a."""

    def __init__(self, pair, state, prio, version, af, auth=None):
        self.pair = pair
        d = pair.tmp
        self.conf, self.log = d / "keepalived.conf", d / "keepalived.log"
        self.pid, self.vrrp_pid = d / "keepalived.pid", d / "vrrp.pid"
        self.vip = VIP4 if af == "4" else VIP6
        auth_block = ""
        if auth:
            auth_block = ("    authentication {\n        auth_type PASS\n"
                          "        auth_pass %s\n    }\n" % auth)
        self.conf.write_text(
            "global_defs {\n"
            "    router_id vsk_%s\n"
            "    vrrp_version %d\n"
            "    vrrp_garp_master_repeat 1\n"
            "}\n"
            "vrrp_instance VI_1 {\n"
            "    state %s\n"
            "    interface %s\n"
            "    virtual_router_id 51\n"
            "    priority %d\n"
            "    advert_int 1\n"
            "%s"
            "%s"
            "    virtual_ipaddress {\n"
            "        %s/%d\n"
            "    }\n"
            "}\n" % (state.lower(), version, state, IF_A, prio,
                     "    native_ipv6\n" if af == "6" else "", auth_block, self.vip,
                     24 if af == "4" else 64))
        self.logf = open(self.log, "w")
        self.proc = pair.popen(pair.a, keepalived_bin(), "-n", "-l", "-D", "-P",
                               "-f", self.conf, "-p", self.pid, "-r", self.vrrp_pid,
                               stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.skip("keepalived exited at start: %s" % self.log.read_text()[-2000:])
            if "Entering" in self.log.read_text():
                return
            time.sleep(0.1)
        self.stop()
        pytest.skip("keepalived did not start: %s" % self.log.read_text()[-2000:])

    def text(self):
        return self.log.read_text()

    def has_vip(self):
        out = self.pair.run(self.pair.a, "ip", "addr", "show", "dev", IF_A).stdout
        return (" %s/" % self.vip) in out

    def stop(self):
        child = None
        try:
            child = int(self.vrrp_pid.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
        self.pair.stop(self.proc)
        # The parent normally takes its VRRP child with it; if it was
        # killed instead, the child is ours to end too.
        if child:
            try:
                os.kill(child, 0)
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.logf.close()
        for f in (self.pid, self.vrrp_pid):
            try:
                f.unlink()
            except FileNotFoundError:
                pass


@pytest.fixture
def keepalived(pair):
    keepalived_bin()
    made = []

    def start(*args, **kw):
        k = Keepalived(pair, *args, **kw)
        made.append(k)
        return k
    try:
        yield start
    finally:
        for k in made:
            k.stop()


KA_CASES = [
    # id, version, af, auth
    ("v2-ipv4", 2, "4", None),
    ("v2-ipv4-pass", 2, "4", "kapass"),
    ("v3-ipv4", 3, "4", None),
    ("v3-ipv6", 3, "6", None),
]


@pytest.mark.parametrize("version,af,auth", [c[1:] for c in KA_CASES],
                         ids=[c[0] for c in KA_CASES])
def test_keepalived_master_adverts_decode(pair, keepalived, version, af, auth):
    k = keepalived("MASTER", 150, version, af, auth)
    r = recv(pair, pair.b, IF_B, af, 8, 3)
    adverts, drops = finish(pair, r, 15)
    assert drops == [], k.text()[-2000:]
    assert len(adverts) == 3, k.text()[-2000:]
    src = A4 if af == "4" else link_local(pair, pair.a, IF_A)
    for a in adverts:
        assert (a["version"], a["vrid"], a["prio"], a["int_cs"]) == (version, 51, 150, 100)
        assert a["addrs"] == [k.vip]
        assert a["src"] == src
        assert a["auth"] == ("pass:" + auth if auth else "none")
    assert "Entering MASTER STATE" in k.text()


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


@pytest.mark.parametrize("version,af,auth", [c[1:] for c in KA_CASES],
                         ids=[c[0] for c in KA_CASES])
@pytest.mark.parametrize("leave", ["silence", "prio0"])
def test_keepalived_backup_obeys_probe(pair, keepalived, version, af, auth, leave):
    k = keepalived("BACKUP", 100, version, af, auth)
    vip = k.vip
    send = [PROBE, "send", "--if", IF_B, "--af", af, "--version", version, "--vrid", 51,
            "--int-cs", 100, "--addr", vip]
    if auth:
        send += ["--auth-pass", auth]
    # Six adverts a second apart: longer than keepalived's Master_Down_Interval
    # (3 * 1 s + skew 0.61 s), so without them it would have taken over.
    sender = pair.popen(pair.b, *send, "--prio", 200, "--count", 6, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while sender.poll() is None and time.monotonic() - t0 < 15:
        assert not k.has_vip(), "keepalived took the VIP while we advertise 200\n" + k.text()
        time.sleep(0.25)
    out, err = sender.communicate(timeout=10)
    assert sender.returncode == 0, err
    assert not k.has_vip()
    text = k.text()
    assert "Entering BACKUP STATE" in text
    assert "Entering MASTER STATE" not in text, text
    if leave == "prio0":
        pair.run(pair.b, *send, "--prio", 0)
    # Master_Down_Interval is 3.61 s after our last advert (Skew_Time
    # 0.61 s after a priority 0 one); the margin covers a loaded machine.
    assert wait_for(k.has_vip, 3.61 + 4), "keepalived did not take over\n" + k.text()
    assert "Entering MASTER STATE" in k.text()
    if leave == "prio0":
        assert re.search(r"priority 0", k.text(), re.I), k.text()
