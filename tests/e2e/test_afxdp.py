"""What only the AF_XDP driver has (NAT lab): its XDP program hands lvsd
director traffic and nothing else -- the director's own connections to a
NAT real server's port, which look like NAT replies but are addressed to
the host, stay the host's -- it goes away with lvsd even when lvsd is
killed, so a restarted lvsd attaches again, and lvsd refuses an interface
that already carries another XDP program, leaving nothing behind.  The
rest of the end-to-end tests run with both drivers."""
import json
import signal
import subprocess
import time

import pytest

from .conftest import LVSD, addr_port, fresh_conns, lvsd_io_drivers

pytestmark = pytest.mark.parametrize("module_lab", ["nat"], indirect=True)

XDP_PASS_PROG = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int other_prog(struct xdp_md *ctx) { (void)ctx; return XDP_PASS; }
char _license[] SEC("license") = "GPL";
"""


@pytest.fixture
def xdp_lab(module_lab):
    if not LVSD.exists() or "afxdp" not in lvsd_io_drivers():
        pytest.skip("lvsd has no --io afxdp")
    yield module_lab
    module_lab.stop_lvsd()


def xdp_progs(lab):
    """interface -> id of the XDP program attached to it (director)."""
    links = json.loads(lab.run("director", "ip", "-j", "-d", "link", "show").stdout)
    return {l["ifname"]: l["xdp"]["prog"]["id"] for l in links
            if l.get("xdp", {}).get("prog")}


def nat_service(lab):
    e = lab.env
    vip = addr_port(e["VIP4"], 80)
    lab.lvsadm("-A", "-t", vip, "-s", "rr")
    for r in lab.rips4:
        lab.lvsadm("-a", "-t", vip, "-r", addr_port(r, 80), "-m")


def test_host_traffic_is_not_taken(xdp_lab):
    """The director's own HTTP request to a NAT real server gets its answer
    (from RIP:80, like a NAT reply, but to a host address: the program
    passes it to the host), while clients are served through the VIP."""
    lab, e = xdp_lab, xdp_lab.env
    lab.start_lvsd("--io", "afxdp")
    nat_service(lab)
    assert set(xdp_progs(lab)) == set(e["DIR_IFS"].split())
    for rip in lab.rips4:
        r = lab.run("director", "curl", "-s", "-m", "3", "http://%s/" % rip, check=False)
        assert r.returncode == 0 and r.stdout.startswith("server"), (rip, r)
    assert fresh_conns(lab, e["VIP4"], 6) == {"server1": 2, "server2": 2, "server3": 2}
    st = lab.lvsadm("--status").stdout
    assert "XDP program:" in st and " 0 without a socket" in st, st


def test_program_goes_with_lvsd_even_when_killed(xdp_lab):
    lab, e = xdp_lab, xdp_lab.env
    d = lab.start_lvsd("--io", "afxdp")
    assert set(xdp_progs(lab)) == set(e["DIR_IFS"].split())
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(5)
    assert xdp_progs(lab) == {}, "the XDP program outlived lvsd"
    lab.stop_lvsd()
    # a new lvsd attaches again and serves
    lab.start_lvsd("--io", "afxdp")
    nat_service(lab)
    assert fresh_conns(lab, e["VIP4"], 3) == {"server1": 1, "server2": 1, "server3": 1}
    lab.stop_lvsd()
    assert xdp_progs(lab) == {}


def test_other_xdp_program_refused(xdp_lab, tmp_path):
    lab, e = xdp_lab, xdp_lab.env
    src = tmp_path / "other.c"
    obj = tmp_path / "other.o"
    src.write_text(XDP_PASS_PROG)
    arch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                          text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-target", "bpf", "-I/usr/include/" + arch, "-c",
                    str(src), "-o", str(obj)], check=True, timeout=60)
    second = e["DIR_IFS"].split()[1]
    lab.run("director", "ip", "link", "set", "dev", second, "xdp", "obj", obj, "sec", "xdp")
    try:
        other = xdp_progs(lab)[second]
        d = lab.start_lvsd("--io", "afxdp", ready=False)
        rc = d.proc.wait(10)
        out = d.output()
        assert rc == 1, out
        assert "cannot attach the XDP program to %s" % second in out, out
        assert "another XDP program is attached" in out, out
        # nothing of lvsd's is left: the other program untouched, no program
        # on the first interface, no guard tables
        assert xdp_progs(lab) == {second: other}
        tables = lab.run("director", "nft", "list", "tables").stdout
        assert "lvsd_" not in tables, tables
    finally:
        lab.run("director", "ip", "link", "set", "dev", second, "xdp", "off", check=False)
    lab.stop_lvsd()
    time.sleep(0.1)
