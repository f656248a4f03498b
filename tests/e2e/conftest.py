"""End-to-end tier: the network-namespace lab (lab/lab.sh) with real clients
(curl, scapy) and real servers (nginx), and -- for the tests that use it --
the daemon (build/lvsd) and its CLI (build/lvsadm) in the director namespace.

Fixtures
  lab_factory      function scope: lab_factory("nat"|"dr"|"tun") -> Lab; every
                   lab it made is taken down at teardown, pass or fail.
  lab              function scope, indirect: @pytest.mark.parametrize("lab",
                   ["dr"], indirect=True); without a parameter: "nat".
  module_lab       the same, but one lab per test module and mode (shared
                   through lab_pool, whatever the test order); an lvsd a test
                   started is stopped when that test ends.
  lab_pool         module scope: lab_pool(mode) -> that shared Lab.
  decap_obj        path of the TUN helper's BPF object: $LVS_DECAP_OBJ, else
                   <build>/lvs_decap.bpf.o, else compiled once into a
                   temporary directory.

Lab (one topology, its env file as a dict in lab.env):
  lab.ns(role)          namespace of "client", "director", "router", "switch",
                        "rs1".."rs3" (or a namespace name, returned as is)
  lab.run(role, *cmd)   run a command in it (bounded by a timeout)
  lab.curl(role, addr, path="/") -> (http_code, body)
  lab.count_servers(role, addr, n) -> Counter of the server names that
                        answered n fresh connections ("error" for failures)
  lab.sha256(role, addr, path="/big") -> hex digest of the body
  lab.start_lvsd(*extra) -> Lvsd: build/lvsd -n -i IF... in the director
                        namespace, ready when `lvsadm -L -n` answers; stopped
                        with SIGTERM at teardown (lab.stop_lvsd() earlier)
  lab.lvsadm(*args, check=True) -> CompletedProcess of build/lvsadm there
  lab.down()            take it down now (idempotent)

Environment: LVS_BUILD (default <repo>/build), LVSD, LVSADM (binaries),
LVS_DECAP_OBJ.  Everything runs as root: namespaces need it; the tests skip
otherwise.  Traffic goes only to addresses inside the lab's namespaces.
"""
import collections
import itertools
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LVS_BUILD", REPO / "build"))
LAB_SH = REPO / "lab" / "lab.sh"
RS_DECAP = REPO / "lab" / "rs-decap.sh"
LVSD = Path(os.environ.get("LVSD", BUILD / "lvsd"))
LVSADM = Path(os.environ.get("LVSADM", BUILD / "lvsadm"))
PY = "/usr/bin/python3"

_counter = itertools.count(1)
_live_labs = []          # every Lab not yet down: the session hook's safety net


def parse_env(path):
    """The lab's env file (KEY='value' lines) as a dict of strings."""
    env = {}
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        env[k] = shlex.split(v)[0] if v else ""
    return env


def url(addr, path="/", port=80):
    host = "[%s]" % addr if ":" in addr else addr
    return "http://%s:%d%s" % (host, port, path)


