"""lvsd end-to-end with firewall-mark services (ipvsadm -A -f N): the
operator's own iptables / ip6tables mangle rule marks the packets (ports
80 and 443 of the VIP grouped under one mark), lvsd queues the packets
whose mark has a service to itself (NFQUEUE, its chain LVSD-FWMARK) and
forwards them; the director's kernel never answers them.

Covered: HTTP on both ports through NAT and DR (IPv4), NAT over IPv6
(ip6tables), and TUN with both I/O drivers, a client sticking to one server across both ports with -p
(one template keyed on the mark), a mark without a service (the host
still answers it, nothing queued), a service without marked traffic
(idle), lvsd's rules following the services and gone when it stops.
A VIP with an address service (port 80) whose port 443 is marked into a
firewall-mark service (lvsd owns the VIP, so its host guard keeps it per
port while firewall-mark services exist): both served, NAT and DR, IPv4
and IPv6, both I/O drivers; the VIP's other ports (unmarked, or marked
without a service) dropped by the guard's prerouting chain and answered
by nobody; a download through the address service unharmed while the
firewall-mark service comes and goes; the guard's tables (netdev and
inet) gone when lvsd stops, left by a killed lvsd and replaced by the
next one.
Labs serve HTTP on 80 and 443 (lab.sh --port2 443, plain HTTP).
"""
import collections
import re
import shutil
import signal
import time

import pytest

from .conftest import (ERRORS, Director, HeldDownload, KernelWatch, WireCapture, addr_port,
                       fresh_conns, lvsd_io_drivers, own_lab)

CHAIN = "LVSD-FWMARK"


