"""lvsadm against a running lvsd in the lab's director namespace (NAT lab):
the ipvsadm command language end to end -- add / edit / delete of services
and servers with the exact -L -n listing after each step, -S / -C / -R
round trip (-R line by line as ipvsadm, and -R --atomic all or nothing),
-S with names, firewall-mark servers' ports, ipvsadm's error texts and exit codes
with the configuration left untouched, the connection listing (-c) and
counters (--stats, -Z) during a live download, --rate after the 2-second
estimator has run under a wrk load, --timeout / --set, "cannot connect"
where no lvsd runs, and `ip netns exec NS lvsadm` reaching only that
namespace's lvsd.  The control plane does not depend on the packet I/O
driver: these tests use the default one.
"""
import socket
import subprocess
import time

import pytest

from .conftest import (LVSADM, Director, HeldDownload, addr_port, fresh_conns, parse_conns,
                       parse_stats, split_addr)

pytestmark = pytest.mark.parametrize("module_lab", ["nat"], indirect=True)

NO_DAEMON = "cannot connect to lvsd (is it running in this network namespace?)"
HEAD = ("Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")


@pytest.fixture
def daemon(module_lab):
    d = Director(module_lab)
    try:
        yield d
    finally:
        d.close()


def dest_line(rip_port, fwd="Masq", weight=1, active=0, inact=0):
    """One real-server line of `ipvsadm -L -n`, padding included."""
    return "  -> %-28s %-7s %-6d %-10d %-10d\n" % (rip_port, fwd, weight, active, inact)


def listing(d):
    """-L -n without its first line (the table size is lvsd's choice)."""
    out = d.lvsadm("-L", "-n").stdout
    first, _, rest = out.partition("\n")
    assert first.startswith("IP Virtual Server version 1.2.1 (size="), first
    return rest


def test_add_edit_delete_round_trip(daemon):
    d, e = daemon, daemon.lab.env
    vip = addr_port(e["VIP4"], 80)
    r1, r2 = addr_port(d.lab.rips4[0], 80), addr_port(d.lab.rips4[1], 80)
    assert listing(d) == HEAD
    d.lvsadm("-A", "-t", vip, "-s", "wrr")
    d.lvsadm("-a", "-t", vip, "-r", r1, "-m", "-w", "3")
    d.lvsadm("-a", "-t", vip, "-r", r2, "-m", "-w", "2")
    assert listing(d) == (HEAD + "TCP  %s wrr\n" % vip + dest_line(r1, weight=3)
                          + dest_line(r2, weight=2))
    d.lvsadm("-e", "-t", vip, "-r", r2, "-m", "-w", "5")
    d.lvsadm("-E", "-t", vip, "-s", "rr", "-p", "120")
    assert listing(d) == (HEAD + "TCP  %s rr persistent 120\n" % vip
                          + dest_line(r1, weight=3) + dest_line(r2, weight=5))
    # --nosort: the tables' order, newest real server first
    out = d.lvsadm("-L", "-n", "--nosort").stdout
    assert out.index(r2) < out.index(r1)
    d.lvsadm("-d", "-t", vip, "-r", r2)
    assert listing(d) == (HEAD + "TCP  %s rr persistent 120\n" % vip
                          + dest_line(r1, weight=3))
    d.lvsadm("-D", "-t", vip)
    assert listing(d) == HEAD
    # -C clears everything
    d.lvsadm("-A", "-t", vip)
    d.lvsadm("-A", "-u", addr_port(e["VIP4"], 53), "-s", "rr")
    d.lvsadm("-A", "-t", addr_port(e["VIP6"], 80), "-s", "sh")
    assert listing(d).count("\n") == 5
    d.lvsadm("-C")
    assert listing(d) == HEAD


RULES = """\
-A -t {v4}:80 -s wrr -p 120 -M 255.255.255.0
-a -t {v4}:80 -r {r1}:80 -m -w 3
-a -t {v4}:80 -r {r2}:8080 -m -w 1
-A -u {v4}:53 -s rr -o
-a -u {v4}:53 -r {r3}:53 -m -w 1
-A -t [{v6}]:443 -s sh -b sh-fallback,sh-port
-a -t [{v6}]:443 -r [{r61}]:443 -m -w 7
-A -f 5 -s lc
-a -f 5 -r {r1}:0 -g -w 1
"""


