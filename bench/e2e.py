#!/usr/bin/python3
"""bench/e2e.py - the end-to-end benchmark table of lvsd (`make bench-e2e`).

Brings up two labs (lab/lab.sh: NAT and DR), then measures, in interleaved
rounds (every method once per round, the order rotated each round), HTTP
through each way of spreading a VIP over the three nginx servers:

  lvsd NAT and DR, with each packet I/O driver `build/lvsd --help` lists,
    with the XDP fast path on and off;
  nftables DNAT (conntrack, kernel forwarding) in the NAT lab's director;
  stateless nftables DR (netdev ingress, MAC rewrite, fwd) in the DR lab's;
  HAProxy (mode tcp) and nginx stream, on the VIP in the NAT lab's director;
  direct: the client to server1's RIP through the DR lab's router.

Per method and round: wrk keep-alive and new-connection runs on "/" (req/s,
p99), a one-connection bulk run on /big, the spread over the servers from
their access logs, and the whole machine's CPU time per request from
/proc/stat.  Prints one table of medians, notes and the target checks.

Environment: BENCH_ROUNDS (default 5), BENCH_SECONDS per wrk run (default
4), BENCH_VERBOSE=1 (per-round numbers on stderr), BENCH_ONLY (comma-separated
parts of method names: only those are measured), LVS_BUILD (default
<repo>/build).  Needs root; Debian's python3, stdlib only.  Exit status 1
when a method could not be measured in any round (a missed target is not an
error), 130 when interrupted; the labs go down in every case.
"""
import os
import re
import shlex
import signal
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "e2e"
BUILD = Path(os.environ.get("LVS_BUILD", REPO / "build"))
LVSD = BUILD / "lvsd"
LVSADM = BUILD / "lvsadm"
LAB_SH = REPO / "lab" / "lab.sh"
WRK_LUA = TEMPLATES / "wrk_report.lua"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"

WRK_THREADS = 1
WRK_CONNS = 16
SETTLE = 1.3            # nginx writes its buffered access log after 1 s
HZ = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


def env_int(name, default, lo, hi):
    v = os.environ.get(name, "")
    if not v:
        return default
    try:
        n = int(v)
    except ValueError:
        sys.exit("bench-e2e: %s=%r is not a number" % (name, v))
    if not lo <= n <= hi:
        sys.exit("bench-e2e: %s must be between %d and %d" % (name, lo, hi))
    return n


ROUNDS = env_int("BENCH_ROUNDS", 5, 1, 20)
SECONDS = env_int("BENCH_SECONDS", 4, 1, 30)
VERBOSE = os.environ.get("BENCH_VERBOSE", "") not in ("", "0")


class MethodError(Exception):
    """A method could not be set up or measured (a script or setup error,
    as opposed to slow numbers)."""


def log(msg):
    print("bench-e2e: " + msg, file=sys.stderr, flush=True)