def _need_iptables():
    for tool in ("iptables", "ip6tables", "iptables-restore", "ip6tables-restore"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed (mk/deps.sh)" % tool)


@pytest.fixture(scope="module")
def nat_lab():
    _need_iptables()
    yield from own_lab("nat", "fmn", port2=443)


@pytest.fixture(scope="module")
def dr_lab():
    _need_iptables()
    yield from own_lab("dr", "fmd", port2=443)


@pytest.fixture(scope="module")
def tun_lab(decap_obj):
    _need_iptables()
    yield from own_lab("tun", "fmt", port2=443, decap_obj=decap_obj)


def mark_rule(lab, vip, mark, ports="80,443", six=False):
    """The operator's rule, as an LVS site writes it."""
    lab.run("director", "ip6tables" if six else "iptables", "-w", "-t", "mangle", "-A",
            "PREROUTING", "-d", vip, "-p", "tcp", "-m", "multiport", "--dports", ports,
            "-j", "MARK", "--set-mark", str(mark))


def lvsd_rules(lab, six=False):
    r = lab.run("director", "ip6tables" if six else "iptables", "-w", "-t", "mangle",
                "-S", CHAIN, check=False)
    return r.stdout if r.returncode == 0 else None


def wait_rules(lab, marks, six=False, timeout=5.0):
    """Until lvsd's chain queues exactly these marks."""
    end = time.monotonic() + timeout
    while True:
        text = lvsd_rules(lab, six) or ""
        got = sorted(int(line.split("--mark ")[1].split()[0].split("/")[0], 16)
                     for line in text.splitlines() if "--mark" in line)
        if got == sorted(marks):
            return text
        if time.monotonic() > end:
            raise AssertionError("lvsd's %s chain: %r, wanted marks %s" % (CHAIN, text, marks))
        time.sleep(0.1)


@pytest.fixture
def fwd(request):
    """lvsd on the lab named by the test's parameter, operator rules
    cleaned up after."""
    yield from director_with_rules(request.getfixturevalue(request.param), "afpacket")


def director_with_rules(lab, io):
    """lvsd (--io io) on lab; the operator's mangle rules flushed after."""
    d = Director(lab, io)
    try:
        yield d
    finally:
        d.close()
        for t in ("iptables", "ip6tables"):
            lab.run("director", t, "-w", "-t", "mangle", "-F", "PREROUTING", check=False)


def fwm_service(d, mark, six=False, opts=(), port=None):
    fam = ("-6",) if six else ()
    rips = d.lab.rips6 if six else d.lab.rips4
    flag = {"nat": "-m", "dr": "-g", "tun": "-i"}[d.lab.mode]
    d.lvsadm("-A", "-f", str(mark), *fam, "-s", "rr", *opts)
    for rip in rips:
        r = addr_port(rip, port) if port else rip
        d.lvsadm("-a", "-f", str(mark), *fam, "-r", r, flag)


def both_ports(d, vip, n=12):
    c80 = fresh_conns(d.lab, vip, n, port=80)
    c443 = fresh_conns(d.lab, vip, n, port=443)
    return c80, c443


@pytest.mark.parametrize("fwd", ["nat_lab", "dr_lab"], indirect=True)
def test_both_ports_one_service(fwd):
    d, e = fwd, fwd.lab.env
    mark_rule(d.lab, e["VIP4"], 1)
    fwm_service(d, 1)
    rules = wait_rules(d.lab, [1])
    assert "NFQUEUE" in rules and "--queue-bypass" in rules, rules
    c80, c443 = both_ports(d, e["VIP4"])
    # rr over three servers: each port's connections go round
    for c in (c80, c443):
        assert c["error"] == 0 and sorted(c.values()) == [4, 4, 4], (c80, c443)
    lst = d.lvsadm("-L", "-n").stdout
    assert "FWM  1 rr" in lst, lst
    st = d.stats()
    key = next(k for k in st if k.startswith("FWM 1") and "->" not in k)
    assert st[key][0] == 24, st
    ents = [x for x in d.conns() if x["proto"] == "TCP"]
    assert {int(x["vip"].rsplit(":", 1)[1]) for x in ents} == {80, 443}, ents
    d.watch.assert_silent()


@pytest.mark.parametrize("fwd", ["nat_lab"], indirect=True)
def test_ipv6_both_ports(fwd):
    d, e = fwd, fwd.lab.env
    mark_rule(d.lab, e["VIP6"], 6, six=True)
    fwm_service(d, 6, six=True, port=None)
    wait_rules(d.lab, [6], six=True)
    assert lvsd_rules(d.lab) is None or "--mark" not in lvsd_rules(d.lab)
    c80, c443 = both_ports(d, e["VIP6"], n=6)
    for c in (c80, c443):
        assert c["error"] == 0 and sorted(c.values()) == [2, 2, 2], (c80, c443)
    assert "FWM  6" in d.lvsadm("-L", "-n").stdout
    d.watch.assert_silent()


@pytest.mark.parametrize("fwd", ["nat_lab", "dr_lab"], indirect=True)
def test_persistence_across_ports(fwd):
    """-p: one client network sticks to one server on 80 and 443 alike,
    through one template keyed on the mark, as the kernel's."""
    d, e = fwd, fwd.lab.env
    mark_rule(d.lab, e["VIP4"], 1)
    fwm_service(d, 1, opts=("-p", "60"))
    wait_rules(d.lab, [1])
    c80, c443 = both_ports(d, e["VIP4"], n=8)
    assert c80["error"] == 0 and c443["error"] == 0, (c80, c443)
    assert len(c80) == 1 and c80 == {k: 8 for k in c443}, (c80, c443)
    tmpl = [x for x in d.conns() if x["proto"] != "TCP"]
    assert len(tmpl) == 1, d.lvsadm("-L", "-n", "-c").stdout
    d.watch.assert_silent()


@pytest.mark.parametrize("fwd", ["nat_lab"], indirect=True)
def test_mark_without_service_goes_to_the_host(fwd):
    """Mark 7 has no service: nothing queues it and the director's own
    server answers as it would without lvsd; the service of mark 1 works
    beside it."""
    d, e = fwd, fwd.lab.env
    lab = d.lab
    own = e["DIR_CLIENT_IP4"]
    srv = d.spawn("director", "socat", "TCP-LISTEN:8081,bind=%s,reuseaddr,fork" % own,
                  "SYSTEM:'printf \"HTTP/1.0 200 OK\\r\\n\\r\\nhost\\n\"'")
    mark_rule(lab, own, 7, ports="8081")
    mark_rule(lab, e["VIP4"], 1)
    fwm_service(d, 1)
    wait_rules(lab, [1])
    for _ in range(50):
        code, body = lab.curl("client", own, port=8081, timeout=2)
        if code == 200:
            break
        time.sleep(0.1)
    assert (code, body.strip()) == (200, "host"), (code, body, srv.poll())
    # the operator's mark did take: its rule counted the packets
    r = lab.run("director", "iptables", "-w", "-t", "mangle", "-L", "PREROUTING", "-v", "-n",
                "-x")
    line = next(x for x in r.stdout.splitlines() if "0x7" in x)
    assert int(line.split()[0]) > 0, r.stdout
    c = fresh_conns(lab, e["VIP4"], 3)
    assert c["error"] == 0, c


@pytest.mark.parametrize("fwd", ["nat_lab"], indirect=True)
def test_service_without_marked_traffic_is_idle(fwd):
    """Mark 9's service: no rule marks anything 9, so it stays idle while
    an address service on the same VIP serves as usual; deleting the
    last firewall-mark service empties lvsd's chain."""
    d, e = fwd, fwd.lab.env
    fwm_service(d, 9)
    wait_rules(d.lab, [9])
    key = d.service(e["VIP4"], sched="rr")
    c = fresh_conns(d.lab, e["VIP4"], 6)
    assert c == {"server1": 2, "server2": 2, "server3": 2}, c
    st = d.stats()
    fkey = next(k for k in st if k.startswith("FWM 9") and "->" not in k)
    assert st[fkey][0] == 0 and st[fkey][1] == 0, st[fkey]
    assert st[key][0] == 6, st[key]
    d.lvsadm("-D", "-f", "9")
    wait_rules(d.lab, [])
    d.watch.assert_silent()


@pytest.mark.parametrize("fwd", ["nat_lab"], indirect=True)
def test_rules_gone_when_lvsd_stops(fwd):
    d = fwd
    mark_rule(d.lab, d.lab.env["VIP4"], 1)
    fwm_service(d, 1)
    d.service(d.lab.env["VIP4"], sched="rr")
    wait_rules(d.lab, [1])
    wait_guard(d.lab, d.lab.env["VIP4"], True)
    d.lab.stop_lvsd()
    assert lvsd_rules(d.lab) is None
    r = d.lab.run("director", "iptables", "-w", "-t", "mangle", "-S", "PREROUTING")
    assert CHAIN not in r.stdout and "MARK" in r.stdout, r.stdout
    # the guard's tables too, netdev and inet
    tables = d.lab.run("director", "nft", "list", "tables").stdout
    assert "lvsd_" not in tables, tables
    # restart for the fixture's teardown, which stops it again
    d.lvsd = d.lab.start_lvsd("--io", "afpacket")


@pytest.mark.parametrize("io", ["afpacket", "afxdp"])
def test_tunnel_and_both_drivers(tun_lab, io):
    """TUN (IPIP to the servers' decapsulating helper), with either I/O
    driver: the marked packets reach lvsd through the queue whatever
    driver reads the interfaces."""
    lab, e = tun_lab, tun_lab.env
    d = Director(lab, io)
    try:
        mark_rule(lab, e["VIP4"], 3)
        fwm_service(d, 3)
        wait_rules(lab, [3])
        c80, c443 = both_ports(d, e["VIP4"], n=6)
        for c in (c80, c443):
            assert c["error"] == 0 and sorted(c.values()) == [2, 2, 2], (io, c80, c443)
        d.watch.assert_silent()
    finally:
        d.close()
        lab.run("director", "iptables", "-w", "-t", "mangle", "-F", "PREROUTING", check=False)


@pytest.mark.parametrize("fwd", ["nat_lab"], indirect=True)
def test_nftables_mark_rule(fwd):
    """The operator marks with nftables (`meta mark set`) instead of
    iptables, in a prerouting chain of its own that runs before mangle
    (priority mangle - 10): the same grouping works."""
    d, e = fwd, fwd.lab.env
    d.lab.run("director", "nft", "-f", "-", input="""
table ip lvs_site {
    chain pre {
        type filter hook prerouting priority mangle - 10; policy accept;
        ip daddr %s tcp dport { 80, 443 } meta mark set 5
    }
}
""" % e["VIP4"])
    try:
        fwm_service(d, 5)
        wait_rules(d.lab, [5])
        c80, c443 = both_ports(d, e["VIP4"], n=6)
        for c in (c80, c443):
            assert c["error"] == 0 and sorted(c.values()) == [2, 2, 2], (c80, c443)
        d.watch.assert_silent()
    finally:
        d.lab.run("director", "nft", "delete", "table", "ip", "lvs_site", check=False)


# ---- an address service and a firewall-mark service on one VIP ----

@pytest.fixture
def mixed(request):
    """lvsd with the driver of the test's "io" parameter on the lab of its
    "mixed" parameter; operator rules cleaned up after."""
    lab_name, io = request.param
    if io not in lvsd_io_drivers():
        pytest.skip("lvsd has no --io %s" % io)
    yield from director_with_rules(request.getfixturevalue(lab_name), io)


MIXED = [("nat_lab", "afpacket"), ("nat_lab", "afxdp"), ("dr_lab", "afpacket"),
         ("dr_lab", "afxdp")]


def guard_table(lab):
    """lvsd's guard tables on the director's client-side interface."""
    return "lvsd_" + lab.env["DIR_IF_CLIENT"]


def guard_set(lab, family, name):
    return lab.run("director", "nft", "list", "set", family, guard_table(lab), name).stdout


def prerouting_drops(lab):
    """Packets the guard's prerouting chain (inet lvsd_IF) dropped."""
    out = lab.run("director", "nft", "list", "chain", "inet", guard_table(lab),
                  "prerouting").stdout
    return sum(int(n) for n in re.findall(r"counter packets (\d+)", out))


def wait_guard(lab, vip, per_port, timeout=5.0):
    """Until the VIP is guarded per port (firewall-mark mode) or whole."""
    six = ":" in vip
    end = time.monotonic() + timeout
    while True:
        whole = vip in guard_set(lab, "netdev", "vip6" if six else "vip4")
        pp = vip in guard_set(lab, "netdev", "pvip6" if six else "pvip4")
        pre = vip in guard_set(lab, "inet", "vip6" if six else "vip4")
        if (whole, pp, pre) == (not per_port, per_port, per_port):
            return
        assert time.monotonic() < end, (vip, per_port, whole, pp, pre)
        time.sleep(0.1)


@pytest.mark.parametrize("mixed", MIXED, indirect=True,
                         ids=["-".join(x) for x in MIXED])
def test_address_and_mark_services_on_one_vip(mixed):
    """-A -t VIP:80 and -A -f N for the VIP's port 443 (marked by the
    operator's mangle rule), IPv4 and IPv6: both served, the firewall-mark
    one persistent on DR; the VIP's port 8080 (unmarked) and 8081 (marked
    7, no service) dropped by the guard's prerouting chain, answered
    neither by the director's kernel (the watch) nor by lvsd (no RST or ICMP
    error on the wire from the director's MACs); lvsd still answers ping."""
    d, e = mixed, mixed.lab.env
    lab = d.lab
    persistent = lab.mode == "dr"
    opts = ("-p", "60") if persistent else ()
    ifs = e["DIR_IFS"].split()
    mine = {e["DIR_MAC_" + i] for i in ifs}
    cap = WireCapture(lab, ifs, duration=120)
    for six, vip, mark in ((False, e["VIP4"], 2), (True, e["VIP6"], 6)):
        d.service(vip, sched="rr")
        mark_rule(lab, vip, mark, ports="443", six=six)
        mark_rule(lab, vip, 7, ports="8081", six=six)
        fwm_service(d, mark, six=six, opts=opts)
        wait_rules(lab, [mark], six=six)
        wait_guard(lab, vip, True)
        c80, c443 = both_ports(d, vip, n=6)
        assert c80 == {"server1": 2, "server2": 2, "server3": 2}, (vip, c80, c443)
        if persistent:
            assert len(c443) == 1 and "error" not in c443, (vip, c443)
        else:
            assert c443 == {"server1": 2, "server2": 2, "server3": 2}, (vip, c443)
        st = d.stats()
        assert st["TCP %s" % addr_port(vip, 80)][0] == 6, st
        # the 443 connections are the firewall-mark service's
        ents = [x for x in d.conns() if x["proto"] == "TCP" and x["vip"] == addr_port(vip, 443)]
        assert len(ents) == 6, d.lvsadm("-L", "-n", "-c").stdout
        lst = d.lvsadm("-L", "-n", "--stats", "--exact").stdout
        m = re.search(r"^FWM  %d%s\s+(\d+)" % (mark, " IPv6" if six else ""), lst, re.M)
        assert m and int(m.group(1)) == 6, lst
        # the other ports: nobody answers, the prerouting chain counts them
        before = prerouting_drops(lab)
        for port in (8080, 8081):
            code, _ = lab.curl("client", vip, port=port, timeout=2)
            assert code == 0, (vip, port, code)
        assert prerouting_drops(lab) > before, (vip, before)
        ping = lab.run("client", "ping", "-n", "-6" if six else "-4", "-c", "1", "-W", "2",
                       vip, check=False)
        assert ping.returncode == 0, ping.stdout
    fr = cap.frames("eth.src", "ip.src", "ipv6.src", "tcp.srcport", dfilter=ERRORS)
    assert [f for f in fr if f["eth.src"] and f["eth.src"][0] in mine] == [], \
        cap.text(ERRORS)
    d.watch.assert_silent()


@pytest.mark.parametrize("mixed", [("nat_lab", "afpacket"), ("nat_lab", "afxdp")],
                         indirect=True, ids=["nat-afpacket", "nat-afxdp"])
def test_address_service_survives_mark_service_coming_and_going(mixed):
    """A slow download through -A -t VIP:80 while a firewall-mark service
    for the VIP's port 443 is added and deleted three times: the VIP's
    guard moves between whole and per port each time (its port 80 guarded
    throughout), the marked port works while the service exists, and the
    download completes intact."""
    d, e = mixed, mixed.lab.env
    lab, vip = d.lab, e["VIP4"]
    d.service(vip, sched="rr")
    mark_rule(lab, vip, 4, ports="443")
    wait_guard(lab, vip, False)
    held = HeldDownload(d, vip, rate=1e6, limit=40)
    d.wait_conn(lambda x: x["state"] == "ESTABLISHED" and x["vip"] == addr_port(vip, 80))
    for _ in range(3):
        fwm_service(d, 4)
        wait_rules(lab, [4])
        wait_guard(lab, vip, True)
        c = fresh_conns(lab, vip, 3, port=443)
        assert c["error"] == 0 and sum(c.values()) == 3, c
        d.lvsadm("-D", "-f", "4")
        wait_rules(lab, [])
        wait_guard(lab, vip, False)
        assert held.running(), "the download ended before the test was done"
    assert held.result() == (0, e["BIG_SHA256"])
    assert fresh_conns(lab, vip, 3)["error"] == 0
    d.watch.assert_silent()


@pytest.mark.parametrize("fwd", ["nat_lab"], indirect=True)
def test_guard_tables_after_sigkill(fwd):
    """A killed lvsd leaves its guard tables, the prerouting one as the
    netdev one (the VIP stays kept from the host); the next lvsd replaces
    both with its own, and a stop removes both."""
    d, e = fwd, fwd.lab.env
    lab, vip = d.lab, e["VIP4"]
    table = guard_table(lab)
    d.service(vip, sched="rr")
    mark_rule(lab, vip, 1, ports="443")
    fwm_service(d, 1)
    wait_guard(lab, vip, True)
    d.lvsd.proc.send_signal(signal.SIGKILL)
    d.lvsd.proc.wait(5)
    tables = lab.run("director", "nft", "list", "tables").stdout
    assert "table netdev %s" % table in tables and "table inet %s" % table in tables, tables
    assert vip in guard_set(lab, "inet", "vip4")
    lab.stop_lvsd()
    d.lvsd = lab.start_lvsd("--io", "afpacket")
    for fam, name in (("netdev", "vip4"), ("netdev", "pvip4"), ("inet", "vip4")):
        assert vip not in guard_set(lab, fam, name), (fam, name)
    lab.stop_lvsd()
    tables = lab.run("director", "nft", "list", "tables").stdout
    assert "lvsd_" not in tables, tables
    # restart for the fixture's teardown, which stops it again
    d.lvsd = lab.start_lvsd("--io", "afpacket")