class Lvsd:
    """One lvsd process in the director namespace."""

    def __init__(self, lab, args, role="director"):
        self.lab = lab
        self.role = role
        self.log_path = Path(lab.env["LAB_DIR"]) / ("lvsd.%d.log" % next(_counter))
        self.log = open(self.log_path, "wb")
        # the XDP fast path stays off on veth unless asked for (lvsd(8));
        # the lab's peers have GRO on, so every test runs with it on
        if "--fastpath" not in args and "-t" not in args:
            args = args + ["--fastpath", "on"]
        self.cmd = ["ip", "netns", "exec", lab.ns(role), str(LVSD)] + args
        # `ip netns exec` execs lvsd: this PID is the daemon's.
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=5.0):
        """Until `lvsadm -L -n` answers; raises with the daemon's log if it
        exits or stays silent."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("lvsd exited with %d:\n%s"
                                   % (self.proc.returncode, self.output()))
            if LVSADM.exists():
                r = self.lab.lvsadm("-L", "-n", check=False, timeout=2, role=self.role)
                if r.returncode == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("lvsd not ready after %.1fs:\n%s" % (timeout, self.output()))

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout.  Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        return self.proc.returncode


class Lab:
    def __init__(self, mode, prefix, decap_obj=None, nginx=True, port2=None):
        self.mode = mode
        self.prefix = prefix
        self.lvsds = []
        self._down = False
        cmd = [str(LAB_SH), "up", mode, "--prefix", prefix]
        if not nginx:
            cmd.append("--no-nginx")
        if port2:
            cmd += ["--port2", str(port2)]
        env = dict(os.environ, LAB_QUIET="1")
        if decap_obj:
            env["LVS_DECAP_OBJ"] = str(decap_obj)
        _live_labs.append(self)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0:
            self.down()
            raise RuntimeError("lab.sh up %s failed (%d):\n%s%s"
                               % (mode, r.returncode, r.stdout, r.stderr))
        self.env_path = r.stdout.strip().splitlines()[-1]
        self.env = parse_env(self.env_path)
        self.servers = self.env["RS_NAMES"].split()
        self.rips4 = self.env["RIPS4"].split()
        self.rips6 = self.env["RIPS6"].split()

    # ---- namespaces and commands ----
    def ns(self, role):
        roles = {"client": "NS_CLIENT", "director": "NS_DIRECTOR", "director2": "NS_DIRECTOR2",
                 "router": "NS_ROUTER", "switch": "NS_SWITCH"}
        if role in roles:
            name = self.env[roles[role]]
            if not name:
                raise KeyError("the %s lab has no %s" % (self.mode, role))
            return name
        if role.startswith("rs") and role[2:].isdigit():
            return self.env["RS%s_NS" % role[2:]]
        return role

    def run(self, role, *cmd, check=True, timeout=30, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.ns(role)] + [str(c) for c in cmd],
                              check=check, timeout=timeout, **kw)

    def popen(self, role, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.ns(role)] + [str(c) for c in cmd], **kw)

    def sysctl(self, role, key):
        return self.run(role, "sysctl", "-n", key).stdout.strip()

    # ---- HTTP ----
    def curl(self, role, addr, path="/", port=80, timeout=5, extra=()):
        """One request; (status, body as str).  Status 0: no answer."""
        r = self.run(role, "curl", "-s", "-m", str(timeout), "-o", "-",
                     "-w", "\n%{http_code}", *extra, url(addr, path, port),
                     check=False, timeout=timeout + 5)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body

    def count_servers(self, role, addr, n=30, path="/", port=80, timeout=2):
        """n requests, each on a new connection (from one curl process,
        "Connection: close" so it cannot reuse one); Counter of the names
        answered, failures counted as "error"."""
        u = url(addr, path, port)
        r = self.run(role, "curl", "-s", "-m", str(timeout), "-H", "Connection: close",
                     "-w", "|%{http_code}\n", *([u] * n),
                     check=False, timeout=n * timeout + 10)
        c = collections.Counter()
        for body, code in re.findall(r"(.*?)\|(\d{3})\n", r.stdout, re.S):
            c[body.strip() if code == "200" else "error"] += 1
        c["error"] += n - sum(c.values())
        if not c["error"]:
            del c["error"]
        return c

    def sha256(self, role, addr, path="/big", port=80, timeout=20):
        r = self.run(role, "sh", "-c",
                     "curl -sf -m %d %s | sha256sum" % (timeout, shlex.quote(url(addr, path, port))),
                     timeout=timeout + 5)
        return r.stdout.split()[0]

    # ---- lvsd / lvsadm ----
    def start_lvsd(self, *extra, ifaces=None, ready=True):
        if not LVSD.exists():
            pytest.skip("no lvsd binary at %s" % LVSD)
        args = ["-n"]
        for i in (ifaces or self.env["DIR_IFS"].split()):
            args += ["-i", i]
        d = Lvsd(self, args + list(extra))
        self.lvsds.append(d)
        if ready:
            d.wait_ready()
        return d

    def stop_lvsd(self):
        rcs = [d.stop() for d in self.lvsds]
        self.lvsds = []
        return rcs

    def lvsadm(self, *args, check=True, input=None, timeout=10, role="director"):
        if not LVSADM.exists():
            pytest.skip("no lvsadm binary at %s" % LVSADM)
        r = self.run(role, LVSADM, *args, check=False, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("lvsadm %s: exit %d\n%s%s"
                                 % (" ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
        return r

    # ---- teardown ----
    def down(self):
        if self._down:
            return
        self._down = True
        try:
            self.stop_lvsd()
        finally:
            subprocess.run([str(LAB_SH), "down", "--prefix", self.prefix],
                           capture_output=True, timeout=60,
                           env=dict(os.environ, LAB_QUIET="1"))
            if self in _live_labs:
                _live_labs.remove(self)


def _prefix():
    # netns names and /tmp/lvslab.<prefix>: unique per process and lab.
    return "lvt%d_%d" % (os.getpid(), next(_counter))


def _need_root():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    for tool in ("ip", "nginx", "curl"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            pytest.skip("%s is not installed (mk/deps.sh)" % tool)


_own_seq = itertools.count(1)


def own_lab(mode, tag, **kw):
    """A lab of one test's own (prefix TAG<pid>_<n>), removed at teardown,
    pass or fail: `yield from own_lab("nat", "lvc")` in a fixture (kw:
    Lab's, e.g. port2=443)."""
    _need_root()
    if not LVSD.exists():
        pytest.skip("no lvsd binary at %s" % LVSD)
    lab = Lab(mode, "%s%d_%d" % (tag, os.getpid(), next(_own_seq)), **kw)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="session")
