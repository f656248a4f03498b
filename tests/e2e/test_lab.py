"""The lab itself, without lvsd: each topology (nat, dr, tun) comes up with
the addressing, routes and sysctls lvsd will rely on, every real server
answers on its RIP (IPv4 and IPv6) and serves the 10 MB file intact, the DR
servers hold the VIP without answering ARP/ND for it, the TUN real-server
helper decapsulates IPIP / GRE / GUE (IPv4 and IPv6, mixed families) so a
hand-built SYN to the VIP is answered through the router, and `down` leaves
no namespace, process or file behind (also after a failed `up`).
"""
import json
import os
import select
import subprocess
from pathlib import Path

import pytest

from .conftest import LAB_SH, PY, Lab, parse_env

MODES = ["nat", "dr", "tun"]


def checker_role(lab):
    # Where the RIPs are reachable without lvsd: the director in NAT (it is
    # the servers' gateway) and TUN (routed through the router), the router
    # in DR (the servers' gateway).
    return "router" if lab.mode == "dr" else "director"


def netns_exists(name):
    return os.path.exists("/run/netns/" + name)


def pid_alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


# ---------------------------------------------------------------- all modes --

@pytest.mark.parametrize("module_lab", MODES, indirect=True)
def test_servers_answer_on_rips(module_lab):
    lab = module_lab
    role = checker_role(lab)
    for i, name in enumerate(lab.servers):
        for rip in (lab.rips4[i], lab.rips6[i]):
            assert lab.curl(role, rip) == (200, name + "\n"), rip


@pytest.mark.parametrize("module_lab", MODES, indirect=True)
def test_big_file(module_lab):
    lab = module_lab
    want = lab.env["BIG_SHA256"]
    assert len(want) == 64 and int(lab.env["BIG_SIZE"]) == 10 * 1024 * 1024
    role = checker_role(lab)
    assert lab.sha256(role, lab.rips4[0]) == want
    assert lab.sha256(role, lab.rips6[2]) == want
    # The content is fixed across labs: the same digest every run.
    assert want == "769d7b850cf0bb56278891483500166fd2b1494725ef2b7543a4e78fd0e65dfc"


@pytest.mark.parametrize("module_lab", MODES, indirect=True)
def test_director_forwards_nothing_and_holds_no_vip(module_lab):
    lab = module_lab
    assert lab.sysctl("director", "net.ipv4.ip_forward") == "0"
    assert lab.sysctl("director", "net.ipv6.conf.all.forwarding") == "0"
    addrs = lab.run("director", "ip", "-o", "addr").stdout
    assert lab.env["VIP4"] not in addrs and lab.env["VIP6"] not in addrs
    for ifname in lab.env["DIR_IFS"].split():
        assert lab.env["DIR_MAC_" + ifname].count(":") == 5
        lab.run("director", "ip", "link", "show", "dev", ifname)
    # Without lvsd the VIP does not answer.
    assert lab.curl("client", lab.env["VIP4"], timeout=1)[0] == 0


@pytest.mark.parametrize("module_lab", MODES, indirect=True)
def test_routes_to_the_vip(module_lab):
    lab = module_lab
    e = lab.env
    # NAT and TUN: the client sends VIP traffic to the director; DR: to the
    # router, which sends it to the director.
    gw4, gw6 = e["CLIENT_GW4"], e["CLIENT_GW6"]
    if lab.mode != "dr":
        gw4, gw6 = e["DIR_CLIENT_IP4"], e["DIR_CLIENT_IP6"]
    assert "via %s " % gw4 in lab.run("client", "ip", "route", "get", e["VIP4"]).stdout
    assert "via %s " % gw6 in lab.run("client", "ip", "-6", "route", "get", e["VIP6"]).stdout
    if lab.mode == "dr":
        r = lab.run("router", "ip", "route", "get", e["VIP4"]).stdout
        assert "via %s " % e["DIR_SERVER_IP4"] in r
        r = lab.run("router", "ip", "-6", "route", "get", e["VIP6"]).stdout
        assert "via %s " % e["DIR_SERVER_IP6"] in r
    # The servers' replies to the client leave through their gateway: the
    # director in NAT, the router otherwise.
    want = e["DIR_SERVER_IP4"] if lab.mode == "nat" else e["RS_GW4"]
    for i in (1, 2, 3):
        r = lab.run("rs%d" % i, "ip", "route", "get", e["CLIENT_IP4"]).stdout
        assert "via %s " % want in r


# ---------------------------------------------------------------------- DR --

