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
Labs serve HTTP on 80 and 443 (lab.sh --port2 443, plain HTTP).
"""
import collections
import shutil
import time

import pytest

from .conftest import Director, KernelWatch, addr_port, fresh_conns, own_lab

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
    lab = request.getfixturevalue(request.param)
    d = Director(lab, "afpacket")
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
    wait_rules(d.lab, [1])
    d.lab.stop_lvsd()
    assert lvsd_rules(d.lab) is None
    r = d.lab.run("director", "iptables", "-w", "-t", "mangle", "-S", "PREROUTING")
    assert CHAIN not in r.stdout and "MARK" in r.stdout, r.stdout
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