def run(cmd, timeout=30, check=True, **kw):
    cmd = [str(c) for c in cmd]
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(cmd, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise MethodError("%s: exit %d: %s" % (" ".join(map(shlex.quote, cmd)), r.returncode,
                                               ((r.stderr or "") + (r.stdout or "")).strip()[-400:]))
    return r


def nsrun(ns, *cmd, **kw):
    return run(["ip", "netns", "exec", ns] + list(cmd), **kw)


def render(name, **values):
    text = (TEMPLATES / name).read_text()
    return string.Template(text).substitute({k: str(v) for k, v in values.items()})


def parse_env(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        env[k] = shlex.split(v)[0] if v else ""
    return env


def cpu_ticks():
    """All CPUs' times from /proc/stat, in clock ticks: (busy, steal, all).
    Busy is user, nice, system, irq and softirq (guest time is already
    inside user); not steal, which is time the hypervisor gave to someone
    else: it is reported on its own, as a measure of the run's noise."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    steal = v[7] if len(v) > 7 else 0
    return v[0] + v[1] + v[2] + v[5] + v[6], steal, sum(v[:8])


def url(addr, path="/"):
    return "http://%s:80%s" % (addr, path)


# ------------------------------------------------------------------ labs --

class Lab:
    """One lab.sh topology, up until down()."""

    def __init__(self, mode, prefix):
        self.mode = mode
        self.prefix = prefix
        self.env = None
        self._started = False

    def up(self):
        self._started = True
        r = run([LAB_SH, "up", self.mode, "--prefix", self.prefix], timeout=120, check=False,
                env=dict(os.environ, LAB_QUIET="1"))
        if r.returncode != 0:
            raise RuntimeError("lab.sh up %s failed (%d): %s%s"
                               % (self.mode, r.returncode, r.stdout, r.stderr))
        self.env = parse_env(r.stdout.strip().splitlines()[-1])
        e = self.env
        self.dir = Path(e["LAB_DIR"])
        self.cli = e["NS_CLIENT"]
        self.director = e["NS_DIRECTOR"]
        self.router = e["NS_ROUTER"]
        self.servers = []
        for i, name in enumerate(e["RS_NAMES"].split(), 1):
            self.servers.append({"name": name, "ns": e["RS%d_NS" % i], "ip": e["RS%d_IP4" % i],
                                 "mac": e["RS%d_MAC" % i],
                                 "log": self.dir / ("rs%d" % i) / "access.log"})
        # the client's addresses: its own, then the extras (one per method)
        self.client_addrs = [e["CLIENT_IP4"]] + e["CLIENT_EXTRA4"].split()

    def down(self):
        if self._started:
            self._started = False
            run([LAB_SH, "down", "--prefix", self.prefix], timeout=120, check=False,
                env=dict(os.environ, LAB_QUIET="1"))

    # ---- access logs: requests for "/" per server ----
    def truncate_logs(self):
        for s in self.servers:
            os.truncate(s["log"], 0)

    def count_logs(self):
        out = []
        for s in self.servers:
            n = 0
            with open(s["log"], "rb") as f:
                for line in f:
                    if b'"GET / HTTP' in line:
                        n += 1
            out.append(n)
        return out


class Daemon:
    """A foreground process in a namespace (ip netns exec execs it, so the
    PID is the program's), in its own session so that only we stop it: by
    PID, SIGTERM, then SIGKILL after a bounded wait."""

    def __init__(self, ns, cmd, workdir, name):
        workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = workdir / (name + ".log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + [str(c) for c in cmd],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        (workdir / (name + ".pid")).write_text("%d\n" % self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-1500:]

    def stop(self, timeout=5.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        return self.proc.returncode


def wait_until(what, pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() >= end:
            raise MethodError("%s: not ready after %.0f s" % (what, timeout))
        time.sleep(step)


# --------------------------------------------------------------- methods --

class Method:
    """One row of the table.  start() sets it up in its lab and routes the
    client's traffic for target() from the method's own source address;
    stop() undoes everything start() did, in reverse, also after a partial
    start."""

    slug = ""
    vip = True           # the client talks to the VIP (else a RIP)

    def __init__(self, name, lab, src_index):
        self.name = name
        self.lab = lab
        self.src_index = src_index
        self.na = ""     # why the row is not measured at all (not an error)
        self.undo = []

    @property
    def src(self):
        return self.lab.client_addrs[self.src_index]

    def target(self):
        return self.lab.env["VIP4"]

    def expected_servers(self):
        return len(self.lab.servers)

    def start(self):
        e = self.lab.env
        gw = e["CLIENT_GW4"]
        dst = self.target() + "/32"
        nsrun(self.lab.cli, "ip", "route", "replace", dst, "via", gw, "src", self.src)
        if self.vip:
            self.undo.append(lambda: nsrun(self.lab.cli, "ip", "route", "replace", dst, "via", gw))
        else:
            self.undo.append(lambda: nsrun(self.lab.cli, "ip", "route", "del", dst))
        self.setup()

    def setup(self):
        pass

    def stop(self):
        errors = []
        while self.undo:
            f = self.undo.pop()
            try:
                f()
            except Exception as ex:     # keep undoing the rest
                errors.append(str(ex))
        if errors:
            raise MethodError("%s: cleanup: %s" % (self.name, "; ".join(errors)))

    def workdir(self):
        return self.lab.dir / ("bench-" + self.slug)

    def notes(self):
        return []


class LvsdMethod(Method):
    def __init__(self, name, lab, src_index, fwd, io, fast=None):
        super().__init__(name, lab, src_index)
        self.fwd = fwd
        self.io = io
        self.fast = fast  # None: the driver's default; True/False: --fastpath on/off
        self.slug = "lvsd-%s-%s%s" % (lab.mode, io, {None: "", True: "-fast", False: ""}[fast])

    def lvsadm(self, *args, timeout=10, check=True):
        return nsrun(self.lab.director, LVSADM, *args, timeout=timeout, check=check)

    def setup(self):
        e = self.lab.env
        if not LVSD.exists() or not LVSADM.exists():
            raise MethodError("no %s or %s (make all)" % (LVSD, LVSADM))
        cmd = [LVSD, "-n", "--io", self.io]
        if self.fast is not None:
            cmd += ["--fastpath", "on" if self.fast else "off"]
        for i in e["DIR_IFS"].split():
            cmd += ["-i", i]
        d = Daemon(self.lab.director, cmd, self.workdir(), "lvsd")
        self.undo.append(lambda: self._stop(d))

        def ready():
            if not d.alive():
                raise MethodError("lvsd exited with %s:\n%s" % (d.proc.returncode, d.output()))
            return self.lvsadm("-L", "-n", timeout=3, check=False).returncode == 0
        wait_until("lvsd", ready, 5)
        vip = "%s:%s" % (e["VIP4"], e["VIP_PORT"])
        self.lvsadm("-A", "-t", vip, "-s", "rr")
        for s in self.lab.servers:
            self.lvsadm("-a", "-t", vip, "-r", "%s:80" % s["ip"], self.fwd)

    def _stop(self, d):
        rc = d.stop()
        # lvsd removes its host-guard tables when it exits; after a kill
        # they would stay and blackhole the next method's VIP traffic.
        r = nsrun(self.lab.director, "nft", "list", "tables", check=False)
        for m in re.finditer(r"^table netdev (lvsd_\S+)$", r.stdout, re.M):
            nsrun(self.lab.director, "nft", "delete", "table", "netdev", m.group(1))
        if rc not in (0, -signal.SIGTERM):
            raise MethodError("lvsd exited with %s:\n%s" % (rc, d.output()))


def load_nft(m, name, rules, family):
    """Write method m's nftables table (rules text) into its work directory
    and load it into the lab's director; its deletion joins m's undo list
    once it is loaded."""
    ns = m.lab.director
    path = m.workdir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rules)
    nsrun(ns, "nft", "-f", path)
    m.undo.append(lambda: nsrun(ns, "nft", "delete", "table", family, m.TABLE))


class NftDnat(Method):
    slug = "nft-dnat"
    TABLE = "lvbench_dnat"

    def setup(self):
        e = self.lab.env
        ns = self.lab.director
        nsrun(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.undo.append(lambda: nsrun(ns, "sysctl", "-qw", "net.ipv4.ip_forward=0"))
        rules = render("nft-dnat.nft.in", TABLE=self.TABLE, VIP=e["VIP4"], PORT=e["VIP_PORT"],
                       N=len(self.lab.servers),
                       RIP_MAP=", ".join("%d : %s" % (i, s["ip"])
                                         for i, s in enumerate(self.lab.servers)))
        load_nft(self, "dnat.nft", rules, "ip")


class NftDr(Method):
    slug = "nft-dr"
    TABLE = "lvbench_dr"

    def setup(self):
        e = self.lab.env
        ifn = e["DIR_IF_SERVER"]
        # The router's route to the VIP goes via the director's own address,
        # so the router asks ARP for that address (the director's kernel
        # answers), never for the VIP: nothing has to answer for the VIP.
        r = nsrun(self.lab.router, "ip", "route", "get", e["VIP4"])
        if "via %s " % e["DIR_SERVER_IP4"] not in r.stdout + " ":
            raise MethodError("the DR lab's router does not route the VIP via the director: %s"
                              % r.stdout.strip())
        rules = render("nft-dr.nft.in", TABLE=self.TABLE, IF=ifn, VIP=e["VIP4"],
                       PORT=e["VIP_PORT"], DIR_MAC=e["DIR_MAC_" + ifn], N=len(self.lab.servers),
                       MAC_MAP=", ".join("%d : %s" % (i, s["mac"])
                                         for i, s in enumerate(self.lab.servers)))
        load_nft(self, "dr.nft", rules, "netdev")


class ProxyMethod(Method):
    """A user-space TCP proxy on the VIP in the NAT lab's director: the VIP
    on its lo while measured, the proxy in the foreground from its own
    files in the lab directory."""

    def command(self, wd):
        raise NotImplementedError

    def setup(self):
        e = self.lab.env
        ns = self.lab.director
        nsrun(ns, "ip", "addr", "add", e["VIP4"] + "/32", "dev", "lo")
        self.undo.append(lambda: nsrun(ns, "ip", "addr", "del", e["VIP4"] + "/32", "dev", "lo"))
        wd = self.workdir()
        wd.mkdir(parents=True, exist_ok=True)
        cmd = self.command(wd)
        d = Daemon(ns, cmd, wd, self.slug)
        self.undo.append(lambda: d.stop())
        want = "%s:%s" % (e["VIP4"], e["VIP_PORT"])

        def listening():
            if not d.alive():
                raise MethodError("%s exited with %s:\n%s" % (self.slug, d.proc.returncode,
                                                              d.output()))
            return want in nsrun(ns, "ss", "-Hltn", "sport = :%s" % e["VIP_PORT"],
                                 timeout=5).stdout
        wait_until(self.slug, listening, 5)


class Haproxy(ProxyMethod):
    slug = "haproxy"

    def command(self, wd):
        e = self.lab.env
        cfg = wd / "haproxy.cfg"
        cfg.write_text(render("haproxy.cfg.in", THREADS=CPUS, VIP=e["VIP4"], PORT=e["VIP_PORT"],
                              SERVERS="\n".join("\tserver %s %s:80" % (s["name"], s["ip"])
                                                for s in self.lab.servers)))
        return ["haproxy", "-db", "-f", cfg]


class NginxStream(ProxyMethod):
    slug = "nginx-stream"

    def command(self, wd):
        e = self.lab.env
        cfg = wd / "nginx.conf"
        cfg.write_text(render("nginx-stream.conf.in", STREAM_MODULE=STREAM_MODULE, THREADS=CPUS,
                              DIR=wd, VIP=e["VIP4"], PORT=e["VIP_PORT"],
                              SERVERS="\n".join("\t\tserver %s:80;" % s["ip"]
                                                for s in self.lab.servers)))
        return ["nginx", "-e", wd / "error.log", "-p", wd, "-c", cfg]


class Direct(Method):
    slug = "direct"
    vip = False

    def target(self):
        return self.lab.servers[0]["ip"]

    def expected_servers(self):
        return 1


# ----------------------------------------------------------- measuring --

_last_wrk_end = [0.0]


def settle():
    """Wait until nginx has written what it buffered since the last run."""
    left = SETTLE - (time.monotonic() - _last_wrk_end[0])
    if left > 0:
        time.sleep(left)


def wrk(lab, addr, path, conns, close):
    cmd = ["ip", "netns", "exec", lab.cli, "wrk", "-t%d" % WRK_THREADS, "-c%d" % conns,
           "-d%ds" % SECONDS, "--timeout", "2s", "-s", str(WRK_LUA)]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append(url(addr, path))
    c0 = cpu_ticks()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 30)
    finally:
        _last_wrk_end[0] = time.monotonic()
    c1 = cpu_ticks()
    m = re.search(r"^E2E (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise MethodError("wrk %s: exit %d: %s%s" % (url(addr, path), r.returncode,
                                                     r.stdout[-400:], r.stderr[-400:]))
    v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
    secs = v["duration_us"] / 1e6
    v["rps"] = v["requests"] / secs if secs else 0.0
    v["p99_ms"] = v["p99_us"] / 1e3
    v["MBps"] = v["bytes"] / secs / 1e6 if secs else 0.0
    busy, steal, total = (b - a for a, b in zip(c0, c1))
    v["cpu_us_req"] = busy * 1e6 / HZ / v["requests"] if v["requests"] else float("nan")
    v["steal_pct"] = 100.0 * steal / total if total else 0.0
    v["errors"] = sum(v[k] for k in v if k.startswith("err_"))
    return v


def ready(lab, addr, timeout=6.0):
    """The target answers "/" with 200 (bounded retries: lvsd announces its
    VIP and resolves next hops, a proxy may take a moment)."""
    def ok():
        r = nsrun(lab.cli, "curl", "-s", "-o", "/dev/null", "-m", "1", "-w", "%{http_code}",
                  url(addr), check=False, timeout=5)
        return r.stdout.strip() == "200"
    wait_until("the first answer through %s" % addr, ok, timeout, step=0.2)


def big_intact(lab, addr):
    r = nsrun(lab.cli, "sh", "-c", "curl -sf -m 20 %s | sha256sum" % shlex.quote(url(addr, "/big")),
              timeout=30, check=False)
    return (r.stdout.split() or [""])[0] == lab.env["BIG_SHA256"]


def measure(m):
    lab = m.lab
    m.start()
    addr = m.target()
    ready(lab, addr)
    res = {"big_ok": big_intact(lab, addr)}
    ka = wrk(lab, addr, "/", WRK_CONNS, close=False)
    bulk = wrk(lab, addr, "/big", 1, close=False)
    settle()
    lab.truncate_logs()
    nc = wrk(lab, addr, "/", WRK_CONNS, close=True)
    settle()
    counts = lab.count_logs()
    m.stop()
    res.update(ka_rps=ka["rps"], ka_p99=ka["p99_ms"], ka_cpu=ka["cpu_us_req"],
               nc_rps=nc["rps"], nc_p99=nc["p99_ms"], nc_cpu=nc["cpu_us_req"],
               bulk=bulk["MBps"], counts=counts,
               steal=max(ka["steal_pct"], bulk["steal_pct"], nc["steal_pct"]),
               errors={"ka": ka["errors"], "nc": nc["errors"], "bulk": bulk["errors"]})
    return res


# --------------------------------------------------------------- report --

def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d cores, Linux %s" % (model, CPUS, os.uname().release)


def offloads(lab):
    r = nsrun(lab.cli, "ethtool", "-k", lab.env["CLIENT_IF"], check=False)
    want = [("tx-checksumming", "tx-csum"), ("tcp-segmentation-offload", "tso"),
            ("generic-segmentation-offload", "gso"), ("generic-receive-offload", "gro")]
    got = []
    for key, short in want:
        m = re.search(r"^%s: (\S+)" % key, r.stdout, re.M)
        if m:
            got.append("%s %s" % (short, m.group(1)))
    return ", ".join(got) or "unknown (no ethtool)"


def versions():
    out = []
    try:
        rev = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    out.append("lvsd %s%s (%d workers: one per CPU)" % (LVSD, " at " + rev if rev else "", CPUS))
    try:
        h = run(["haproxy", "-v"], check=False).stdout.split("\n")[0]
        out.append("HAProxy %s nbthread %d" % (h.split()[2] if len(h.split()) > 2 else "?", CPUS))
    except (OSError, subprocess.SubprocessError):
        out.append("HAProxy missing")
    try:
        n = run(["nginx", "-v"], check=False).stderr.strip().rpartition("/")[2]
        out.append("nginx %s stream, %d workers" % (n or "?", CPUS))
    except (OSError, subprocess.SubprocessError):
        out.append("nginx missing")
    return "; ".join(out)


def io_drivers():
    """The --io drivers `lvsd --help` lists, e.g. "packet I/O: afpacket
    (default), afxdp"."""
    if not LVSD.exists():
        return ()
    r = run([LVSD, "--help"], check=False, timeout=10)
    for line in (r.stdout + r.stderr).splitlines():
        if "--io" in line and ":" in line:
            words = re.findall(r"[a-z][a-z0-9_]*", line.split(":", 1)[1])
            return tuple(w for w in words if w != "default")
    return ()


def med(rounds, key):
    vals = [r[key] for r in rounds if r.get(key) == r.get(key)]     # not NaN
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "-" if v is None else spec % v


def spread(rounds, nservers):
    tot = [0] * nservers
    for r in rounds:
        for i, c in enumerate(r["counts"]):
            tot[i] += c
    s = sum(tot)
    if not s:
        return "-"
    return "/".join("%.0f" % (100.0 * c / s) for c in tot)


def foreign_namespaces(labs):
    """Network namespaces that are not our labs': someone else's lab or
    container load shares the CPUs, and /proc/stat counts it."""
    r = run(["ip", "netns", "list"], check=False, timeout=10)
    ours = tuple(lab.prefix + "-" for lab in labs.values())
    return {line.split()[0] for line in r.stdout.splitlines()
            if line.split() and not line.split()[0].startswith(ours)}


def print_table(methods, results, failures, labs, drivers, foreign):
    nat = labs["nat"]
    names = [s["name"].replace("server", "s") for s in nat.servers]
    print("\nEnd-to-end through the namespace lab (veth): wrk on the client, nginx on %d servers,"
          % len(nat.servers))
    print("HTTP/1.1 to the VIP on port 80\n")
    print("machine: %s" % machine())
    print("conditions: %d interleaved rounds (each measures every method once, order rotated "
          "each round), %d s per wrk run; keep-alive and new-conn (Connection: close): "
          "wrk -t%d -c%d on /; bulk: wrk -t1 -c1 on /big (%s bytes); offloads on "
          "(lab defaults; client eth0: %s)"
          % (ROUNDS, SECONDS, WRK_THREADS, WRK_CONNS, nat.env["BIG_SIZE"], offloads(nat)))
    print("software: %s" % versions())
    print()
    print("| method | req/s ka | p99 ka ms | req/s nc | p99 nc ms | CPU-µs/req nc | bulk MB/s "
          "| spread %% nc (%s) |" % "/".join(names))
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in methods:
        if m.na:
            print("| %s | %s | - | - | - | - | - | - |" % (m.name, m.na))
            continue
        rs = results[m.name]
        if not rs:
            print("| %s | not measured (error) | - | - | - | - | - | - |" % m.name)
            continue
        flag = ""
        if any(sum(r["errors"].values()) for r in rs):
            flag += " (!)"
        if not all(r["big_ok"] for r in rs):
            flag += " (corrupt /big)"
        print("| %s%s | %s | %s | %s | %s | %s | %s | %s |"
              % (m.name, flag, fmt(med(rs, "ka_rps"), "%.0f"), fmt(med(rs, "ka_p99"), "%.2f"),
                 fmt(med(rs, "nc_rps"), "%.0f"), fmt(med(rs, "nc_p99"), "%.2f"),
                 fmt(med(rs, "nc_cpu"), "%.0f"), fmt(med(rs, "bulk"), "%.0f"),
                 spread(rs, len(m.lab.servers))))
    print()
    print("notes:")
    print("- req/s, p99, CPU-µs/req and bulk MB/s are medians over the rounds, each column on "
          "its own; spread pools the new-conn requests of every round, counted in the servers' "
          "nginx access logs (requests for /).")
    print("- p99 is wrk's latency (request written to response read; connecting is not in it); "
          "ka = keep-alive, nc = a new connection per request.")
    print("- CPU-µs/req: busy time of the whole machine (all CPUs: user nice system irq softirq "
          "from /proc/stat; not steal) during the new-conn run divided by its requests; client, "
          "router, director and servers together, since on veth the kernel does a forwarder's "
          "work in the sender's context.")
    print("- bulk MB/s: 10^6 bytes per second of /big over one keep-alive connection.")
    steals = sorted(r["steal"] for rs in results.values() for r in rs)
    if steals:
        print("- hypervisor steal (share of all CPU time taken by other guests) during the "
              "measurements: median %.1f%%, highest %.1f%%; a round with a high figure ran "
              "on a slowed machine, which the medians are meant to outvote."
              % (statistics.median(steals), steals[-1]))
    print("- lvsd: rr over the 3 servers, -m (NAT lab) or -g (DR lab). nft DNAT: conntrack "
          "DNAT (numgen inc) in the NAT lab's director, ip_forward=1 only while it runs. "
          "nft DR: netdev ingress on the DR lab's director, jhash(client addr . port) picks the "
          "server MAC, fwd back out; the router routes the VIP via the director's address, so "
          "nothing needs to answer ARP for the VIP. HAProxy (mode tcp, roundrobin) and nginx "
          "stream: on the VIP, added to the NAT lab director's lo only while they run.")
    print("- direct: measured in the DR lab, client -> router -> server1's RIP (no director); "
          "its spread is 100/0/0 by construction.")
    srcs = ", ".join("%s %s" % (m.name, m.src) for m in methods)
    print("- client source addresses: each method's connections start from an address of its "
          "own (the client's route to the target carries `src`), so the servers' TIME_WAIT "
          "sockets of one method never meet the next one's SYNs: %s." % srcs)
    if "afxdp" not in drivers:
        print("- afxdp rows: build/lvsd --help lists no afxdp driver.")
    for m in methods:
        rs = results.get(m.name) or []
        errs = {}
        for r in rs:
            for k, v in r["errors"].items():
                errs[k] = errs.get(k, 0) + v
        if any(errs.values()):
            print("- (!) %s: wrk errors (connect/read/write/timeout/non-2xx) over all rounds: %s"
                  % (m.name, ", ".join("%s %d" % kv for kv in errs.items())))
        if rs and not all(r["big_ok"] for r in rs):
            print("- %s: /big arrived with a wrong sha256 in %d of %d rounds"
                  % (m.name, sum(not r["big_ok"] for r in rs), len(rs)))
    if foreign:
        print("- other network namespaces were up during the run (%d, e.g. %s): their load, if "
              "any, is in the figures, the CPU column above all."
              % (len(foreign), ", ".join(sorted(foreign)[:3])))
    for name, rnd, msg in failures:
        print("- round %d, %s failed: %s" % (rnd, name, " ".join(msg.split())[:300] or "?"))


def print_checks(methods, results, drivers):
    by = {m.name: results.get(m.name) or [] for m in methods}

    def val(name, key):
        return med(by.get(name) or [], key)

    def verdict(a, b, higher_better):
        if a is None or b is None:
            return "n/a"
        return "met" if (a >= b if higher_better else a <= b) else "not met"

    print("\ntarget checks (met: lvsd at least the other's req/s, at most its CPU-µs/req):")
    for io in [d for d in ("afpacket", "afpacket, fast path", "afxdp", "afxdp, fast path")
               if d.split(",")[0] in drivers]:
        dr, nat = "lvsd DR (%s)" % io, "lvsd NAT (%s)" % io
        # (lvsd's row, the other's, the column, the line, more is better)
        for mine, other, key, line, higher in (
                (dr, "nft DR", "nc_rps", "%s new-conn req/s vs nft DR: %s vs %s -> %s", True),
                (nat, "nft DNAT", "nc_rps", "%s vs nft DNAT new-conn: %s vs %s req/s -> %s",
                 True),
                (dr, "nft DR", "nc_cpu", "%s CPU-µs/req (new-conn) vs nft DR: %s vs %s -> %s",
                 False),
                (nat, "nft DNAT", "nc_cpu",
                 "%s CPU-µs/req (new-conn) vs nft DNAT: %s vs %s -> %s", False)):
            a, b = val(mine, key), val(other, key)
            print(line % (mine, fmt(a, "%.0f"), fmt(b, "%.0f"), verdict(a, b, higher)))
        for mine in (dr, nat):
            a, b = val(mine, "bulk"), val("direct", "bulk")
            if a is None or not b:
                print("bulk through %s vs direct: n/a" % mine)
            else:
                print("bulk through %s vs direct: %+.0f%% (%.0f vs %.0f MB/s)"
                      % (mine, 100.0 * (a - b) / b, a, b))


def verbose_round(m, rnd, r):
    print("bench-e2e: round %d %s: ka %.0f req/s p99 %.2f ms (%.0f CPU-µs/req), "
          "nc %.0f req/s p99 %.2f ms (%.0f CPU-µs/req), bulk %.0f MB/s, per server %s, "
          "errors %s, /big %s, steal %.1f%%"
          % (rnd, m.name, r["ka_rps"], r["ka_p99"], r["ka_cpu"], r["nc_rps"], r["nc_p99"],
             r["nc_cpu"], r["bulk"], "/".join(map(str, r["counts"])),
             ",".join("%s=%d" % kv for kv in r["errors"].items()),
             "ok" if r["big_ok"] else "BAD", r["steal"]), file=sys.stderr, flush=True)


# ----------------------------------------------------------------- main --

def build_methods(labs, drivers):
    nat, dr = labs["nat"], labs["dr"]
    methods = []
    # source address index into the lab's client addresses (0 = CLIENT_IP4)
    variants = (("afpacket", 1, False, "afpacket"), ("afpacket", 1, True, "afpacket, fast path"),
                ("afxdp", 2, False, "afxdp"), ("afxdp", 2, True, "afxdp, fast path"))
    for lab, fwd, what in ((nat, "-m", "NAT"), (dr, "-g", "DR")):
        for io, i, fast, label in variants:
            m = LvsdMethod("lvsd %s (%s)" % (what, label), lab, i, fwd, io, fast)
            if io not in drivers:
                m.na = "n/a (driver not built)"
            methods.append(m)
    methods.append(NftDnat("nft DNAT", nat, 3))
    methods.append(NftDr("nft DR", dr, 3))
    methods.append(Haproxy("HAProxy tcp", nat, 4))
    methods.append(NginxStream("nginx stream", nat, 0))
    methods.append(Direct("direct", dr, 4))
    return methods


def preflight():
    if os.geteuid() != 0:
        sys.exit("bench-e2e: needs root (network namespaces)")
    missing = [t for t in ("ip", "nft", "wrk", "curl", "nginx", "haproxy", "ethtool")
               if run(["sh", "-c", "command -v " + t], check=False).returncode]
    if not Path(STREAM_MODULE).exists():
        missing.append(STREAM_MODULE + " (libnginx-mod-stream)")
    if missing:
        log("missing: %s (mk/deps.sh installs them); those methods will fail"
            % ", ".join(missing))


def main():
    preflight()
    drivers = io_drivers()
    if not drivers:
        log("no %s (or it lists no --io driver): run make all first; lvsd rows will fail" % LVSD)
        drivers = ("afpacket",)
    pid = os.getpid()
    labs = {"nat": Lab("nat", "lvb%dn" % pid), "dr": Lab("dr", "lvb%dd" % pid)}
    current = [None]
    interrupted = False
    foreign = set()
    failures = []

    def on_term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    # Installed explicitly: a shell starts background jobs with SIGINT
    # ignored, and Python then never raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_term)
    try:
        for lab in labs.values():
            lab.up()
        methods = build_methods(labs, drivers)
        results = {m.name: [] for m in methods}
        only = [w.strip() for w in os.environ.get("BENCH_ONLY", "").split(",") if w.strip()]
        if only:
            for m in methods:
                if not m.na and not any(w in m.name for w in only):
                    m.na = "n/a (not in BENCH_ONLY)"
        active = [m for m in methods if not m.na]
        t0 = time.monotonic()
        for rnd in range(1, ROUNDS + 1):
            k = (rnd - 1) % len(active)
            order = active[k:] + active[:k]
            log("round %d of %d (%.0f s so far)" % (rnd, ROUNDS, time.monotonic() - t0))
            for m in order:
                current[0] = m
                foreign.update(foreign_namespaces(labs))
                try:
                    r = measure(m)
                    results[m.name].append(r)
                    if VERBOSE:
                        verbose_round(m, rnd, r)
                except Exception as ex:     # recorded; the other methods go on
                    failures.append((m.name, rnd, str(ex)))
                    log("round %d, %s failed: %s" % (rnd, m.name, ex))
                    try:
                        m.stop()
                    except Exception as ex2:
                        log("%s: %s" % (m.name, ex2))
                current[0] = None
        print_table(methods, results, failures, labs, drivers, foreign)
        print_checks(methods, results, drivers)
        lost = [m.name for m in active if not results[m.name]]
        if lost:
            log("not measured in any round: %s" % ", ".join(lost))
            return 1
        return 0
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: cleaning up")
        return 130
    except RuntimeError as ex:
        log(str(ex))
        return 1
    finally:
        # Nothing interrupts the cleanup itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if current[0] is not None:
            try:
                current[0].stop()
            except Exception as ex:
                log("%s: %s" % (current[0].name, ex))
        for lab in labs.values():
            lab.down()
        if interrupted:
            log("labs down")


if __name__ == "__main__":
    sys.exit(main())