def test_save_clear_restore(daemon):
    d, e = daemon, daemon.lab.env
    rules = RULES.format(v4=e["VIP4"], v6=e["VIP6"], r1=d.lab.rips4[0], r2=d.lab.rips4[1],
                         r3=d.lab.rips4[2], r61=d.lab.rips6[0])
    for line in rules.splitlines():
        d.lvsadm(*line.split())
    saved = d.lvsadm("-S", "-n").stdout
    # ipvsadm's order: by protocol (TCP, UDP, FWM), then address
    assert saved == rules, saved
    before = listing(d)
    assert "TCP  %s:80 wrr persistent 120 mask 255.255.255.0\n" % e["VIP4"] in before
    assert "UDP  %s:53 rr ops\n" % e["VIP4"] in before
    assert "TCP  [%s]:443 sh (sh-fallback,sh-port)\n" % e["VIP6"] in before
    assert "FWM  5 lc\n" in before
    d.lvsadm("-C")
    assert listing(d) == HEAD
    d.lvsadm("-R", input=saved)
    assert d.lvsadm("-S", "-n").stdout == saved
    assert listing(d) == before
    # -R --atomic is all or nothing: line 3 fails, lines 1-2 are not applied
    bad = ("-A -t 10.9.9.9:80\n-a -t 10.9.9.9:80 -r %s:80 -m\n-A -t %s:80 -s rr\n"
           % (d.lab.rips4[0], e["VIP4"]))
    r = d.lvsadm("-R", "--atomic", input=bad, check=False)
    assert r.returncode == 255 and r.stderr == "stdin:3: Service already exists\n", r
    assert d.lvsadm("-S", "-n").stdout == saved
    # plain -R goes line by line as ipvsadm: lines 1-2 stay, line 3's
    # message is ipvsadm's, the exit code the last line's
    r = d.lvsadm("-R", input=bad, check=False)
    assert r.returncode == 255 and r.stderr == "Service already exists\n", r
    assert "-A -t 10.9.9.9:80 -s wlc\n" in d.lvsadm("-S", "-n").stdout
    r = d.lvsadm("-R", input=bad + "-D -t 10.9.9.9:80\n", check=False)
    assert r.returncode == 0 and r.stderr == ("Service already exists\n"
                                              "Destination already exists\n"
                                              "Service already exists\n"), r
    assert d.lvsadm("-S", "-n").stdout == saved
    # a comment line ends it as ipvsadm's "Try" hint; a bad value with
    # exit 2 (and a blank line after "-6 used before -f", as ipvsadm)
    r = d.lvsadm("-R", input="# rules\n-A -t 10.9.9.9:80\n", check=False)
    assert r.returncode == 255, r
    assert r.stderr == ("Try `%s -h' or '%s --help' for more information.\n"
                        % (LVSADM, LVSADM)), r
    r = d.lvsadm("-R", input="-A -6 -f 9\n-A -t 10.9.9.9:80\n", check=False)
    assert (r.returncode, r.stderr) == (2, "-6 used before -f\n\n"), r
    assert d.lvsadm("-S", "-n").stdout == saved


def host_name(addr):
    """What ipvsadm prints for addr without -n: its name, else the number."""
    try:
        return socket.getnameinfo((addr, 0), socket.NI_NAMEREQD)[0]
    except OSError:
        return addr


