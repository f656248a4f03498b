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
  - `lvsadm --checks` shows each check's state and reason.

Each test has its own lab (prefix lvc<pid>_<n>), removed at teardown.
"""
import itertools
import os
import time

import pytest

from .conftest import LVSD, Lab, Lvsd, _need_root

_n = itertools.count(1)


@pytest.fixture
def nat_lab():
    _need_root()
    if not LVSD.exists():
        pytest.skip("no lvsd binary at %s" % LVSD)
    lab = Lab("nat", "lvc%d_%d" % (os.getpid(), next(_n)))
    try:
        yield lab
    finally:
        lab.down()


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


def start(lab, tmp_path, text):
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    d = Lvsd(lab, ["-n", "-f", str(path)])
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
    # rs2 drops SYNs to port 80 without a word
    lab.run("rs2", "nft", "add table inet lvc_drop")
    lab.run("rs2", "nft", "add chain inet lvc_drop in { type filter hook input priority 0 ; }")
    lab.run("rs2", "nft", "add rule inet lvc_drop in tcp dport 80 tcp flags syn drop")
    wait_for(lambda: rips[1] not in listed(lab), DETECT + 2, "rs2 out of the service")
    chk = lab.lvsadm("--checks").stdout
    assert "connect timeout" in chk, chk
    seen = lab.count_servers("client", vip, n=20)
    assert "error" not in seen and set(seen) == {lab.servers[0]}, seen
    lab.run("rs2", "nft", "delete table inet lvc_drop")
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