def decap_obj(tmp_path_factory):
    p = os.environ.get("LVS_DECAP_OBJ")
    if p:
        return Path(p)
    p = BUILD / "lvs_decap.bpf.o"
    src = REPO / "src" / "rshelper" / "lvs_decap.bpf.c"
    if p.exists() and p.stat().st_mtime >= src.stat().st_mtime:
        return p
    p = tmp_path_factory.mktemp("bpf") / "lvs_decap.bpf.o"
    subprocess.run([str(RS_DECAP), "build", "--obj", str(p)], check=True,
                   capture_output=True, timeout=120)
    return p


def _factory(decap_obj):
    made = []

    def make(mode, nginx=True):
        _need_root()
        lab = Lab(mode, _prefix(), decap_obj if mode == "tun" else None, nginx)
        made.append(lab)
        return lab
    return make, made


@pytest.fixture
def lab_factory(decap_obj):
    make, made = _factory(decap_obj)
    yield make
    for lab in made:
        lab.down()


@pytest.fixture
def lab(request, decap_obj):
    make, made = _factory(decap_obj)
    try:
        yield make(getattr(request, "param", "nat"))
    finally:
        for lab in made:
            lab.down()


@pytest.fixture(scope="module")
def lab_pool(decap_obj):
    """lab_pool(mode) -> the module's one Lab of that mode, made on first
    use; all of them go down when the module ends."""
    make, made = _factory(decap_obj)
    pool = {}

    def get(mode):
        if mode not in pool:
            pool[mode] = make(mode)
        return pool[mode]
    try:
        yield get
    finally:
        for lab in made:
            lab.down()


@pytest.fixture
def module_lab(request, lab_pool):
    lab = lab_pool(getattr(request, "param", "nat"))
    try:
        yield lab
    finally:
        lab.stop_lvsd()     # the lab outlives the test, its lvsd does not


def pytest_configure(config):
    # A runner's SIGTERM (a CI time-out) unwinds like Ctrl-C, so fixture
    # teardown still takes the labs down.
    def _term(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, _term)


def pytest_sessionfinish(session, exitstatus):
    # A lab whose fixture teardown never ran (interrupted run) still goes.
    for lab in list(_live_labs):
        lab.down()


# =====================================================================
# Helpers for the lvsd end-to-end tests (test_nat.py, test_dr.py,
# test_tun.py, test_lvsadm.py): the packet I/O driver parameter, a
# Director (lvsd + lvsadm + the kernel watch) per test, listings parsed,
# fresh-connection counting with a chosen source, held downloads, UDP
# responders, and wire captures (dumpcap to pcapng, read with tshark).
# =====================================================================
import json
import select

IO_DRIVERS = ("afpacket", "afxdp")
FWD_FLAG = {"nat": "-m", "dr": "-g", "tun": "-i"}
FWD_NAME = {"nat": "Masq", "dr": "Route", "tun": "Tunnel"}
_io_cache = {}


def lvsd_io_drivers():
    """The --io drivers `lvsd --help` lists ("packet I/O: afpacket (default),
    afxdp"), or () without a binary."""
    if "list" not in _io_cache:
        names = ()
        if LVSD.exists():
            r = subprocess.run([str(LVSD), "--help"], capture_output=True, text=True, timeout=10)
            for line in (r.stdout + r.stderr).splitlines():
                if "--io" in line and ":" in line:
                    words = re.findall(r"[a-z][a-z0-9_]*", line.split(":", 1)[1])
                    names = tuple(w for w in words if w != "default")
                    break
        _io_cache["list"] = names
    return _io_cache["list"]


@pytest.fixture(params=IO_DRIVERS)
def io_driver(request):
    """Each packet I/O driver lvsd may have; one lvsd does not list in its
    --help is skipped (so afxdp runs by itself once it is built)."""
    if not LVSD.exists():
        pytest.skip("no lvsd binary at %s" % LVSD)
    if request.param not in lvsd_io_drivers():
        pytest.skip("lvsd has no --io %s (its --help lists: %s)"
                    % (request.param, ", ".join(lvsd_io_drivers()) or "nothing"))
    return request.param


def split_addr(s):
    """"1.2.3.4:80" or "[2001:db8::1]:80" -> (address, port as int)."""
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def addr_port(addr, port):
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


