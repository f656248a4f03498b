"""Health checks in the NAT lab, lvsd started from a keepalived.conf as an
operator starts keepalived (`lvsd -n -f FILE`):

  - nginx stopped on one server: the server leaves the service within
    delay_loop x retry plus a margin, while a client keeps requesting,
    and no request fails after that; nginx started again: back in
    rotation;
  - a server that silently drops SYNs (an nftables drop inside its
    namespace): taken out by connect_timeout;
  - every real server down: the sorry server answers; one back: the
    sorry server leaves;
  - `lvsadm --checks` shows each check's state and reason;
  - SIGHUP reloads the file: only what it changed is applied (a server
    still failing stays out, lvsadm's changes stay, a broken file changes
    nothing), and a reload under wrk load fails no request.

Each test has its own lab (prefix lvc<pid>_<n>), removed at teardown.
"""
import os
import re
import subprocess
import time

import pytest

from .conftest import LVSD, Lvsd, own_lab

@pytest.fixture
def nat_lab():
    yield from own_lab("nat", "lvc")


def nginx_dir(lab, i):
    return os.path.join(lab.env["LAB_DIR"], "rs%d" % i)


def nginx_stop(lab, i):
    d = nginx_dir(lab, i)
    lab.run("rs%d" % i, "nginx", "-e", d + "/error.log", "-p", d, "-c", d + "/nginx.conf",
            "-s", "stop")
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if not lab.run("rs%d" % i, "ss", "-Hltn", "sport = :80").stdout.strip():
            return
        time.sleep(0.1)
    raise AssertionError("nginx on rs%d still listening" % i)


def nginx_start(lab, i):
    d = nginx_dir(lab, i)
    lab.run("rs%d" % i, "nginx", "-e", d + "/error.log", "-p", d, "-c", d + "/nginx.conf")
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if lab.run("rs%d" % i, "ss", "-Hltn", "sport = :80").stdout.strip():
            return
        time.sleep(0.1)
    raise AssertionError("nginx on rs%d did not start" % i)


def drop_syns(lab, i, on=True):
    """rsI drops SYNs to port 80 without a word (an nftables table of its
    own inside the server's namespace), or no longer."""
    ns = "rs%d" % i
    if not on:
        lab.run(ns, "nft", "delete table inet lvc_drop")
        return
    lab.run(ns, "nft", "add table inet lvc_drop")
    lab.run(ns, "nft", "add chain inet lvc_drop in { type filter hook input priority 0 ; }")
    lab.run(ns, "nft", "add rule inet lvc_drop in tcp dport 80 tcp flags syn drop")


def listed(lab):
    """The real servers -L -n lists, with their weights."""
    out = lab.lvsadm("-L", "-n").stdout
    return {ln.split()[1].rsplit(":", 1)[0]: int(ln.split()[3])
            for ln in out.splitlines() if ln.startswith("  -> ") and "RemoteAddress" not in ln}


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("not within %.0f s: %s" % (timeout, what))


def conf(vip, servers, sorry=None, extra=""):
    rs = "".join("""
    real_server %s 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
""" % rip for rip in servers)
    s = "    sorry_server %s 80\n" % sorry if sorry else ""
    return """global_defs {
    router_id LVS_CHECKS
}
virtual_server %s 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
%s%s%s}
""" % (vip, s, extra, rs)


# delay_loop 1 s, one retry 1 s later, connect_timeout 1 s: a failure is
# seen within about 3 s (4 s when the probe times out); 8 s is the margin.
DETECT = 8


def start(lab, tmp_path, text, extra=()):
    """lvsd -n -f TMP/keepalived.conf (with text), ready."""
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    d = Lvsd(lab, ["-n", "-f", str(path)] + list(extra))
    lab.lvsds.append(d)
    d.wait_ready()
    return d


def test_refused_server_leaves_and_returns(nat_lab, tmp_path):
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    rips = lab.rips4[:3]
    d = start(lab, tmp_path, conf(vip, rips))
    assert set(listed(lab)) == set(rips)
    seen = lab.count_servers("client", vip, n=30)
    assert set(seen) == set(lab.servers[:3]), seen

    nginx_stop(lab, 1)
    wait_for(lambda: rips[0] not in listed(lab), DETECT, "rs1 out of the service")
    # after detection no request fails, and none goes to rs1
    seen = lab.count_servers("client", vip, n=30)
    assert "error" not in seen and set(seen) == set(lab.servers[1:3]), seen
    chk = lab.lvsadm("--checks").stdout
    assert "TCP_CHECK %s:80" % rips[0] in chk, chk
    assert "Connection refused" in chk, chk
    assert "checks: %s:80 of %s:80: down: connect: Connection refused" % (rips[0], vip) \
        in d.output()

    nginx_start(lab, 1)
    wait_for(lambda: rips[0] in listed(lab), DETECT, "rs1 back in the service")
    seen = lab.count_servers("client", vip, n=30)
    assert "error" not in seen and set(seen) == set(lab.servers[:3]), seen
    assert lab.stop_lvsd() == [0], d.output()