def test_save_names_and_fwmark_ports(daemon):
    """-S without -n prints names as ipvsadm does (lvsadm resolves them);
    a firewall-mark service's servers keep the port given, also with -i."""
    d, e = daemon, daemon.lab.env
    vip, rip = e["VIP4"], d.lab.rips4[0]
    d.lvsadm("-A", "-t", addr_port(vip, 80), "-s", "wlc")
    d.lvsadm("-a", "-t", addr_port(vip, 80), "-r", "127.0.0.1:8080", "-m", "-w", "1")
    d.lvsadm("-A", "-f", "1", "-s", "rr")
    d.lvsadm("-a", "-f", "1", "-r", addr_port(rip, 443), "-i")
    d.lvsadm("-a", "-f", "1", "-r", rip, "-g")
    vname = "%s:http" % host_name(vip)
    rname = host_name(rip)
    assert d.lvsadm("-S").stdout == (
        "-A -t %s -s wlc\n" % vname
        + "-a -t %s -r %s:http-alt -m -w 1\n" % (vname, host_name("127.0.0.1"))
        + "-A -f 1 -s rr\n"
        + "-a -f 1 -r %s:0 -g -w 1\n" % rname
        + "-a -f 1 -r %s:443 -i -w 1 --tun-type ipip\n" % rname)
    out = listing(d)
    assert "FWM  1 rr\n" + dest_line("%s:0" % rip, "Route") + dest_line(
        "%s:443" % rip, "Tunnel") in out, out
    # -e and -d name it by that port
    d.lvsadm("-e", "-f", "1", "-r", addr_port(rip, 443), "-i", "-w", "4")
    assert dest_line("%s:443" % rip, "Tunnel", weight=4) in listing(d)
    d.lvsadm("-d", "-f", "1", "-r", addr_port(rip, 443))
    assert "%s:443" % rip not in listing(d)


def test_errors_and_exit_codes(daemon):
    """ipvsadm's messages and exit codes (2: bad command line, 255: lvsd
    refused, 1: -L of a missing service), and nothing changes."""
    d, e = daemon, daemon.lab.env
    vip = addr_port(e["VIP4"], 80)
    rip = addr_port(d.lab.rips4[0], 80)
    d.lvsadm("-A", "-t", vip, "-s", "rr")
    d.lvsadm("-a", "-t", vip, "-r", rip, "-m")
    saved = d.lvsadm("-S", "-n").stdout
    cases = [
        (["-A", "-t", vip], 255, "Service already exists"),
        (["-D", "-t", addr_port(e["VIP4"], 81)], 255, "No such service"),
        (["-a", "-t", addr_port(e["VIP4"], 81), "-r", rip, "-m"], 255, "Service not defined"),
        (["-a", "-t", vip, "-r", rip, "-m"], 255, "Destination already exists"),
        (["-e", "-t", vip, "-r", addr_port("192.0.2.99", 80), "-m"], 255, "No such destination"),
        (["-d", "-t", vip, "-r", addr_port("192.0.2.99", 80)], 255, "No such destination"),
        (["-A", "-t", addr_port(e["VIP4"], 82), "-s", "nosuch"], 255,
         "Scheduler or persistence engine not found"),
        (["-a", "-t", vip, "-r", "192.0.2.50:80", "-w", "abc"], 2, "illegal weight specified"),
        (["-a", "-t", vip, "-r", "192.0.2.50:80", "-w", "-1"], 2, "illegal weight specified"),
        (["-A", "-t", e["VIP4"]], 2, "Zero port specified for non-persistent service"),
        (["-L", "-n", "-t", addr_port(e["VIP4"], 99)], 1, "No such service"),
        (["--bogus-option"], 255, ""),
    ]
    for args, code, msg in cases:
        r = d.lvsadm(*args, check=False)
        assert r.returncode == code, (args, r.returncode, r.stderr)
        assert msg in r.stderr, (args, r.stderr)
    assert d.lvsadm("-S", "-n").stdout == saved


