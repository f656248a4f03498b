#!/usr/bin/python3
"""bench/check.py - the health-check benchmark table (`make bench-check`, root).

In a DR lab without nginx (lab/lab.sh up dr --no-nginx), one nginx inside
the director's namespace listens on port 80 of every address, so the
10,000 real servers of the file live on loopback addresses 127.1.0.1 ...
127.1.39.16 (all local through 127.0.0.0/8).  lvsd runs from a
keepalived.conf of 1,000 virtual servers with 10 real servers each, half
of the real servers checked by TCP_CHECK, half by HTTP_GET (GET /health),
delay_loop 1: 10,000 checks a second.  The table shows:

  - probes per second done, and the checker thread's CPU per probe (its
    utime + stime over the window, /proc/PID/task/TID/stat), with the
    control thread's beside it;
  - how late probes started against their schedule: within the window
    (lvsd_check_start_lateness_seconds scraped from --metrics before and
    after it) and over the whole run (`lvsadm --checks`);
  - frames forwarded per second by the workers (a UDP DR service on the
    lab's VIP, datagrams from the client) with the same file without its
    checks, with them running, and with them running at checker_priority
    19 (the checker thread niced, so forwarding goes first).

Targets (plain lines after the table, never a failure): 10,000 checks
per second within one core; p99 lateness under 50 ms; no forwarding dip
beyond noise.  Every load is bounded in time; the lab is removed at the end.
"""
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ctl  # noqa: E402  (the lab, lvsd and forwarding helpers)

