#!/usr/bin/python3
"""bench/fwmark.py - what a firewall-mark service costs against an
address/port service (`make bench-fwmark`, root).

The nat lab with HTTP on 80 and 443 (lab.sh --port2 443) and one lvsd
worker: TCP VIP:80 is an address service, VIP:443 is marked 1 by an
iptables mangle rule and served by `-A -f 1` (the same three NAT servers,
rr).  Its packets reach lvsd through NFQUEUE (daemon/fwmark.c) instead of
the AF_PACKET ring.  In interleaved rounds, per service:

  - new connections: N requests, each on a new connection (curl,
    "Connection: close");
  - established packets: N requests on one keep-alive connection.

For each run: lvsd's CPU time (all its threads, from schedstat), the
machine's busy CPU time (/proc/stat: the client, the servers and the
kernel's queue work too), both divided by the connections or by the
packets the service received (lvsadm --stats InPkts).  Medians of the
rounds; the ratio column is the firewall-mark figure over the address
service's.  Figures only, never asserted.
"""
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("LVS_BUILD", str(REPO / "build"))

from tests.e2e import conftest  # noqa: E402

ROUNDS = int(os.environ.get("FWM_ROUNDS", 3))
N_NEW = int(os.environ.get("FWM_NEW", 300))
N_KEEP = int(os.environ.get("FWM_KEEP", 1000))


def lvsd_cpu_ns(pid):
    t = 0
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
            t += int(f.read().split()[0])
    return t


def busy_ns():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) * 1e9 / os.sysconf("SC_CLK_TCK")


def in_pkts(d, key):
    return d.stats()[key][1]


def run(d, lab, vip, port, key, keep):
    pid = d.lvsd.pid
    p0, c0, b0 = in_pkts(d, key), lvsd_cpu_ns(pid), busy_ns()
    if keep:
        u = conftest.url(vip, "/", port)
        lab.run("client", "curl", "-s", "-o", "/dev/null", *([u] * N_KEEP), timeout=120)
        n = N_KEEP
    else:
        c = conftest.fresh_conns(lab, vip, N_NEW, port=port)
        assert not c["error"], c
        n = N_NEW
    c1, b1, p1 = lvsd_cpu_ns(pid), busy_ns(), in_pkts(d, key)
    return n, p1 - p0, (c1 - c0) / 1e3, (b1 - b0) / 1e3


def main():
    if os.geteuid() != 0:
        sys.exit("bench/fwmark.py needs root (network namespaces)")
    lab = conftest.Lab("nat", "fmb%d" % os.getpid(), port2=443)
    try:
        e = lab.env
        d = conftest.Director(lab, "afpacket", extra=("-w", "1"))
        vip = e["VIP4"]
        lab.run("director", "iptables", "-w", "-t", "mangle", "-A", "PREROUTING", "-d", vip,
                "-p", "tcp", "--dport", "443", "-j", "MARK", "--set-mark", "1")
        addr_key, fwm_key = "TCP %s:80" % vip, "FWM 1"

        # One service at a time: the host guard drops everything sent to a
        # VIP that has an address service and is not a host address, the
        # marked port included (see docs/ARCHITECTURE.md).
        def use(name):
            d.lvsadm("-C")
            if name == "address":
                d.service(vip, sched="rr")
                return
            d.lvsadm("-A", "-f", "1", "-s", "rr")
            for rip in lab.rips4:
                d.lvsadm("-a", "-f", "1", "-r", rip, "-m")
            end = time.monotonic() + 5
            while "--mark" not in lab.run("director", "iptables", "-w", "-t", "mangle", "-S",
                                          "LVSD-FWMARK", check=False).stdout:
                assert time.monotonic() < end, "lvsd's rules did not appear"
                time.sleep(0.1)

        res = {}
        for _ in range(ROUNDS):
            for name, port, key in (("address", 80, addr_key), ("fwmark", 443, fwm_key)):
                use(name)
                for keep in (False, True):
                    n, pk, cpu, busy = run(d, lab, vip, port, key, keep)
                    print("  %s %s: %d requests, %d packets, lvsd %.0f us" % (
                        name, "keep-alive" if keep else "new", n, pk, cpu), file=sys.stderr)
                    per = n if not keep else max(pk, 1)
                    res.setdefault((keep, name), []).append((cpu / per, busy / per, pk / n))
        # lvsd's log (Director.close prints it) before the table
        import contextlib, io
        with contextlib.redirect_stdout(io.StringIO()):
            d.close()
        print("firewall-mark service vs address service (nat lab, 1 worker, "
              "median of %d rounds)" % ROUNDS)
        print("%-28s %-8s %12s %14s %10s %8s" % ("run", "service", "lvsd us", "machine us",
                                                 "pkts/req", "ratio"))
        for keep, what in ((False, "per new connection"), (True, "per established packet")):
            base = None
            for name in ("address", "fwmark"):
                rows = res[(keep, name)]
                cpu = statistics.median(r[0] for r in rows)
                busy = statistics.median(r[1] for r in rows)
                ppr = statistics.median(r[2] for r in rows)
                base = base or cpu
                print("%-28s %-8s %12.2f %14.2f %10.1f %7.2fx" % (what, name, cpu, busy, ppr,
                                                                 cpu / base))
    finally:
        lab.down()


if __name__ == "__main__":
    main()