def test_connections_and_stats_during_a_download(daemon):
    d, e = daemon, daemon.lab.env
    key = d.service(e["VIP4"], sched="rr")
    held = HeldDownload(d, e["VIP4"])
    ent = d.wait_conn(lambda x: x["state"] == "ESTABLISHED")
    assert ent["proto"] == "TCP"
    assert split_addr(ent["src"])[0] == e["CLIENT_IP4"]
    assert ent["vip"] == addr_port(e["VIP4"], 80)
    assert ent["dst"] in [addr_port(r, 80) for r in d.lab.rips4]
    # 900 s established timeout, refreshed by every packet
    assert 880 <= ent["expire"] <= 900, ent
    s1 = d.stats()
    time.sleep(0.5)
    s2 = d.stats()
    assert s1[key][0] == s2[key][0] == 1
    assert s2[key][1] > s1[key][1] and s2[key][4] > s1[key][4], (s1[key], s2[key])
    assert held.running()
    assert held.result() == (0, e["BIG_SHA256"])
    st = d.stats()
    assert st[key][4] > int(e["BIG_SIZE"]) and st[key][3] > 0
    assert st["%s -> %s" % (key, ent["dst"])] == st[key]
    ent2 = d.wait_conn(lambda x: x["src"] == ent["src"] and x["state"] != "ESTABLISHED")
    assert ent2["state"] in ("TIME_WAIT", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "CLOSE"), ent2
    # -Z zeroes the counters; the connection table stays
    d.lvsadm("-Z")
    assert all(v == [0, 0, 0, 0, 0] for v in d.stats().values())
    assert d.conns()


def test_rate_after_two_seconds(daemon):
    """--rate: zero until the estimator has run, then the rates of the wrk
    load (a new connection per request) show on the service and servers."""
    d, e = daemon, daemon.lab.env
    key = d.service(e["VIP4"], sched="rr")
    assert parse_stats(d.lvsadm("-L", "-n", "--rate", "--exact").stdout)[key] == [0] * 5
    wrk = d.spawn("client", "wrk", "-t1", "-c2", "-d5s", "-H", "Connection: close",
                  "http://%s/" % e["VIP4"], stdout=subprocess.PIPE, text=True)
    start = time.monotonic()
    rate = [0] * 5
    while time.monotonic() - start < 4.5:
        time.sleep(0.5)
        rate = parse_stats(d.lvsadm("-L", "-n", "--rate", "--exact").stdout)[key]
        if all(rate):
            break
    assert all(rate), rate
    cps, inpps, outpps, inbps, outbps = rate
    assert inpps >= cps and outpps >= cps and outbps > inbps / 2, rate
    out, _ = wrk.communicate(timeout=20)
    assert "requests in" in out and "Socket errors" not in out, out
    rates = parse_stats(d.lvsadm("-L", "-n", "--rate", "--exact").stdout)
    for rip in d.lab.rips4:
        assert rates["%s -> %s:80" % (key, rip)][1] > 0, rates
    d.watch.assert_silent()


def test_timeouts(daemon):
    d, e = daemon, daemon.lab.env
    r = d.lvsadm("-L", "-n", "--timeout")
    assert r.stdout == "Timeout (tcp tcpfin udp): 900 120 300\n"
    d.lvsadm("--set", "1000", "100", "200")
    assert d.lvsadm("-L", "-n", "--timeout").stdout == "Timeout (tcp tcpfin udp): 1000 100 200\n"
    d.lvsadm("--set", "0", "0", "0")      # 0 keeps the current value
    assert d.lvsadm("-L", "-n", "--timeout").stdout == "Timeout (tcp tcpfin udp): 1000 100 200\n"
    d.lvsadm("--set", "0", "0", "250")
    assert d.lvsadm("-L", "-n", "--timeout").stdout == "Timeout (tcp tcpfin udp): 1000 100 250\n"
    # the new established timeout governs a live connection
    d.service(e["VIP4"], sched="rr")
    held = HeldDownload(d, e["VIP4"])
    ent = d.wait_conn(lambda x: x["state"] == "ESTABLISHED")
    assert 980 <= ent["expire"] <= 1000, ent
    assert held.result() == (0, e["BIG_SHA256"])
    r = d.lvsadm("--set", "1", "2", check=False)
    assert r.returncode == 2, r