def parse_list(text):
    """`lvsadm -L -n` -> {"TCP 1.2.3.4:80": {"sched": "wrr", "flags": "...",
    "dests": {"192.0.2.11:80": (fwd, weight, active, inactive)}}}."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^(TCP|UDP|SCTP|FWM)\s+(\S+)\s+(\S+)(.*)$", line)
        if m:
            cur = {"sched": m.group(3), "flags": m.group(4).strip(), "dests": {}}
            out["%s %s" % (m.group(1), m.group(2))] = cur
            continue
        m = re.match(r"^\s+->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", line)
        if m and cur is not None and m.group(1) != "RemoteAddress:Port":
            cur["dests"][m.group(1)] = (m.group(2), int(m.group(3)), int(m.group(4)),
                                        int(m.group(5)))
    return out


def parse_stats(text):
    """`lvsadm -L -n --stats --exact` (or --rate --exact) -> {"TCP 1.2.3.4:80":
    [5 numbers], "TCP 1.2.3.4:80 -> 192.0.2.11:80": [5 numbers]}."""
    out, svc = {}, None
    for line in text.splitlines():
        m = re.match(r"^(TCP|UDP|SCTP|FWM)\s+(\S+)((?:\s+\d+){5})\s*$", line)
        if m:
            svc = "%s %s" % (m.group(1), m.group(2))
            out[svc] = [int(x) for x in m.group(3).split()]
            continue
        m = re.match(r"^\s+->\s+(\S+)((?:\s+\d+){5})\s*$", line)
        if m and svc:
            out["%s -> %s" % (svc, m.group(1))] = [int(x) for x in m.group(2).split()]
    return out


def parse_conns(text):
    """`lvsadm -L -n -c` -> list of dicts: proto, expire (s), state, src, vip,
    dst (the addr:port strings as printed)."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) != 6 or f[0] == "pro" or not re.match(r"^\d+:\d\d$", f[1]):
            continue
        mm, ss = f[1].split(":")
        out.append({"proto": f[0], "expire": int(mm) * 60 + int(ss), "state": f[2],
                    "src": f[3], "vip": f[4], "dst": f[5]})
    return out


class KernelWatch:
    """Counts what the director namespace's own IP stack sends or forwards.

    Why this is the sound place to look: lvsd sends every frame it
    forwards or answers (ARP/ND, echo, translated ICMP, frag-needed) on an
    AF_PACKET socket, which goes straight to the device queue and never
    passes the IP stack's netfilter hooks.  Everything the kernel's own
    stack emits -- a TCP RST from tcp_v4/v6_send_reset, an ICMP/ICMPv6
    error from icmp_send/icmp6_send, any locally generated packet -- passes
    the inet `output` hook, and anything it would forward passes `forward`.
    So an `inet` table in the director namespace counting, at output, TCP
    RSTs, ICMP/ICMPv6 error types and any packet sourced from a VIP, and at
    forward, every packet, sees exactly the kernel's answers and none of
    lvsd's.  A capture on the wire cannot tell the two apart (same MAC,
    same addresses); the counters can.  `prove()` shows the counters do
    count, by making the kernel RST a SYN to the director's own address.
    """

    TABLE = "e2e_watch"

    def __init__(self, lab):
        self.lab = lab
        e = lab.env
        script = """
table inet %(t)s {
	chain local_out {
		type filter hook output priority -1000; policy accept;
		tcp flags & rst == rst counter comment "rst"
		meta l4proto icmp icmp type { destination-unreachable, time-exceeded, parameter-problem, redirect } counter comment "icmp"
		meta l4proto ipv6-icmp icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } counter comment "icmp6"
		ip saddr %(v4)s counter comment "from_vip4"
		ip6 saddr %(v6)s counter comment "from_vip6"
	}
	chain forwarded {
		type filter hook forward priority -1000; policy accept;
		counter comment "forwarded"
	}
}
""" % {"t": self.TABLE, "v4": e["VIP4"], "v6": e["VIP6"]}
        self.remove()
        lab.run("director", "nft", "-f", "-", input=script)

    def counts(self):
        r = self.lab.run("director", "nft", "-j", "list", "table", "inet", self.TABLE)
        c = {}
        for item in json.loads(r.stdout).get("nftables", []):
            rule = item.get("rule")
            if not rule or "comment" not in rule:
                continue
            for ex in rule["expr"]:
                if "counter" in ex:
                    c[rule["comment"]] = ex["counter"]["packets"]
        return c

    def assert_silent(self):
        c = self.counts()
        assert set(c) == {"rst", "icmp", "icmp6", "from_vip4", "from_vip6", "forwarded"}, c
        assert not any(c.values()), \
            "the director's kernel answered or forwarded traffic itself: %s" % c

    def prove(self):
        """Make the kernel RST (a SYN to the director's own address, port
        81, where nothing listens) and return the counters after it."""
        before = self.counts()["rst"]
        self.lab.run("client", "curl", "-s", "-m", "2",
                     url(self.lab.env["DIR_CLIENT_IP4"], "/", 81), check=False)
        after = self.counts()
        assert after["rst"] > before, "the watch did not count the kernel's RST: %s" % after
        return after

    def remove(self):
        self.lab.run("director", "nft", "delete", "table", "inet", self.TABLE, check=False)