@pytest.mark.parametrize("module_lab", ["dr"], indirect=True)
def test_dr_servers_hold_vip_silently(module_lab):
    lab = module_lab
    e = lab.env
    for i in (1, 2, 3):
        lo = lab.run("rs%d" % i, "ip", "-o", "addr", "show", "dev", "lo").stdout
        assert e["VIP4"] + "/32" in lo and e["VIP6"] + "/128" in lo
        assert lab.sysctl("rs%d" % i, "net.ipv4.conf.all.arp_ignore") == "1"
        assert lab.sysctl("rs%d" % i, "net.ipv4.conf.all.arp_announce") == "2"
        # nginx answers on the VIP locally (what DR delivers).
        assert lab.curl("rs%d" % i, e["VIP4"]) == (200, "server%d\n" % i)
    # Asked on the segment (the director pretends the VIP is on-link), no
    # server answers ARP or ND for the VIP: only lvsd may.
    d = "director"
    lab.run(d, "ip", "route", "add", e["VIP4"] + "/32", "dev", "eth0")
    lab.run(d, "ip", "-6", "route", "add", e["VIP6"] + "/128", "dev", "eth0")
    try:
        p4 = lab.popen(d, "curl", "-s", "-m", "1", "http://%s/" % e["VIP4"],
                       stdout=subprocess.PIPE)
        p6 = lab.popen(d, "curl", "-s", "-m", "1", "http://[%s]/" % e["VIP6"],
                       stdout=subprocess.PIPE)
        out4, _ = p4.communicate(timeout=10)
        out6, _ = p6.communicate(timeout=10)
        assert p4.returncode != 0 and out4 == b""
        assert p6.returncode != 0 and out6 == b""
        neigh = lab.run(d, "ip", "neigh", "show", "dev", "eth0").stdout
        for line in neigh.splitlines():
            if line.startswith(e["VIP4"] + " ") or line.startswith(e["VIP6"] + " "):
                assert "lladdr" not in line, line
    finally:
        lab.run(d, "ip", "route", "del", e["VIP4"] + "/32", "dev", "eth0", check=False)
        lab.run(d, "ip", "-6", "route", "del", e["VIP6"] + "/128", "dev", "eth0", check=False)


# --------------------------------------------------------------------- TUN --

SNIFFER = r"""
import json, logging, sys, time
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import AsyncSniffer, Ether, IP, IPv6, TCP
want, limit = int(sys.argv[1]), float(sys.argv[2])
seen = {}
def take(p):
    if TCP in p and p[TCP].sport == 80 and (int(p[TCP].flags) & 0x12) == 0x12:
        ip = p[IP] if IP in p else p[IPv6]
        seen[p[TCP].dport] = [p[Ether].src, ip.src, p[TCP].ack]
s = AsyncSniffer(iface="eth0", prn=take, store=False)
s.start()
time.sleep(0.2)
print("ready", flush=True)
end = time.time() + limit
while time.time() < end and len(seen) < want:
    time.sleep(0.05)
time.sleep(0.2)   # a stray extra answer would show up too
s.stop()
print(json.dumps(seen), flush=True)
"""

SENDER = r"""
import json, logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, IPv6, TCP, UDP, GRE, Raw, sendp
e, gw_mac, gue_port = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s4, s6 = e["DIR_TUN_SRC4"], e["DIR_TUN_SRC6"]
def syn4(sp): return IP(src=e["CLIENT_IP4"], dst=e["VIP4"])/TCP(sport=sp, dport=80, flags="S", seq=1000)
def syn6(sp): return IPv6(src=e["CLIENT_IP6"], dst=e["VIP6"])/TCP(sport=sp, dport=80, flags="S", seq=1000)
def o4(i, **kw): return IP(src=s4, dst=e["RS%d_IP4" % i], **kw)
def o6(i, **kw): return IPv6(src=s6, dst=e["RS%d_IP6" % i], **kw)
gue4, gue6 = Raw(b"\x00\x04\x00\x00"), Raw(b"\x00\x29\x00\x00")
pk = [
    o4(1) / syn4(40001),                                              # ipip
    o4(2) / GRE(chksum_present=1, proto=0x0800) / syn4(40002),        # gre + csum
    o4(3) / UDP(sport=50000, dport=gue_port) / gue4 / syn4(40003),    # gue
    o6(1) / syn6(40004),                                              # ip6ip6
    o6(2) / GRE(proto=0x86dd) / syn6(40005),                          # gre over 6
    o6(3) / UDP(sport=50000, dport=gue_port) / gue6 / syn6(40006),    # gue over 6
    o4(1, proto=41) / syn6(40007),                                    # 6 in 4
    o6(2, nh=4) / syn4(40008),                                        # 4 in 6
    o4(3) / GRE(key_present=1, key=7, seqnum_present=1, sequence_number=1,
                proto=0x0800) / syn4(40009),                          # gre key+seq
    # not for the helper: GUE to another port
    o4(1) / UDP(sport=50000, dport=gue_port + 1) / gue4 / syn4(40010),
]
sendp([Ether(dst=gw_mac) / p for p in pk], iface="eth1", verbose=False)
"""

TUN_OK = list(range(40001, 40010))
TUN_NOT = [40010]


def _decap_stats(lab, i):
    r = lab.run("rs%d" % i, str(Path(LAB_SH).parent / "rs-decap.sh"), "stats", "eth0")
    return {k: int(v) for k, v in (line.split() for line in r.stdout.splitlines())}