def test_cannot_connect_without_daemon(module_lab):
    lab = module_lab
    assert not lab.lvsds
    for args in (["-L", "-n"], ["-A", "-t", "203.0.113.10:80"], ["-C"]):
        r = lab.lvsadm(*args, check=False)
        assert r.returncode == 255, (args, r)
        assert NO_DAEMON in r.stderr, r.stderr
    # -v, -h and bad command lines are answered without lvsd
    r = lab.lvsadm("-v", check=False)
    assert r.returncode == 0 and "ipvsadm v1.31" in r.stdout, r
    assert lab.lvsadm("-h", check=False).returncode == 0
    r = lab.lvsadm("-A", "-t", "203.0.113.10:80", "-s", "wrr", "-w", "x", check=False)
    assert r.returncode == 2 and NO_DAEMON not in r.stderr, r


def test_each_namespace_its_own_lvsd(module_lab, lab_factory):
    """Two labs, two lvsds: `ip netns exec NS lvsadm` configures and lists
    only the lvsd of NS; a namespace without lvsd gets "cannot connect"."""
    a = Director(module_lab)
    try:
        other = lab_factory("nat", nginx=False)
        b = Director(other)
        try:
            a.lvsadm("-A", "-t", "203.0.113.10:80", "-s", "rr")
            b.lvsadm("-A", "-u", "203.0.113.10:53", "-s", "wrr")
            la, lb = listing(a), listing(b)
            assert la == HEAD + "TCP  203.0.113.10:80 rr\n", la
            assert lb == HEAD + "UDP  203.0.113.10:53 wrr\n", lb
            b.lvsadm("-C")
            assert listing(b) == HEAD and listing(a) == la
            r = module_lab.run("client", LVSADM, "-L", "-n", check=False)
            assert r.returncode == 255 and NO_DAEMON in r.stderr, r
        finally:
            b.close()
    finally:
        a.close()
    # after lvsd stopped, its namespace has no daemon again
    r = module_lab.lvsadm("-L", "-n", check=False)
    assert r.returncode == 255 and NO_DAEMON in r.stderr


def test_listing_shows_live_connections_of_each_server(daemon):
    """-L -n counts InActConn per server after closed connections, and -c
    lists each with its server."""
    d, e = daemon, daemon.lab.env
    key = d.service(e["VIP4"], sched="rr")
    c = fresh_conns(d.lab, e["VIP4"], 9)
    assert c == {"server1": 3, "server2": 3, "server3": 3}
    dests = d.listing()[key]["dests"]
    assert {k: (v[2], v[3]) for k, v in dests.items()} == {
        addr_port(r, 80): (0, 3) for r in d.lab.rips4}, dests
    ents = parse_conns(d.lvsadm("-L", "-n", "-c").stdout)
    assert len(ents) == 9
    assert {x["dst"] for x in ents} == {addr_port(r, 80) for r in d.lab.rips4}
    assert all(x["state"] in ("TIME_WAIT", "CLOSE", "FIN_WAIT") for x in ents), ents


def test_ipvsadm_save_and_restore_names(daemon, tmp_path):
    """Under the names of ipvsadm's scripts lvsadm does what they do:
    ipvsadm-save takes only -n; ipvsadm-restore drops '#' lines, clears
    the table and restores the rest."""
    d, e = daemon, daemon.lab.env
    for name in ("ipvsadm-save", "ipvsadm-restore"):
        (tmp_path / name).symlink_to(LVSADM)
    d.lvsadm("-A", "-t", addr_port(e["VIP4"], 81))
    rules = ("# saved by ipvsadm-save\n-A -t 10.9.9.9:80 -s rr\n"
             "-a -t 10.9.9.9:80 -r %s:80 -m -w 2\n" % d.lab.rips4[0])
    r = d.lab.run("director", tmp_path / "ipvsadm-restore", input=rules, check=False)
    assert (r.returncode, r.stderr) == (0, ""), r
    r = d.lab.run("director", tmp_path / "ipvsadm-save", "-n", check=False)
    assert r.returncode == 0 and r.stdout == "".join(
        l + "\n" for l in rules.splitlines()[1:]), r
    r = d.lab.run("director", tmp_path / "ipvsadm-save", "-x", check=False)
    assert r.returncode == 1 and r.stdout == "" and r.stderr == (
        "ipvsadm-save: Script to save the IPVS table to stdout.\n"
        "   With the -n option, prints out the table in numeric format.\n"), r