def test_silent_server_times_out(nat_lab, tmp_path):
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    rips = lab.rips4[:2]
    start(lab, tmp_path, conf(vip, rips))
    assert set(listed(lab)) == set(rips)
    drop_syns(lab, 2)
    wait_for(lambda: rips[1] not in listed(lab), DETECT + 2, "rs2 out of the service")
    chk = lab.lvsadm("--checks").stdout
    assert "connect timeout" in chk, chk
    seen = lab.count_servers("client", vip, n=20)
    assert "error" not in seen and set(seen) == {lab.servers[0]}, seen
    drop_syns(lab, 2, False)
    wait_for(lambda: rips[1] in listed(lab), DETECT, "rs2 back in the service")


def test_sorry_server_when_all_down(nat_lab, tmp_path):
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    rips = lab.rips4[:2]
    sorry = lab.rips4[2]
    start(lab, tmp_path, conf(vip, rips, sorry=sorry))
    assert set(listed(lab)) == set(rips)
    nginx_stop(lab, 1)
    nginx_stop(lab, 2)
    wait_for(lambda: set(listed(lab)) == {sorry}, DETECT, "only the sorry server listed")
    seen = lab.count_servers("client", vip, n=10)
    assert set(seen) == {lab.servers[2]}, seen
    assert "quorum down" in lab.lvsadm("--checks").stdout
    nginx_start(lab, 2)
    wait_for(lambda: set(listed(lab)) == {rips[1]}, DETECT, "rs2 back, the sorry server out")
    seen = lab.count_servers("client", vip, n=10)
    assert set(seen) == {lab.servers[1]}, seen


def reload_conf(vip, servers, extra=""):
    """servers: [(rip, weight)]"""
    rs = "".join("""
    real_server %s 80 {
        weight %d
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
""" % (rip, w) for rip, w in servers)
    return """virtual_server %s 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
%s%s}
""" % (vip, extra, rs)


def sighup(d):
    os.kill(d.proc.pid, 1)


def test_reload_keeps_states_and_lvsadm_changes(nat_lab, tmp_path):
    """A reload applies what the file changed and nothing else: a server
    still failing stays out, a server lvsadm added stays, a weight the
    file changed is applied; a broken file changes nothing."""
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    r1, r2, r3 = lab.rips4[:3]
    d = start(lab, tmp_path, reload_conf(vip, [(r1, 1), (r2, 1)]))
    path = tmp_path / "keepalived.conf"
    lab.lvsadm("-a", "-t", vip + ":80", "-r", r3 + ":80", "-m", "-w", "2")
    nginx_stop(lab, 2)
    wait_for(lambda: r2 not in listed(lab), DETECT, "rs2 out")
    assert listed(lab) == {r1: 1, r3: 2}

    path.write_text(reload_conf(vip, [(r1, 3), (r2, 1)]))
    sighup(d)
    wait_for(lambda: listed(lab).get(r1) == 3, 5, "rs1's new weight")
    # rs2 is still failing: not re-added; rs3 (lvsadm's) kept
    time.sleep(1)
    assert listed(lab) == {r1: 3, r3: 2}, listed(lab)
    assert "reload: 1 virtual servers" in d.output()

    # a broken file: refused whole, with FILE:LINE, nothing changes
    path.write_text(reload_conf(vip, [(r1, 7)], extra="    lb_kind BOGUS\n"))
    sighup(d)
    wait_for(lambda: "the running configuration stays" in d.output(), 5, "refusal logged")
    assert "%s:6: unknown lb_kind 'BOGUS'" % path in d.output(), d.output()
    assert listed(lab) == {r1: 3, r3: 2}, listed(lab)

    # rs2 repaired: back with the file's weight
    nginx_start(lab, 2)
    wait_for(lambda: listed(lab) == {r1: 3, r2: 1, r3: 2}, DETECT, "rs2 back")