class Director:
    """lvsd (with --io DRIVER) in a lab's director namespace, its lvsadm,
    the kernel watch, and helper processes a test starts (stopped at the
    end of the test)."""

    def __init__(self, lab, io="afpacket", extra=(), ifaces=None):
        self.lab = lab
        self.io = io
        self.procs = []
        try:
            self.lvsd = lab.start_lvsd("--io", io, *extra, ifaces=ifaces)
        except RuntimeError as e:
            if "--io" in str(e) and ("unknown" in str(e) or "not built" in str(e)):
                pytest.skip("lvsd cannot use --io %s: %s" % (io, str(e).splitlines()[-1]))
            raise
        self.watch = KernelWatch(lab)

    # ---- configuration ----
    def lvsadm(self, *args, **kw):
        return self.lab.lvsadm(*args, **kw)

    def service(self, vip, port=80, proto="-t", sched="wlc", weights=None, rips=None,
                fwd=None, svc_opts=(), dest_opts=()):
        """Add the service and one destination per RIP (the lab's three, of
        vip's family, by default), weights in the same order; returns the
        service's listing key ("TCP 203.0.113.10:80")."""
        fam6 = ":" in vip
        rips = rips or (self.lab.rips6 if fam6 else self.lab.rips4)
        weights = weights or [1] * len(rips)
        fwd = fwd or FWD_FLAG[self.lab.mode]
        svc = addr_port(vip, port)
        self.lvsadm("-A", proto, svc, "-s", sched, *svc_opts)
        for rip, w in zip(rips, weights):
            self.lvsadm("-a", proto, svc, "-r", addr_port(rip, port), fwd, "-w", str(w),
                        *dest_opts)
        return "%s %s" % ("TCP" if proto == "-t" else "UDP", svc)

    # ---- state ----
    def listing(self):
        return parse_list(self.lvsadm("-L", "-n").stdout)

    def stats(self):
        return parse_stats(self.lvsadm("-L", "-n", "--stats", "--exact").stdout)

    def conns(self):
        return parse_conns(self.lvsadm("-L", "-n", "-c").stdout)

    def wait_conn(self, pred, timeout=5.0):
        """The first -Lnc entry for which pred(entry) holds, polling."""
        end = time.monotonic() + timeout
        while True:
            for c in self.conns():
                if pred(c):
                    return c
            if time.monotonic() > end:
                raise AssertionError("no such connection entry within %.0fs:\n%s"
                                     % (timeout, self.lvsadm("-L", "-n", "-c").stdout))
            time.sleep(0.1)

    def server_of(self, rip):
        """The server name ("server2") whose RIP (v4 or v6) this is."""
        rip = split_addr(rip)[0] if rip.count(":") == 1 or rip.startswith("[") else rip
        for i, name in enumerate(self.lab.servers):
            if rip in (self.lab.rips4[i], self.lab.rips6[i]):
                return name
        raise KeyError(rip)

    def spawn(self, role, *cmd, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = self.lab.popen(role, *cmd, **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []
        try:
            self.watch.remove()
        finally:
            self.lab.stop_lvsd()
            # pytest shows captured output for failing tests only: lvsd's
            # log ends with its forwarding and drop counters
            print("---- lvsd (--io %s) log ----\n%s"
                  % (self.io, self.lvsd.log_path.read_text(errors="replace")))


@pytest.fixture
def director(module_lab, io_driver):
    """lvsd on the module's lab (parametrize module_lab indirectly with the
    mode) with the io_driver, the kernel watch installed; all stopped at
    the end of the test."""
    d = Director(module_lab, io_driver)
    try:
        yield d
    finally:
        d.close()


def fresh_conns(lab, addr, n, path="/", port=80, src=None, timeout=2, role="client"):
    """n HTTP requests from one curl, each on a new TCP connection
    ("Connection: close"), optionally from source address src; Counter of
    the bodies (server names), failures as "error"."""
    u = url(addr, path, port)
    extra = ["--interface", src] if src else []
    r = lab.run(role, "curl", "-s", "-m", str(timeout), "-H", "Connection: close", *extra,
                "-w", "|%{http_code}\n", *([u] * n), check=False, timeout=n * timeout + 10)
    c = collections.Counter()
    for body, code in re.findall(r"(.*?)\|(\d{3})\n", r.stdout, re.S):
        c[body.strip() if code == "200" else "error"] += 1
    missing = n - sum(c.values())
    if missing:
        c["error"] += missing
    return c


SLOW_GET = r"""
import hashlib, socket, sys, time
a, path, rate, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM)
# a small receive window: the data keeps flowing through the director at
# the reading rate instead of piling up in the client's buffers
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(5)
s.connect((a, 80))
s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\nHost: lab\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    c = s.recv(65536)
    if not c:
        break
    buf += c
head, _, body = buf.partition(b"\r\n\r\n")
h, n, t0 = hashlib.sha256(body), len(body), time.monotonic()
while time.monotonic() - t0 < limit:
    c = s.recv(65536)
    if not c:
        break
    h.update(c)
    n += len(c)
    ahead = n / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
print((head.split(b" ") + [b"0", b"0"])[1].decode(), n, h.hexdigest(), flush=True)
"""


class HeldDownload:
    """One slow download of the 10 MB file through the VIP (a reader with
    a 64 KB receive buffer, reading at `rate` bytes/s), kept open while a
    test changes the configuration.  result() is (0 when it got status 200
    and the whole file else 1, sha256 of the body)."""

    def __init__(self, d, addr, rate=3e6, limit=30):
        self.limit = limit
        self.size = int(d.lab.env["BIG_SIZE"])
        self.p = d.spawn("client", PY, "-c", SLOW_GET, addr, "/big", str(rate), str(limit),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def running(self):
        return self.p.poll() is None

    def result(self):
        out, err = self.p.communicate(timeout=self.limit + 10)
        f = out.split()
        if len(f) != 3:
            return 1, "no result: %s %s" % (out, err)
        return (0 if f[0] == "200" and int(f[1]) == self.size else 1), f[2]


UDP_RESPONDER = r"""
import socket, sys
port, name, fam = int(sys.argv[1]), sys.argv[2].encode() + b"\n", sys.argv[3]
s = socket.socket(socket.AF_INET if fam == "4" else socket.AF_INET6, socket.SOCK_DGRAM)
if fam == "6":
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("0.0.0.0" if fam == "4" else "::", port))
while True:
    _, peer = s.recvfrom(2048)
    s.sendto(name, peer)
"""


def udp_responders(d, port=5353, family=4):
    """In every server namespace a responder answering each datagram on
    port with "serverN\\n".  (Not socat UDP-RECVFROM,fork: measured here, it
    leaves about one datagram in six unanswered when they come 1 ms apart;
    a plain recvfrom/sendto loop answers every one.)"""
    for i, name in enumerate(d.lab.servers, 1):
        d.spawn("rs%d" % i, PY, "-c", UDP_RESPONDER, str(port), name, str(family))
    for i in range(1, len(d.lab.servers) + 1):
        end = time.monotonic() + 5
        pat = ("0.0.0.0:%d" if family == 4 else "[::]:%d") % port
        while pat not in d.lab.run("rs%d" % i, "ss", "-Hlun").stdout:
            assert time.monotonic() < end, "no UDP responder on %s in rs%d" % (pat, i)
            time.sleep(0.05)


def udp_ask(lab, addr, port=5353, wait=0.5):
    """One datagram from a new socket (a new flow) with socat; the answer
    (socat waits `wait` seconds for it after sending)."""
    target = ("UDP6:[%s]:%d" if ":" in addr else "UDP4:%s:%d") % (addr, port)
    r = lab.run("client", "socat", "-t", str(wait), "-", target,
                input="ask\n", check=False, timeout=10)
    return r.stdout.strip() or "error"


UDP_ASKER = r"""
import socket, sys
a, p, n, same = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
fam = socket.AF_INET6 if ":" in a else socket.AF_INET
s = None
got = []
for i in range(n):
    if s is None or not same:
        if s is not None:
            s.close()
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        s.connect((a, p))
    s.send(b"q%d\n" % i)
    try:
        got.append(s.recv(200).decode().strip() or "empty")
    except OSError:
        got.append("error")
print(" ".join(got))
"""


def udp_asks(lab, addr, n, port=5353, one_socket=False):
    """n datagrams, each from a new socket (a new flow each), or all from
    one socket; the answers in order ("error" when none came in 1 s)."""
    r = lab.run("client", PY, "-c", UDP_ASKER, addr, str(port), str(n),
                "1" if one_socket else "0", timeout=n * 1.5 + 10)
    return r.stdout.split()


class Capture:
    """dumpcap on interfaces of a namespace, into a pcapng in the lab
    directory; bounded by duration (auto-stop) and stopped early by
    stop().  frames(fields) reads it back with tshark."""

    def __init__(self, lab, role, ifaces, bpf=None, duration=20, snaplen=512):
        self.lab = lab
        self.path = Path(lab.env["LAB_DIR"]) / ("cap.%d.pcapng" % next(_counter))
        cmd = ["dumpcap", "-s", str(snaplen), "-a", "duration:%d" % duration, "-w", str(self.path)]
        for i in ifaces:
            cmd += ["-i", i]
        if bpf:
            cmd += ["-f", bpf]
        self.p = lab.popen(role, *cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        # dumpcap says "Capturing on ..." once its interfaces are open
        end = time.monotonic() + 10
        seen = ""
        while time.monotonic() < end:
            ready, _, _ = select.select([self.p.stderr], [], [], 0.5)
            if ready:
                line = self.p.stderr.readline()
                seen += line
                if line.startswith("Capturing on"):
                    break
                if not line and self.p.poll() is not None:
                    break
        if "Capturing on" not in seen:
            self.stop()
            raise RuntimeError("dumpcap did not start: %s" % seen)
        time.sleep(0.3)

    def stop(self):
        if self.p.poll() is None:
            time.sleep(0.3)      # let the last frames in
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.p.stderr.close()

    def frames(self, *fields, dfilter=None, opts=()):
        """One dict per frame: field -> list of values (all occurrences,
        outer header first)."""
        self.stop()
        cmd = ["tshark", "-n", "-r", str(self.path), "-T", "fields", "-E", "separator=\t",
               "-E", "occurrence=a", "-E", "aggregator=|"]
        for o in opts:
            cmd += ["-o", o]
        if dfilter:
            cmd += ["-Y", dfilter]
        for f in fields:
            cmd += ["-e", f]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        out = []
        for line in r.stdout.splitlines():
            vals = line.split("\t")
            out.append({f: (v.split("|") if v else []) for f, v in zip(fields, vals)})
        return out

    def text(self, dfilter=None, limit=40):
        """A short tshark summary, for assertion messages."""
        cmd = ["tshark", "-n", "-r", str(self.path), "-c", str(limit)]
        if dfilter:
            cmd += ["-Y", dfilter]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout


class WireCapture:
    """Capture on the far ends of the director's interfaces (DIR_PEER_<if>
    in the env file): what really crossed the wire, whichever I/O driver
    lvsd uses (frames an AF_XDP socket receives or sends pass no packet
    tap on the director's side).  frames() reports each frame with
    frame.interface_name set to the director's interface it crossed, in
    time order; the rest is Capture's API."""

    def __init__(self, lab, ifaces, bpf=None, duration=20, snaplen=512):
        self.caps = []
        try:
            for i in ifaces:
                ns, peer = lab.env["DIR_PEER_" + i].split()
                self.caps.append((i, Capture(lab, ns, [peer], bpf, duration, snaplen)))
        except BaseException:
            self.stop()
            raise

    def stop(self):
        for _, c in self.caps:
            c.stop()

    def frames(self, *fields, dfilter=None, opts=()):
        out = []
        for i, c in self.caps:
            for f in c.frames("frame.time_epoch", *fields, dfilter=dfilter, opts=opts):
                if "frame.interface_name" in f:
                    f["frame.interface_name"] = [i]
                out.append(f)
        out.sort(key=lambda f: float(f["frame.time_epoch"][0]))
        for f in out:
            if "frame.time_epoch" not in fields:
                del f["frame.time_epoch"]
        return out

    def text(self, dfilter=None, limit=40):
        return "".join("-- %s (far end) --\n%s" % (i, c.text(dfilter, limit))
                       for i, c in self.caps)


def client_addrs(e):
    """Every address the client may send from."""
    return set([e["CLIENT_IP4"], e["CLIENT_IP6"]] + e["CLIENT_EXTRA4"].split()
               + e["CLIENT_EXTRA6"].split())


def within(count, want, tol=0.10):
    return abs(count - want) <= tol * want


PROVOKE = r"""
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, TCP, UDP, Raw, send
v4, v6 = sys.argv[1], sys.argv[2]
pk = []
for ip in (IP(dst=v4), IPv6(dst=v6)):
    pk += [ip / TCP(sport=41000, dport=81, flags="S", seq=7),        # no such service
           ip / TCP(sport=41001, dport=80, flags="A", seq=1, ack=1), # no connection
           ip / TCP(sport=41002, dport=80, flags="FA", seq=1, ack=1),
           ip / TCP(sport=41003, dport=80, flags="PA", seq=1, ack=1) / Raw(b"GET / HTTP/1.0\r\n\r\n"),
           ip / UDP(sport=41004, dport=9) / Raw(b"x"),               # no UDP service
           ip / UDP(sport=41005, dport=80) / Raw(b"x")]              # TCP port, UDP
send(pk, verbose=False)
"""

ERRORS = "tcp.flags.reset == 1 || icmp.type in {3, 4, 5, 11, 12} || icmpv6.type in {1, 2, 3, 4}"


def check_kernel_never_answers(d):
    """Shared by the three modes: services on both VIPs, then traffic the
    director's kernel would answer if it saw it (a SYN to a port without a
    service, TCP segments of no connection, UDP to closed ports), real
    requests, and pings (lvsd answers them).  The kernel watch must stay
    at zero, and no RST / ICMP error leaves the director's MACs on the
    wire; then the positive control: a SYN to the director's own address
    is RST by its kernel, and both the watch and the capture see it."""
    e = d.lab.env
    d.service(e["VIP4"], sched="rr")
    d.service(e["VIP6"], sched="rr")
    ifs = e["DIR_IFS"].split()
    mine = {e["DIR_MAC_" + i] for i in ifs}
    cap = Capture(d.lab, "director", ifs)
    d.lab.run("client", PY, "-c", PROVOKE, e["VIP4"], e["VIP6"], timeout=60)
    assert fresh_conns(d.lab, e["VIP4"], 6).get("error", 0) == 0
    assert fresh_conns(d.lab, e["VIP6"], 6).get("error", 0) == 0
    p4 = d.lab.run("client", "ping", "-n", "-c", "1", "-W", "2", e["VIP4"], check=False)
    p6 = d.lab.run("client", "ping", "-n", "-6", "-c", "1", "-W", "2", e["VIP6"], check=False)
    quiet = d.watch.counts()
    after = d.watch.prove()
    fr = cap.frames("eth.src", "ip.src", "ipv6.src", "tcp.srcport", dfilter=ERRORS)
    from_dir = [f for f in fr if f["eth.src"] and f["eth.src"][0] in mine]
    proof = [f for f in from_dir if f["ip.src"] == [e["DIR_CLIENT_IP4"]]
             and f["tcp.srcport"] == ["81"]]
    assert not any(quiet.values()), \
        "the director's kernel answered or forwarded: %s" % quiet
    assert [f for f in from_dir if f not in proof] == [], cap.text(ERRORS)
    assert proof and after["rst"] >= 1, (after, cap.text(ERRORS))
    # lvsd owns the VIP: it answers pings itself
    assert p4.returncode == 0, p4.stdout
    assert p6.returncode == 0, p6.stdout


def sha256_responders(d, port=9000):
    """In every server namespace a socat that answers each TCP connection
    on port (IPv4 and IPv6) with the sha256sum of what it received, once
    the client half-closes."""
    for i in range(1, len(d.lab.servers) + 1):
        d.spawn("rs%d" % i, "socat", "TCP4-LISTEN:%d,fork,reuseaddr" % port, "SYSTEM:sha256sum")
        d.spawn("rs%d" % i, "socat", "TCP6-LISTEN:%d,fork,reuseaddr,ipv6only=1" % port,
                "SYSTEM:sha256sum")
    for i in range(1, len(d.lab.servers) + 1):
        end = time.monotonic() + 5
        while True:
            out = d.lab.run("rs%d" % i, "ss", "-Hltn", "sport = :%d" % port).stdout
            if "0.0.0.0:%d" % port in out and "[::]:%d" % port in out:
                break
            assert time.monotonic() < end, "socat did not listen on %d in rs%d" % (port, i)
            time.sleep(0.05)


def upload_file(lab, size=2 * 1024 * 1024):
    """A file of random bytes in the lab directory: (path, its sha256)."""
    import hashlib
    path = Path(lab.env["LAB_DIR"]) / ("upload.%d" % size)
    if not path.exists():
        path.write_bytes(os.urandom(size))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def upload(lab, addr, path, port=9000, timeout=20):
    """Send the file to addr:port with socat (half-close at the end) and
    return what the server answered (its sha256sum of the bytes)."""
    target = ("TCP6:[%s]:%d" if ":" in addr else "TCP4:%s:%d") % (addr, port)
    with open(path, "rb") as f:
        r = lab.run("client", "timeout", str(timeout), "socat", "-t", str(timeout), "-",
                    target, stdin=f, text=False, check=False, timeout=timeout + 10)
    return (r.stdout.decode(errors="replace").split() or [""])[0]