NVS = int(os.environ.get("BENCH_NVS", "1000"))
NRS = int(os.environ.get("BENCH_NRS", "10"))
WINDOW = float(os.environ.get("BENCH_WINDOW", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
LOW_PRIO = 19  # checker_priority for the last row: forwarding first

NGINX_CONF = """
worker_processes 1;
worker_rlimit_nofile 70000;
daemon on;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 32768; }
http {
    access_log off;
    client_body_temp_path %(d)s/tmp;
    proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp;
    scgi_temp_path %(d)s/tmp;
    server {
        listen 80 default_server backlog=8192;
        location = /health { return 200 "ok\\n"; }
    }
}
"""


def rs_addr(k):
    k += 1
    return "127.1.%d.%d" % (k // 256, k % 256)


def keepalived_conf(checks, prio=None):
    out = ["global_defs {\n    router_id LVS_BENCH_CHECK\n%s}\n"
           % ("    checker_priority %d\n" % prio if prio is not None else "")]
    k = 0
    for v in range(NVS):
        out.append("virtual_server 10.60.%d.%d 80 {\n    delay_loop 1\n    lb_algo wlc\n"
                   "    lb_kind DR\n    protocol TCP\n" % (v // 250, v % 250 + 1))
        for _ in range(NRS):
            chk = ""
            if checks and k % 2 == 0:
                chk = "        TCP_CHECK {\n            connect_timeout 2\n        }\n"
            elif checks:
                chk = ("        HTTP_GET {\n            url {\n                path /health\n"
                       "                status_code 200\n            }\n"
                       "            connect_timeout 2\n        }\n")
            out.append("    real_server %s 80 {\n        weight 1\n%s    }\n" % (rs_addr(k), chk))
            k += 1
        out.append("}\n")
    return "".join(out)


def thread_cpu_s(pid, tid=None):
    """utime + stime of one of lvsd's threads (the main, control, one by
    default), seconds."""
    f = Path("/proc/%d/task/%d/stat" % (pid, tid or pid)).read_text()
    fields = f[f.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def checker_tid(pid):
    """The checker thread (named lvsd-check)."""
    for t in Path("/proc/%d/task" % pid).iterdir():
        if (t / "comm").read_text().strip() == "lvsd-check":
            return int(t.name)
    raise SystemExit("lvsd has no lvsd-check thread")


def failure_reasons(out):
    """The last failure's reason of each check that failed, counted."""
    c = {}
    for m in re.finditer(r" failed [1-9]\d* last [0-9.]+ ms : (.*)$", out, re.M):
        why = re.sub(r"/\S+", "PATH", m.group(1))
        c[why] = c.get(why, 0) + 1
    return ", ".join("%s (%d)" % kv for kv in sorted(c.items(), key=lambda kv: -kv[1])[:4])


def check_figures(lab, reasons=None):
    r = lab.lvsadm("--checks")
    out = r.stdout
    if reasons is not None:
        reasons.append(failure_reasons(out))
    m = re.search(r"Probes: (\d+) \((\d+) failed, (\d+) overran\); started late by p50 "
                  r"([0-9.]+) ms, p99 ([0-9.]+) ms, max ([0-9.]+) ms", out)
    if not m:
        log = Path(lab.env["LAB_DIR"]) / "lvsd.bench.log"
        raise SystemExit("no probe figures in lvsadm --checks (exit %d):\n%s%s\nlvsd's log:\n%s"
                         % (r.returncode, out[:2000], r.stderr[:2000],
                            log.read_text()[-3000:] if log.exists() else "-"))
    return [float(x) for x in m.groups()]


METRICS = "127.0.0.1:9480"


def late_hist(lab):
    """lvsd_check_start_lateness_seconds from the metrics: [(le, count)]."""
    r = lab.nsrun("director", "curl", "-sf", "-m", "10", "http://%s/metrics" % METRICS)
    got = re.findall(r'^lvsd_check_start_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)$',
                     r.stdout, re.M)
    if not got:
        raise SystemExit("no lateness histogram in the metrics (curl exit %d)" % r.returncode)
    return [(float(le), int(n)) for le, n in got]


def late_window(h0, h1, q):
    """The upper bound (ms) of the histogram bucket holding the q-quantile
    of the probes started between the scrapes h0 and h1."""
    d = [(le, b - a) for (le, b), (_, a) in zip(h1, h0)]
    total = d[-1][1]
    for le, n in d:
        if total and n >= q * total:
            return le * 1000
    return float("nan")


def start_nginx(lab):
    d = Path(lab.env["LAB_DIR"]) / "bench-check-nginx"
    (d / "tmp").mkdir(parents=True, exist_ok=True)
    (d / "nginx.conf").write_text(NGINX_CONF % {"d": d})
    r = lab.nsrun("director", "nginx", "-e", str(d / "error.log"), "-p", str(d),
                  "-c", str(d / "nginx.conf"))
    if r.returncode:
        raise SystemExit("nginx: " + r.stderr)
    return d


def stop_nginx(lab, d):
    lab.nsrun("director", "nginx", "-e", str(d / "error.log"), "-p", str(d),
              "-c", str(d / "nginx.conf"), "-s", "stop")


def run_lvsd(lab, checks, prio=None):
    conf = Path(lab.env["LAB_DIR"]) / ("bench-check-%s.conf" % ("on" if checks else "off"))
    conf.write_text(keepalived_conf(checks, prio))
    lab.start(["-f", str(conf), "--metrics", METRICS])
    vip = lab.env["VIP4"] + ":5353"
    lab.lvsadm("-A", "-u", vip, "-s", "rr")
    for r in lab.env["RIPS4"].split():
        lab.lvsadm("-a", "-u", vip, "-r", r + ":5353", "-g")


def stop_lvsd(lab):
    lab.lvsd.terminate()
    lab.lvsd.wait(20)
    lab.lvsd = None


def main():
    for p in (ctl.LVSD, ctl.LVSADM, ctl.TOOL):
        if not p.exists():
            raise SystemExit("missing %s: make all first" % p)
    lab = ctl.Lab("bchk%d" % os.getpid())
    rows, nginx = [], None
    try:
        nginx = start_nginx(lab)
        ctl.log("lvsd with %d x %d servers, no checks" % (NVS, NRS))
        run_lvsd(lab, False)
        base = [ctl.fwd_rate(lab) for _ in range(ROUNDS)]
        stop_lvsd(lab)
        ctl.log("lvsd with %d x %d servers, checks every second" % (NVS, NRS))
        run_lvsd(lab, True)
        time.sleep(5)  # past the warmup: every check runs on its schedule
        h0 = late_hist(lab)
        tid = checker_tid(lab.lvsd.pid)
        p0, t0 = check_figures(lab)[0], time.monotonic()
        cpu0, ccpu0 = thread_cpu_s(lab.lvsd.pid, tid), thread_cpu_s(lab.lvsd.pid)
        if os.environ.get("BENCH_PERF"):
            ctl.run(["perf", "record", "-o", os.environ["BENCH_PERF"], "-t", str(tid),
                     "--", "sleep", str(WINDOW)], timeout=WINDOW + 60)
        else:
            time.sleep(WINDOW)
        f = check_figures(lab)
        cpu, dt = thread_cpu_s(lab.lvsd.pid, tid) - cpu0, time.monotonic() - t0
        ccpu = thread_cpu_s(lab.lvsd.pid) - ccpu0
        probes = f[0] - p0
        h1 = late_hist(lab)
        busy = [ctl.fwd_rate(lab) for _ in range(ROUNDS)]
        why = []
        f = check_figures(lab, why)
        stop_lvsd(lab)
        ctl.log("lvsd with the same checks at checker_priority %d" % LOW_PRIO)
        run_lvsd(lab, True, LOW_PRIO)
        time.sleep(5)
        low = [ctl.fwd_rate(lab) for _ in range(ROUNDS)]
        stop_lvsd(lab)
    finally:
        if lab.lvsd:
            stop_lvsd(lab)
        if nginx:
            stop_nginx(lab, nginx)
        lab.down()

    pps = probes / dt
    rows.append(("distinct checks (TCP_CHECK and HTTP_GET, delay_loop 1 s)", "%d" % (NVS * NRS),
                 "%d virtual servers x %d real servers" % (NVS, NRS)))
    rows.append(("probes per second", "%.0f" % pps, "over %.0f s" % dt))
    rows.append(("checker thread CPU", "%.0f%%" % (cpu / dt * 100),
                 "%.1f us per probe" % (cpu / probes * 1e6 if probes else 0)))
    rows.append(("control thread CPU", "%.0f%%" % (ccpu / dt * 100),
                 "applying verdicts, two lvsadm --checks and metrics scrapes"))
    rows.append(("probes failed / overran (whole run)", "%.0f / %.0f" % (f[1], f[2]),
                 why[0] if why and why[0] else ""))
    lw50, lw99 = late_window(h0, h1, 0.50), late_window(h0, h1, 0.99)
    rows.append(("probe start lateness in the window, p50 / p99", "<= %g / <= %g ms"
                 % (lw50, lw99), "histogram bounds (lvsd_check_start_lateness_seconds)"))
    rows.append(("probe start lateness p50 / p99 / max, whole run", "%.1f / %.1f / %.1f ms"
                 % (f[3], f[4], f[5]), "from the start, the forwarding rounds included"))
    mb, mc = ctl.median(base), ctl.median(busy)
    rows.append(("frames forwarded/s, UDP DR, no checks", "%.0f" % mb,
                 "rounds: " + " ".join("%.0f" % x for x in base)))
    rows.append(("frames forwarded/s, UDP DR, checks running", "%.0f" % mc,
                 "rounds: " + " ".join("%.0f" % x for x in busy)))
    ml = ctl.median(low)
    rows.append(("  the same, checker_priority %d" % LOW_PRIO, "%.0f" % ml,
                 "rounds: " + " ".join("%.0f" % x for x in low)))

    print("\nlvsd health checks (make bench-check)")
    print("machine: %s; lvsd default workers; lab: DR, nginx in the director's namespace "
          "answering every check" % ctl.machine())
    w = max(len(r[0]) for r in rows)
    for r in rows:
        print("  %-*s  %-22s %s" % (w, r[0], r[1], r[2]))
    print("\ntarget checks (figures, not failures):")
    print("  10,000 checks per second within one core: %s (%.0f/s at %.0f%% of a core)"
          % ("met" if pps >= 10000 * 0.95 and cpu / dt <= 1 else "missed", pps, cpu / dt * 100))
    print("  p99 lateness under 50 ms: %s (p99 <= %g ms in the window)"
          % ("met" if lw99 <= 50 else "missed", lw99))
    print("  forwarding while checks run: %.0f vs %.0f frames/s (%+.1f%%); at "
          "checker_priority %d: %.0f (%+.1f%%)"
          % (mc, mb, (mc - mb) / mb * 100 if mb else 0, LOW_PRIO, ml,
             (ml - mb) / mb * 100 if mb else 0))
    print("  (2 CPUs: nginx answering 10,000 checks a second, the UDP sender and lvsd's"
          " workers share them)")


if __name__ == "__main__":
    main()