def test_reload_under_load_loses_nothing(nat_lab, tmp_path):
    """A reload that removes a server, adds one and changes a weight while
    wrk keeps 8 connections busy: no failed request (the removed server's
    connections drain)."""
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    r1, r2, r3 = lab.rips4[:3]
    d = start(lab, tmp_path, reload_conf(vip, [(r1, 1), (r2, 1)]))
    path = tmp_path / "keepalived.conf"
    wrk = lab.popen("client", "wrk", "-t1", "-c8", "-d6s", "--latency", "http://%s/" % vip,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2)
        path.write_text(reload_conf(vip, [(r2, 2), (r3, 1)]))
        sighup(d)
        wait_for(lambda: listed(lab) == {r2: 2, r3: 1}, 5, "the new servers")
        out, _ = wrk.communicate(timeout=30)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    m = re.search(r"(\d+) requests in", out)
    assert m and int(m.group(1)) > 100, out
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    seen = lab.count_servers("client", vip, n=30)
    assert "error" not in seen and set(seen) == set(lab.servers[1:3]), seen


def test_http_get_status(nat_lab, tmp_path):
    """HTTP_GET expecting 200: a server whose page answers 500 is down,
    the one answering 200 stays."""
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    r1, r2 = lab.rips4[:2]
    rs = "".join("""
    real_server %s 80 {
        HTTP_GET {
            url {
                path %s
                status_code 200
            }
            connect_timeout 2
            retry 0
        }
    }
""" % (rip, p) for rip, p in ((r1, "/health"), (r2, "/broken")))
    start(lab, tmp_path, """virtual_server %s 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
%s}
""" % (vip, rs))
    wait_for(lambda: set(listed(lab)) == {r1}, DETECT, "only rs1 listed")
    chk = lab.lvsadm("--checks").stdout
    assert "HTTP status 500 on /broken" in chk, chk
    seen = lab.count_servers("client", vip, n=10)
    assert set(seen) == {lab.servers[0]}, seen


def test_http_get_regex(nat_lab, tmp_path):
    """HTTP_GET with a regex on the page (each nginx serves its own name):
    the server whose page matches stays, one whose page does not match is
    down, and one whose page matches a regex_no_match is down too."""
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    r1, r2, r3 = lab.rips4[:3]
    want = lab.servers[0]
    rs = "".join("""
    real_server %s 80 {
        HTTP_GET {
            url {
                path /
                regex "^%s$"
                regex_options multiline
%s            }
            connect_timeout 2
            retry 0
        }
    }
""" % (rip, name, "                regex_no_match\n" if neg else "")
                 for rip, name, neg in ((r1, want, False), (r2, want, False),
                                        (r3, lab.servers[2], True)))
    start(lab, tmp_path, """virtual_server %s 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
%s}
""" % (vip, rs))
    wait_for(lambda: set(listed(lab)) == {r1}, DETECT, "only rs1 listed")
    chk = lab.lvsadm("--checks").stdout
    assert "regex did not match on /" in chk, chk
    assert "regex matched on /" in chk, chk
    seen = lab.count_servers("client", vip, n=10)
    assert set(seen) == {want}, seen


def test_passive_detection(nat_lab, tmp_path):
    """--passive 3: a server that drops SYNs is taken out by the traffic
    itself (its checks run only every minute), and tried again after the
    back-off once it answers again."""
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    r1, r2 = lab.rips4[:2]
    d = start(lab, tmp_path, conf(vip, [r1, r2]).replace("delay_loop 1", "delay_loop 60"),
              extra=["--passive", "3"])
    drop_syns(lab, 2)
    # requests: those sent to rs2 hang and fail (the client retries its SYN)
    end = time.monotonic() + 30
    while r2 in listed(lab) and time.monotonic() < end:
        lab.count_servers("client", vip, n=2, timeout=2)
        time.sleep(0.5)
    assert r2 not in listed(lab), d.output()
    assert "passive: %s:80 of %s:80 out: 3 handshakes failed in a row" % (r2, vip) \
        in d.output(), d.output()
    chk = lab.lvsadm("--checks").stdout
    assert "Passive detection: out after 3 failed handshakes in a row" in chk, chk
    seen = lab.count_servers("client", vip, n=10)
    assert "error" not in seen and set(seen) == {lab.servers[0]}, seen
    drop_syns(lab, 2, False)
    wait_for(lambda: r2 in listed(lab), 10, "rs2 back after the back-off")
    assert "back on probation" in d.output()
    seen = lab.count_servers("client", vip, n=10)
    assert "error" not in seen and set(seen) == set(lab.servers[:2]), seen