@pytest.mark.parametrize("module_lab", ["tun"], indirect=True)
def test_tun_helper_attached(module_lab):
    lab = module_lab
    for i in (1, 2, 3):
        r = lab.run("rs%d" % i, "tc", "filter", "show", "dev", "eth0", "ingress").stdout
        assert "lvs_decap" in r and "direct-action" in r
        lo = lab.run("rs%d" % i, "ip", "-o", "addr", "show", "dev", "lo").stdout
        assert lab.env["VIP4"] + "/32" in lo and lab.env["VIP6"] + "/128" in lo


@pytest.mark.parametrize("module_lab", ["tun"], indirect=True)
def test_tun_helper_decapsulates_to_vip(module_lab):
    lab = module_lab
    e = lab.env
    before = {i: _decap_stats(lab, i) for i in (1, 2, 3)}
    sniff = lab.popen("client", PY, "-c", SNIFFER, str(len(TUN_OK)), "8",
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([sniff.stdout], [], [], 20)
        assert ready and sniff.stdout.readline().strip() == "ready", sniff.stderr.read()
        lab.run("director", PY, "-c", SENDER, json.dumps(e), e["RTR_MAC_eth0"],
                e["TUN_GUE_PORT"], timeout=30)
        out, err = sniff.communicate(timeout=30)
    finally:
        if sniff.poll() is None:
            sniff.kill()
            sniff.wait()
    seen = {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}
    assert sorted(seen) == TUN_OK, (seen, err)
    for port, (mac, src, ack) in seen.items():
        # answered from the VIP, acknowledging our SYN, through the router
        # (the client LAN side), not the director
        assert src in (e["VIP4"], e["VIP6"])
        assert (src == e["VIP6"]) == (port in (40004, 40005, 40006, 40007))
        assert ack == 1001
        assert mac == e["RTR_MAC_eth2"]
        assert mac != e["DIR_MAC_eth0"]
    after = {i: _decap_stats(lab, i) for i in (1, 2, 3)}

    def delta(i, k):
        return after[i][k] - before[i][k]
    assert [delta(i, "ipip4") for i in (1, 2, 3)] == [2, 0, 0]      # 4in4, 6in4
    assert [delta(i, "ipip6") for i in (1, 2, 3)] == [1, 1, 0]      # 6in6, 4in6
    assert [delta(i, "gre") for i in (1, 2, 3)] == [0, 2, 1]
    assert [delta(i, "gue") for i in (1, 2, 3)] == [0, 0, 2]
    for i in (1, 2, 3):
        assert delta(i, "adjust_failed") == 0


# ------------------------------------------------------------ the lab's life --

def test_down_leaves_nothing(lab_factory):
    lab = lab_factory("tun")
    e = lab.env
    namespaces = e["NS_ALL"].split()
    assert len(namespaces) == 7 and all(netns_exists(n) for n in namespaces)
    pids = [int(p) for p in e["NGINX_PIDS"].split()]
    assert len(pids) == 3 and all(pid_alive(p) for p in pids)
    # Something a test left running inside a namespace goes too.
    stray = lab.popen("rs1", "sleep", "30")
    lab.down()
    assert stray.wait(timeout=10) is not None
    assert not any(netns_exists(n) for n in namespaces)
    assert not any(pid_alive(p) for p in pids)
    assert not Path(e["LAB_DIR"]).exists() and not Path(e["LAB_ENV"]).exists()
    # down is idempotent
    r = subprocess.run([str(LAB_SH), "down", "--prefix", lab.prefix],
                       capture_output=True, timeout=30)
    assert r.returncode == 0


def test_failed_up_cleans_up(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    prefix = "lvtfail%d" % os.getpid()
    env = dict(os.environ, LAB_QUIET="1", LVS_DECAP_OBJ="/proc/no/such/dir/x.o")
    r = subprocess.run([str(LAB_SH), "up", "tun", "--prefix", prefix,
                        "--env", str(tmp_path / "env")],
                       capture_output=True, text=True, timeout=60, env=env)
    try:
        assert r.returncode != 0
        assert "removing what was built" in r.stderr
        assert not [n for n in os.listdir("/run/netns") if n.startswith(prefix + "-")]
        assert not Path("/tmp/lvslab." + prefix).exists()
        assert not (tmp_path / "env").exists()
    finally:
        subprocess.run([str(LAB_SH), "down", "--prefix", prefix],
                       capture_output=True, timeout=60)


def test_env_file_is_shell_and_python_readable(lab_factory, tmp_path):
    lab = lab_factory("nat", nginx=False)
    r = subprocess.run(["bash", "-c", '. "$1"; echo "$NS_DIRECTOR|$VIP6|$RIPS4|$DIR_IFS"',
                        "-", lab.env_path], capture_output=True, text=True, check=True)
    e = parse_env(lab.env_path)
    assert r.stdout.strip() == "|".join([e["NS_DIRECTOR"], e["VIP6"], e["RIPS4"], e["DIR_IFS"]])
    assert e["DIR_IFS"] == "eth0 eth1" and e["NS_ROUTER"] == ""
    assert e["NS_DIRECTOR"].startswith(lab.prefix + "-")
    assert isinstance(lab, Lab)
