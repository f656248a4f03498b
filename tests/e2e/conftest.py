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
  lab.start_lvsd(*extra) -> Lvsd: build/lvsd -f -i IF... in the director
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

    def __init__(self, lab, args):
        self.lab = lab
        self.log_path = Path(lab.env["LAB_DIR"]) / ("lvsd.%d.log" % next(_counter))
        self.log = open(self.log_path, "wb")
        self.cmd = ["ip", "netns", "exec", lab.ns("director"), str(LVSD)] + args
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
                r = self.lab.lvsadm("-L", "-n", check=False, timeout=2)
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
    def __init__(self, mode, prefix, decap_obj=None, nginx=True):
        self.mode = mode
        self.prefix = prefix
        self.lvsds = []
        self._down = False
        cmd = [str(LAB_SH), "up", mode, "--prefix", prefix]
        if not nginx:
            cmd.append("--no-nginx")
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
        roles = {"client": "NS_CLIENT", "director": "NS_DIRECTOR",
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
        args = ["-f"]
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

    def lvsadm(self, *args, check=True, input=None, timeout=10):
        if not LVSADM.exists():
            pytest.skip("no lvsadm binary at %s" % LVSADM)
        r = self.run("director", LVSADM, *args, check=False, input=input, timeout=timeout)
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
