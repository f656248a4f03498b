#!/usr/bin/python3
"""bench/ctl.py - the control-plane benchmark table (`make bench-ctl`, root).

In a DR lab without nginx (lab/lab.sh up dr --no-nginx), lvsd serves the
director's interface with its default workers, and the table shows:

  - `lvsadm -R` of 1,000 and 10,000 virtual services with 10 NAT real
    servers each (an empty table first): time to apply, lvsd's resident
    memory after, and the growth;
  - against the 10,000 services: 1,000 weight changes (`lvsadm -e`) and
    1,000 real-server add/delete pairs, one command per connection as
    lvsadm sends them: changes per second and the slowest round trip;
  - the control thread's longest callback (lvsd's own figure from
    `lvsadm --status`, when it reports one);
  - frames forwarded per second by the workers (a UDP DR service on the
    lab's VIP, datagrams from the client) while nothing changes (before
    and after), while weight changes run at a steady 1,000 per second, and
    while they run flat out: forwarding must not dip.

Targets (plain lines after the table, never a failure): 10,000 x 10
applied in under 1 s; at least 10,000 single-destination changes per
second; no forwarding dip beyond noise; no control-thread stall over 5 ms.
Every load is bounded in count and time; the lab is removed at the end.
"""
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("LVS_BUILD", REPO / "build"))
LVSD, LVSADM, TOOL = BUILD / "lvsd", BUILD / "lvsadm", BUILD / "bench_ctl"
LAB_SH = REPO / "lab" / "lab.sh"
PREFIX = "bctl%d" % os.getpid()
CHANGES = int(os.environ.get("BENCH_CHANGES", "1000"))
WINDOW = float(os.environ.get("BENCH_WINDOW", "3"))
PACED = int(os.environ.get("BENCH_PACED", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def log(msg):
    print("bench-ctl: " + msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run([str(c) for c in cmd], **kw)


class Lab:
    def __init__(self, prefix=PREFIX):
        self.prefix = prefix
        r = run([LAB_SH, "up", "dr", "--prefix", prefix, "--no-nginx"],
                env=dict(os.environ, LAB_QUIET="1"), timeout=180)
        if r.returncode != 0:
            raise SystemExit("lab up failed:\n" + r.stdout + r.stderr)
        self.env = {}
        for line in Path(r.stdout.strip().splitlines()[-1]).read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                self.env[k] = v.strip("'\"")
        self.lvsd = None

    def ns(self, role):
        return self.env["NS_" + role.upper()]

    def nsrun(self, role, *cmd, **kw):
        return run(["ip", "netns", "exec", self.ns(role)] + list(cmd), **kw)

    def start(self, extra=()):
        args = ["ip", "netns", "exec", self.ns("director"), LVSD, "-n"]
        for i in self.env["DIR_IFS"].split():
            args += ["-i", i]
        args += list(extra)
        self.log = open(Path(self.env["LAB_DIR"]) / "lvsd.bench.log", "wb")
        self.lvsd = subprocess.Popen([str(a) for a in args], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.lvsadm("-L", "-n").returncode == 0:
                return
            if self.lvsd.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("lvsd did not start")

    def lvsadm(self, *args, input=None):
        return self.nsrun("director", LVSADM, *args, input=input, timeout=120)

    def rss_mb(self):
        st = Path("/proc/%d/status" % self.lvsd.pid).read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", st).group(1)) / 1024.0

    def down(self):
        if self.lvsd and self.lvsd.poll() is None:
            self.lvsd.terminate()
            try:
                self.lvsd.wait(5)
            except subprocess.TimeoutExpired:
                self.lvsd.kill()
                self.lvsd.wait(5)
        run([LAB_SH, "down", "--prefix", self.prefix], env=dict(os.environ, LAB_QUIET="1"),
            timeout=120)


# The longest callbacks lvsd reported since PHASE was last reset: every
# --status read starts lvsd's "since the last status" figures again, so
# each read adds its figures here.
PHASE = {}


def phase_reset():
    PHASE.update(wall=0.0, name="", cpu=0.0, cname="")


phase_reset()


def status(lab):
    out = lab.lvsadm("--status").stdout
    m = re.search(r"since the last status ([0-9.]+) ms \(([^)]*)\); CPU: longest [0-9.]+ ms "
                  r"\([^)]*\), since the last status ([0-9.]+) ms \(([^)]*)\)", out)
    if m:
        if float(m.group(1)) > PHASE["wall"]:
            PHASE.update(wall=float(m.group(1)), name=m.group(2))
        if float(m.group(3)) > PHASE["cpu"]:
            PHASE.update(cpu=float(m.group(3)), cname=m.group(4))
    return out


def forwarded(lab):
    m = re.search(r"Frames: \d+ received, (\d+) forwarded", status(lab))
    return int(m.group(1)) if m else 0


def longest_callback(lab):
    """The longest callbacks since the last phase_reset (wall ms, its name,
    CPU ms, its name), this status read included; starts a new phase."""
    status(lab)
    r = (PHASE["wall"], PHASE["name"], PHASE["cpu"], PHASE["cname"])
    phase_reset()
    return r


def fwd_rate(lab, during=None):
    """Frames forwarded per second over WINDOW seconds of UDP load from the
    client; `during` runs meanwhile in another thread."""
    before = forwarded(lab)
    t0 = time.monotonic()
    th = None
    if during:
        th = threading.Thread(target=during)
        th.start()
    lab.nsrun("client", TOOL, "blast", lab.env["VIP4"], "5353", str(WINDOW), timeout=60)
    dt = time.monotonic() - t0
    if th:
        th.join(120)
    return (forwarded(lab) - before) / dt


def apply_rules(lab, n):
    rules = run([TOOL, "rules", n, 10]).stdout
    lab.lvsadm("-C")
    rss0 = lab.rss_mb()
    t0 = time.monotonic()
    r = lab.lvsadm("-R", input=rules)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit("lvsadm -R of %d services failed: %s" % (n, r.stderr))
    count = lab.lvsadm("-L", "-n").stdout.count("\nTCP  ")
    return dt, lab.rss_mb(), lab.rss_mb() - rss0, count


def changes(lab, kind, count, n, rate=0):
    args = [kind, count, n] + ([10] if kind == "weight" else []) + ([rate] if rate else [])
    out = lab.nsrun("director", TOOL, *args, timeout=600).stdout.split()
    failed = int(out[out.index("failed") - 1])
    if failed:
        raise SystemExit("%s: %d of %d changes refused by lvsd" % (kind, failed, count))
    return float(out[out.index("per_s") - 1]), float(out[out.index("worst_ms") + 1])


def machine():
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return "%d CPUs (%s), kernel %s" % (os.cpu_count(), model, os.uname().release)


def main():
    for p in (LVSD, LVSADM, TOOL):
        if not p.exists():
            raise SystemExit("missing %s: make all first" % p)
    lab = Lab()
    rows = []
    try:
        lab.start()
        rss_idle = lab.rss_mb()
        for n in (1000, 10000):
            log("lvsadm -R of %d services x 10 servers" % n)
            dt, rss, grow, count = apply_rules(lab, n)
            if count != n:
                raise SystemExit("listed %d services after -R of %d" % (count, n))
            rows.append(("lvsadm -R: %d services x 10 real servers" % n,
                         "%.3f s" % dt, "lvsd %.0f MB (+%.0f MB)" % (rss, grow)))
        # a UDP DR service on the lab's VIP for the forwarding rate
        vip = lab.env["VIP4"] + ":5353"
        lab.lvsadm("-A", "-u", vip, "-s", "rr")
        for r in lab.env["RIPS4"].split():
            lab.lvsadm("-a", "-u", vip, "-r", r + ":5353", "-g")
        # the restores and the listings of 10,000 services above
        cb_r, what_r, cpu_r, cwhat_r = longest_callback(lab)
        # forwarding: idle, at a steady 1,000 changes/s, and flat out,
        # interleaved over ROUNDS rounds (medians: this machine is noisy)
        idles, pacs, busys, prate, brate = [], [], [], [], []
        log("%d weight changes" % CHANGES)
        wps, wworst = changes(lab, "weight", CHANGES, 10000)
        log("%d add/delete pairs" % CHANGES)
        aps, aworst = changes(lab, "adddel", 2 * CHANGES, 10000)
        rows.append(("%d weight changes (lvsadm -e), 10,000 services" % CHANGES,
                     "%.0f changes/s" % wps, "slowest round trip %.1f ms" % wworst))
        rows.append(("%d real-server add + delete pairs, 10,000 services" % CHANGES,
                     "%.0f changes/s" % aps, "slowest round trip %.1f ms" % aworst))
        busy_n = max(2 * CHANGES, int(WINDOW * max(wps, 1)))
        paced_n = int(WINDOW * PACED)
        for rnd in range(ROUNDS):
            log("forwarding, round %d of %d" % (rnd + 1, ROUNDS))
            box = {}

            def churn():
                box["w"] = changes(lab, "weight", busy_n, 10000)

            def paced_churn():
                box["p"] = changes(lab, "weight", paced_n, 10000, PACED)

            idles.append(fwd_rate(lab))
            pacs.append(fwd_rate(lab, during=paced_churn))
            busys.append(fwd_rate(lab, during=churn))
            prate.append(box.get("p", (0, 0))[0])
            brate.append(box.get("w", (0, 0))[0])
        idle, paced, busy = median(idles), median(pacs), median(busys)
        rows.append(("frames forwarded/s, UDP DR, no changes", "%.0f" % idle,
                     "rounds: " + " ".join("%.0f" % x for x in idles)))
        rows.append(("frames forwarded/s, UDP DR, during %d weight changes/s" % PACED,
                     "%.0f" % paced, "rounds: " + " ".join("%.0f" % x for x in pacs)))
        rows.append(("frames forwarded/s, UDP DR, during changes flat out", "%.0f" % busy,
                     "rounds: " + " ".join("%.0f" % x for x in busys)
                     + "; %.0f changes/s" % median(brate)))
        cb, what, cpu, cwhat = longest_callback(lab)
        if cb is not None:
            rows.append(("control thread: longest callback, restores and listings",
                         "%.2f ms" % cb_r, "(%s); by CPU %.2f ms (%s)" % (what_r, cpu_r, cwhat_r)))
            rows.append(("control thread: longest callback, the changes",
                         "%.2f ms" % cb, "(%s); by CPU %.2f ms (%s)" % (what, cpu, cwhat)))
        rows.append(("lvsd idle (connection table preallocated)", "", "%.0f MB" % rss_idle))
    finally:
        lab.down()

    print("\nlvsd control plane (make bench-ctl)")
    print("machine: %s; lvsd default workers; lab: DR, no nginx" % machine())
    w = max(len(r[0]) for r in rows)
    for r in rows:
        print("  %-*s  %-16s %s" % (w, r[0], r[1], r[2]))
    print("\ntarget checks (figures, not failures):")
    t10k = float(rows[1][1].split()[0])
    print("  10,000 x 10 applied in under 1 s: %s (%.3f s)" % ("met" if t10k < 1 else "missed", t10k))
    print("  >= 10,000 single-destination changes/s: %s (%.0f, %.0f)"
          % ("met" if min(wps, aps) >= 10000 else "missed", wps, aps))
    base = idle
    for what, val in (("%d changes/s" % PACED, paced), ("changes flat out", busy)):
        dip = (base - val) / base * 100 if base else 0
        print("  forwarding during %s: %.0f vs %.0f frames/s idle (%+.1f%%)"
              % (what, val, base, -dip))
    print("  (2 CPUs: the workers share them with the UDP sender, the control thread"
          " and the lvsadm client;\n   flat out, the changes take CPU time the workers"
          " would otherwise use)")
    if cb is not None:
        print("  longest control-thread callback <= 5 ms: %s (%.2f ms wall, %.2f ms CPU during"
              " the changes; %.2f ms wall, %.2f ms CPU during the restores and listings)"
              % ("met" if max(cb, cb_r) <= 5 else "missed", cb, cpu, cb_r, cpu_r))


if __name__ == "__main__":
    main()
