"""lvsd started from a keepalived.conf in the NAT lab, as keepalived is
started: `lvsd -t -f FILE` checks it, `lvsd -n -f FILE` (no -i) installs it
before forwarding and serves the interfaces its addresses are routed
through; `lvsadm -L -n` shows what ipvsadm would show after keepalived
installed the file, and curl through the VIP reaches the real servers'
nginx.  A file with an error is refused with its FILE:LINE.

The lab has its own namespace prefix (lvk<pid>_<n>) and goes down at
teardown, pass or fail.
"""
import re
import time
import os

import pytest

from .conftest import LVSD, Lvsd, own_lab

@pytest.fixture
def nat_lab():
    yield from own_lab("nat", "lvk")


def keepalived_conf(vip, rips, ifname):
    servers = "".join("""
    real_server %s 80 {
        weight %d
        TCP_CHECK {
            connect_timeout 3
        }
    }
""" % (rip, w) for rip, w in zip(rips, (3, 2, 1)))
    return """! lvsd e2e: the NAT lab as keepalived would run it
global_defs {
    router_id LVS_E2E
    lvs_timeouts tcp 900 tcpfin 120 udp 300
}

vrrp_instance VI_1 {
    state MASTER
    interface %s
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        %s
    }
}

virtual_server %s 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind NAT
    protocol TCP
%s}
""" % (ifname, vip, vip, servers)


def ipvsadm_listing(vip, rips):
    lines = ["IP Virtual Server version 1.2.1 (size=1048576)",
             "Prot LocalAddress:Port Scheduler Flags",
             "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
             "TCP  %s:80 wrr" % vip]
    for rip, w in sorted(zip(rips, (3, 2, 1)),
                         key=lambda x: tuple(int(p) for p in x[0].split("."))):
        lines.append("  -> %-28s %-7s %-6d %-10d %-10d" % ("%s:80" % rip, "Masq", w, 0, 0))
    return "\n".join(lines) + "\n"


def test_keepalived_conf_nat(nat_lab, tmp_path):
    lab, e = nat_lab, nat_lab.env
    vip, rips = e["VIP4"], lab.rips4[:3]
    conf = tmp_path / "keepalived.conf"
    conf.write_text(keepalived_conf(vip, rips, e["DIR_IFS"].split()[0]))

    # -t: clean
    r = lab.run("director", LVSD, "-t", "-f", str(conf), check=False)
    assert r.returncode == 0, r.stderr
    assert "vrrp_instance" not in r.stderr, r.stderr

    d = Lvsd(lab, ["-n", "-D", "-f", str(conf)])
    lab.lvsds.append(d)
    d.wait_ready()
    out = lab.lvsadm("-L", "-n").stdout
    assert out == ipvsadm_listing(vip, rips), out
    assert "configuration installed: 1 virtual server" in d.output()
    t = lab.lvsadm("-L", "--timeout").stdout
    assert "(tcp tcpfin udp): 900 120 300" in t, t

    # the VIP is VRRP's: alone on the segment, the instance ("state
    # MASTER") takes over after one advert interval and holds it
    deadline = time.monotonic() + 10
    while True:
        v = lab.lvsadm("--vrrp").stdout
        if " MASTER " in v or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert re.search(r"^VI_1 +%s +51 +2 MASTER +100 " % re.escape(e["DIR_IFS"].split()[0]), v,
                     re.M), v
    assert "(%s) Entering MASTER STATE" % "VI_1" in d.output()

    seen = lab.count_servers("client", vip, n=60)
    assert "error" not in seen, seen
    assert set(seen) == set(lab.servers[:3]), seen
    assert lab.stop_lvsd() == [0], d.output()


def test_keepalived_conf_with_errors_is_refused(nat_lab, tmp_path):
    lab = nat_lab
    conf = tmp_path / "bad.conf"
    conf.write_text("virtual_server %s 80 {\n    protocol TCP\n    lb_kind FOO\n"
                    "    real_server %s 80 {\n        weight -5\n    }\n}\n"
                    % (lab.env["VIP4"], lab.rips4[0]))
    r = lab.run("director", LVSD, "-t", "-f", str(conf), check=False)
    assert r.returncode == 5, r.stderr
    assert "%s:3: unknown lb_kind 'FOO' (NAT, DR or TUN)" % conf in r.stderr
    assert "%s:5: Real server weight -5 is outside range 0-2147483647" % conf in r.stderr
    r = lab.run("director", LVSD, "-n", "-f", str(conf), check=False, timeout=10)
    assert r.returncode == 1
    assert "%s:3: unknown lb_kind" % conf in r.stderr
    # nothing left behind: the namespace has no lvsd
    assert lab.run("director", str(LVSD.parent / "lvsadm"), "-L", "-n",
                   check=False).returncode != 0
