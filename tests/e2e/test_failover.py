"""A hot-standby director pair: two lvsd started as `lvsd -f FILE` from
keepalived.conf files that differ only in state and priority, in the lab's
nat2 / dr2 topologies (both directors on the client-side and server-side
segments; the VIP, and in NAT the real servers' gateway, belong to the VRRP
master).

- election: one MASTER, one BACKUP, as `lvsadm --vrrp` lists them; the
  backup answers no ARP for the VIP and forwards nothing sent to it
  (counted as vip_standby);
- the master killed with SIGKILL: the backup takes over, new connections
  work again and the client's neighbour entry for the VIP points at it
  (the longest gap a client saw is printed, not asserted);
- the old master's return, with preempt (it takes the VIP back) and with
  nopreempt (it stays BACKUP);
- links cut: the master's client-side link goes down, the sync group goes
  to FAULT and the backup takes over;
- a split brain (VRRP blocked on the switch, then unblocked) heals to one
  master, and the client's neighbour entry points at it afterwards;
- keepalived (Debian's, VRRP only) as the peer, v2 and v3: lvsd as master
  and as backup, both elect and fail over; tshark decodes both sides'
  adverts as valid VRRP.

Each test has its own lab (prefix vfo<pid>_<n>), removed at teardown with
every process started here (by PID).  Every wait is bounded.
"""
import os
import re
import signal
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import LVSD, PY, SLOW_GET, Lvsd, own_lab

VIP_OUT_VRID, VIP_IN_VRID = 51, 52


def conf_text(lab, state, prio, mode, version=2, advert="1", preempt=True, sync=False,
              ipv6=False, unicast=None):
    """unicast: (own role, peer role): adverts sent to the peer's address
    on each segment instead of the multicast group."""
    e = lab.env
    ex_out = ex_in = v6_vs = ""
    if ipv6:
        # the IPv6 VIP and gateway move with the IPv4 instances
        ex_out = "    virtual_ipaddress_excluded {\n        %s/128\n    }\n" % e["VIP6"]
        ex_in = "    virtual_ipaddress_excluded {\n        %s/64\n    }\n" % e["RS_GW6"]
        v6_vs = ("virtual_server %s 80 {\n    lb_algo rr\n    lb_kind %s\n    protocol TCP\n"
                 % (e["VIP6"], "NAT" if mode == "nat2" else "DR") +
                 "".join("    real_server %s 80 {\n        weight 1\n    }\n" % r
                         for r in lab.rips6) + "}\n")
    syncd = ""
    if sync:
        syncd = ("    lvs_sync_daemon eth1 VI_IN id 7\n" if mode == "nat2"
                 else "    lvs_sync_daemon eth0 VI_OUT id 7\n")
    nopre = "" if preempt else "    nopreempt\n"
    uni_out = uni_in = ""
    if unicast:
        me, peer = ("DIR_" if unicast[0] == "director" else "DIR2_",
                    "DIR_" if unicast[1] == "director" else "DIR2_")
        uni_out = "    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n" % (
            e[me + "CLIENT_IP4"], e[peer + "CLIENT_IP4"])
        uni_in = "    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n" % (
            e[me + "SERVER_IP4"], e[peer + "SERVER_IP4"])
    nopre_out, nopre_in = nopre + uni_out, nopre + uni_in
    vs_kind = "NAT" if mode == "nat2" else "DR"
    servers = "".join("    real_server %s 80 {\n        weight 1\n"
                      "        TCP_CHECK {\n            connect_timeout 2\n        }\n    }\n"
                      % r for r in lab.rips4)
    inst = """vrrp_instance VI_OUT {
    state %s
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int %s
%s    virtual_ipaddress {
        %s/32
    }
%s}
""" % (state, VIP_OUT_VRID, prio, advert, nopre_out, e["VIP4"], ex_out)
    group = ""
    if mode == "nat2":
        inst += """vrrp_instance VI_IN {
    state %s
    interface eth1
    virtual_router_id %d
    priority %d
    advert_int %s
%s    virtual_ipaddress {
        %s/24
    }
%s}
""" % (state, VIP_IN_VRID, prio, advert, nopre_in, e["RS_GW4"], ex_in)
        group = "vrrp_sync_group G {\n    group {\n        VI_OUT\n        VI_IN\n    }\n}\n"
    return """global_defs {
    router_id LVS_%s
    vrrp_version %d
    vrrp_garp_master_delay 1
%s}
%s%s
virtual_server %s 80 {
    delay_loop 2
    lb_algo rr
    lb_kind %s
    protocol TCP
%s}
%s""" % (state, version, syncd, group, inst, e["VIP4"], vs_kind, servers, v6_vs)


class Pair:
    def __init__(self, lab, mode, tmp):
        self.lab, self.mode, self.tmp = lab, mode, tmp
        self.d = {}

    def start(self, role, state, prio, **kw):
        path = self.tmp / ("%s.conf" % role)
        path.write_text(conf_text(self.lab, state, prio, self.mode, **kw))
        d = Lvsd(self.lab, ["-n", "-f", str(path)], role=role)
        self.lab.lvsds.append(d)
        d.wait_ready()
        self.d[role] = d
        return d

    def kill(self, role):
        d = self.d.pop(role)
        d.proc.kill()
        d.proc.wait(5)
        d.log.close()
        self.lab.lvsds.remove(d)
        return d

    def vrrp(self, role):
        return self.lab.lvsadm("--vrrp", role=role).stdout

    def state(self, role, inst="VI_OUT"):
        m = re.search(r"^%s +\S+ +\d+ +\d +(\S+) " % inst, self.vrrp(role), re.M)
        return m.group(1) if m else None

    def wait_state(self, role, state, timeout=15, inst="VI_OUT"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.state(role, inst) == state:
                return True
            time.sleep(0.1)
        return False

    def status(self, role):
        return self.lab.lvsadm("--status", role=role).stdout


def mac_of(lab, role, ifname):
    key = ("DIR_MAC_" if role == "director" else "DIR2_MAC_") + ifname
    return lab.env[key]


def neighbour(lab, role, addr):
    out = lab.run(role, "ip", "neigh", "show", addr).stdout
    m = re.search(r"lladdr (\S+)", out)
    return m.group(1) if m else None


def vip_watcher(lab):
    """Who asks for the VIP: the client (NAT) or the router (DR)."""
    return "client" if lab.mode == "nat2" else "router"


LOAD = r"""
import socket, sys, time
vip, secs = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + secs
last_ok = time.monotonic(); gap = 0.0; ok = fail = 0
while time.monotonic() < end:
    t = time.monotonic()
    try:
        s = socket.create_connection((vip, 80), timeout=0.3)
        s.settimeout(0.5)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        d = s.recv(200)
        s.close()
        if b" 200 " in d:
            ok += 1
            gap = max(gap, time.monotonic() - last_ok)
            last_ok = time.monotonic()
        else:
            fail += 1
    except OSError:
        fail += 1
    time.sleep(max(0.0, 0.01 - (time.monotonic() - t)))
print("ok %d fail %d gap %.3f" % (ok, fail, max(gap, 0.0)))
"""


def start_load(lab, secs):
    return lab.popen("client", "/usr/bin/python3", "-c", LOAD, lab.env["VIP4"], str(secs),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def end_load(p, secs):
    out, err = p.communicate(timeout=secs + 15)
    m = re.search(r"ok (\d+) fail (\d+) gap ([\d.]+)", out)
    assert m, out + err
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


KEEPALIVE = r"""
import socket, sys
vip, n = sys.argv[1], int(sys.argv[2])
def get(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise OSError("closed")
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    ln = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
    while len(body) < ln:
        d = s.recv(4096)
        if not d:
            raise OSError("closed")
        body += d
    return body.strip().decode()
socks = [socket.create_connection((vip, 80), timeout=3) for _ in range(n)]
first = [get(s) for s in socks]
print("ready", " ".join(first), flush=True)
sys.stdin.readline()
broken = 0
again = []
for s in socks:
    try:
        s.settimeout(5)
        again.append(get(s))
    except OSError:
        broken += 1
        again.append("-")
print("after", " ".join(again), "broken", broken, flush=True)
"""


class Clients:
    """A download (read slowly, about 10 s, so that it spans the failover) and n open
    keep-alive connections that each asked once before."""

    def __init__(self, lab, n=8):
        self.lab = lab
        self.dl = lab.popen("client", PY, "-c", SLOW_GET, lab.env["VIP4"], "/big", "1e6", "40",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ka = lab.popen("client", "/usr/bin/python3", "-c", KEEPALIVE, lab.env["VIP4"],
                            str(n), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
        line = self.ka.stdout.readline()
        assert line.startswith("ready"), line + self.ka.stderr.read()
        self.first = line.split()[1:]

    def running(self):
        """The download has not ended yet (it takes about 10 s)."""
        return self.dl.poll() is None

    def finish(self):
        """(download ok, keep-alive connections broken, answers after)."""
        self.ka.stdin.write("go\n")
        self.ka.stdin.flush()
        out, err = self.ka.communicate(timeout=60)
        m = re.search(r"after (.*) broken (\d+)", out)
        assert m, out + err
        dl_out, dl_err = self.dl.communicate(timeout=90)
        ok = dl_out.split()[:3] == ["200", self.lab.env["BIG_SIZE"], self.lab.env["BIG_SHA256"]]
        return ok, int(m.group(2)), m.group(1).split()


def requests_ok(lab, n=6):
    seen = lab.count_servers("client", lab.env["VIP4"], n=n)
    return "error" not in seen, seen


@pytest.fixture(params=["nat2", "dr2"])
def pair(request, tmp_path):
    for lab in own_lab(request.param, "vfo"):
        yield Pair(lab, request.param, tmp_path)


@pytest.fixture
def nat_pair(tmp_path):
    for lab in own_lab("nat2", "vfo"):
        yield Pair(lab, "nat2", tmp_path)


def test_election_backup_silent_and_sigkill_takeover(pair):
    lab, p = pair.lab, pair
    p.start("director", "MASTER", 150)
    p.start("director2", "BACKUP", 100)
    assert p.wait_state("director", "MASTER"), p.vrrp("director")
    assert p.wait_state("director2", "BACKUP"), p.vrrp("director2")
    if pair.mode == "nat2":
        assert p.state("director", "VI_IN") == "MASTER"
        assert p.state("director2", "VI_IN") == "BACKUP"
    v = p.vrrp("director2")
    assert "addresses: %s/32 (not held)" % lab.env["VIP4"] in v, v
    ok, seen = requests_ok(lab)
    assert ok, seen
    who = vip_watcher(lab)
    assert neighbour(lab, who, lab.env["VIP4"]) == mac_of(lab, "director", "eth0")

    # the backup forwards nothing sent to it
    lab.run(who, "ip", "neigh", "replace", lab.env["VIP4"], "lladdr",
            mac_of(lab, "director2", "eth0"), "dev", "eth0" if who == "client" else "eth1",
            "nud", "permanent")
    code, _ = lab.curl("client", lab.env["VIP4"], timeout=1)
    assert code == 0
    m = re.search(r"vip_standby +(\d+)", p.status("director2"))
    assert m and int(m.group(1)) >= 1, p.status("director2")
    lab.run(who, "ip", "neigh", "del", lab.env["VIP4"], "dev",
            "eth0" if who == "client" else "eth1")

    # SIGKILL the master in the middle of a stream of new connections
    load = start_load(lab, 9)
    time.sleep(2)
    p.kill("director")
    assert p.wait_state("director2", "MASTER", timeout=10), p.vrrp("director2")
    ok_n, fail_n, gap = end_load(load, 9)
    print("\n%s: SIGKILL of the master at advert_int 1: longest gap %.3f s, "
          "%d requests answered, %d failed" % (pair.mode, gap, ok_n, fail_n))
    assert ok_n > 0
    ok, seen = requests_ok(lab)
    assert ok, seen
    assert neighbour(lab, who, lab.env["VIP4"]) == mac_of(lab, "director2", "eth0")
    if pair.mode == "nat2":
        assert p.state("director2", "VI_IN") == "MASTER"
        assert neighbour(lab, "rs1", lab.env["RS_GW4"]) in (
            None, mac_of(lab, "director2", "eth1"))


@pytest.mark.parametrize("preempt", [True, False])
def test_old_master_returns(nat_pair, preempt):
    lab, p = nat_pair.lab, nat_pair
    state_a = "MASTER" if preempt else "BACKUP"   # keepalived: nopreempt needs BACKUP
    p.start("director", state_a, 150, preempt=preempt)
    assert p.wait_state("director", "MASTER"), p.vrrp("director")
    p.start("director2", "BACKUP", 100, preempt=preempt)
    assert p.wait_state("director2", "BACKUP")
    p.kill("director")
    assert p.wait_state("director2", "MASTER", timeout=10)
    p.start("director", state_a, 150, preempt=preempt)
    if preempt:
        assert p.wait_state("director", "MASTER"), p.vrrp("director")
        assert p.wait_state("director2", "BACKUP"), p.vrrp("director2")
        owner = "director"
    else:
        time.sleep(5)   # more than Master_Down_Interval: it must stay BACKUP
        assert p.state("director") == "BACKUP", p.vrrp("director")
        assert p.state("director2") == "MASTER", p.vrrp("director2")
        owner = "director2"
    ok, seen = requests_ok(lab)
    assert ok, seen
    assert neighbour(lab, "client", lab.env["VIP4"]) == mac_of(lab, owner, "eth0")


def test_links_cut_fault_moves_the_group(nat_pair):
    lab, p = nat_pair.lab, nat_pair
    p.start("director", "MASTER", 150)
    assert p.wait_state("director", "MASTER")
    p.start("director2", "BACKUP", 100)
    assert p.wait_state("director2", "BACKUP")
    load = start_load(lab, 8)
    time.sleep(2)
    lab.run("director", "ip", "link", "set", "eth0", "down")
    assert p.wait_state("director", "FAULT", timeout=5), p.vrrp("director")
    # the group: VI_IN goes with it although eth1 is up
    assert p.wait_state("director", "FAULT", timeout=5, inst="VI_IN"), p.vrrp("director")
    assert p.wait_state("director2", "MASTER", timeout=10), p.vrrp("director2")
    assert p.wait_state("director2", "MASTER", timeout=5, inst="VI_IN")
    ok_n, fail_n, gap = end_load(load, 8)
    print("\nlink cut on the master: longest gap %.3f s, %d answered, %d failed"
          % (gap, ok_n, fail_n))
    ok, seen = requests_ok(lab)
    assert ok, seen
    lab.run("director", "ip", "link", "set", "eth0", "up")
    assert p.wait_state("director", "MASTER", timeout=15), p.vrrp("director")
    assert p.wait_state("director2", "BACKUP", timeout=5)
    ok, seen = requests_ok(lab)
    assert ok, seen


def test_split_brain_heals(nat_pair):
    lab, p = nat_pair.lab, nat_pair
    p.start("director", "MASTER", 150)
    assert p.wait_state("director", "MASTER")
    p.start("director2", "BACKUP", 100)
    assert p.wait_state("director2", "BACKUP")
    # VRRP blocked on the switch: each director alone, both MASTER
    lab.run("switch", "nft", "-f", "-", input="""
table bridge vfo_block {
    chain block {
        type filter hook forward priority 0; policy accept;
        ip protocol 112 drop
    }
}
""")
    try:
        assert p.wait_state("director2", "MASTER", timeout=10), p.vrrp("director2")
        assert p.state("director") == "MASTER"
        # the client follows the last announcement it heard: the backup's
        end = time.monotonic() + 5
        while time.monotonic() < end and neighbour(lab, "client", lab.env["VIP4"]) != \
                mac_of(lab, "director2", "eth0"):
            lab.curl("client", lab.env["VIP4"], timeout=1)
            time.sleep(0.2)
    finally:
        lab.run("switch", "nft", "delete", "table", "bridge", "vfo_block", check=False)
    assert p.wait_state("director2", "BACKUP", timeout=10), p.vrrp("director2")
    assert p.state("director") == "MASTER"
    end = time.monotonic() + 5
    while time.monotonic() < end and neighbour(lab, "client", lab.env["VIP4"]) != \
            mac_of(lab, "director", "eth0"):
        time.sleep(0.1)
    assert neighbour(lab, "client", lab.env["VIP4"]) == mac_of(lab, "director", "eth0")
    assert "split brain: %s is master too" % lab.env["DIR2_CLIENT_IP4"] in \
        p.d["director"].output()
    ok, seen = requests_ok(lab)
    assert ok, seen


# ---- keepalived as the peer --------------------------------------------------

def keepalived_bin():
    k = shutil.which("keepalived") or (os.path.exists("/usr/sbin/keepalived")
                                       and "/usr/sbin/keepalived")
    if not k:
        pytest.skip("keepalived is not installed (mk/deps.sh)")
    return k


class Keepalived:
    """keepalived -P (VRRP only) in the foreground in director2's namespace,
    from the same file as lvsd's (its virtual_server part unused)."""

    def __init__(self, lab, tmp, text):
        self.lab = lab
        d = tmp / "ka"
        d.mkdir(exist_ok=True)
        self.conf = d / "keepalived.conf"
        self.conf.write_text(text)
        self.log = open(d / "keepalived.log", "w")
        self.proc = lab.popen("director2", keepalived_bin(), "-n", "-l", "-D", "-P",
                              "-f", self.conf, "-p", d / "ka.pid", "-r", d / "vrrp.pid",
                              "-c", d / "chk.pid", stdout=self.log, stderr=subprocess.STDOUT)

    def has_vip(self):
        out = self.lab.run("director2", "ip", "-o", "addr", "show", "dev", "eth0").stdout
        return (" %s/" % self.lab.env["VIP4"]) in out

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def wait_for(fn, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.1)
    return bool(fn())


def tshark_vrrp(lab, secs):
    """Capture VRRP on the client-side segment for secs; (src, prio, version,
    checksum status) rows, decoded by tshark."""
    pcap = Path(lab.env["LAB_DIR"]) / ("vrrp-%d.pcap" % time.monotonic_ns())
    lab.run("switch", "timeout", str(secs), "tcpdump", "-i", "p-d1c", "-w", pcap, "vrrp",
            check=False, timeout=secs + 10) if shutil.which("tcpdump") else \
        lab.run("switch", "tshark", "-i", "p-d1c", "-a", "duration:%d" % secs, "-w", pcap,
                "-f", "ip proto 112", check=False, timeout=secs + 15)
    r = subprocess.run(["tshark", "-r", str(pcap), "-Y", "vrrp", "-T", "fields",
                        "-e", "ip.src", "-e", "vrrp.prio", "-e", "vrrp.version",
                        "-e", "vrrp.checksum.status"], capture_output=True, text=True,
                       timeout=60)
    return [ln.split("\t") for ln in r.stdout.splitlines() if ln.strip()]


@pytest.mark.parametrize("version", [2, 3])
def test_keepalived_peer(nat_pair, tmp_path, version):
    lab, p = nat_pair.lab, nat_pair
    keepalived_bin()
    # lvsd MASTER, keepalived BACKUP
    p.start("director", "MASTER", 150, version=version)
    assert p.wait_state("director", "MASTER")
    k = Keepalived(lab, tmp_path, conf_text(lab, "BACKUP", 100, "nat2", version=version))
    try:
        rows = tshark_vrrp(lab, 4)
        srcs = {r[0] for r in rows}
        assert lab.env["DIR_CLIENT_IP4"] in srcs, rows
        for src, prio, ver, status in rows:
            assert ver == str(version) and status == "1", rows
        assert not k.has_vip(), "keepalived took the VIP from a live lvsd master"
        ok, seen = requests_ok(lab)
        assert ok, seen
        # lvsd killed: keepalived takes over (the VIP appears on its interface)
        p.kill("director")
        assert wait_for(k.has_vip, 10), "keepalived did not take over"
        # lvsd back: it preempts, keepalived lets the VIP go
        p.start("director", "MASTER", 150, version=version)
        assert p.wait_state("director", "MASTER"), p.vrrp("director")
        assert wait_for(lambda: not k.has_vip(), 10), "keepalived kept the VIP"
        ok, seen = requests_ok(lab)
        assert ok, seen
    finally:
        k.stop()
    lab.stop_lvsd()
    p.d.clear()

    # keepalived MASTER, lvsd BACKUP
    k = Keepalived(lab, tmp_path, conf_text(lab, "MASTER", 150, "nat2", version=version))
    try:
        assert wait_for(k.has_vip, 10), "keepalived did not become master"
        p.start("director", "BACKUP", 100, version=version)
        assert p.wait_state("director", "BACKUP"), p.vrrp("director")
        rows = tshark_vrrp(lab, 3)
        assert any(r[0] == lab.env["DIR2_CLIENT_IP4"] and r[1] == "150" for r in rows), rows
        assert all(r[3] == "1" for r in rows), rows
        time.sleep(4)
        assert p.state("director") == "BACKUP", p.vrrp("director")
        # keepalived stops (priority 0): lvsd takes over at once
        k.stop()
        assert p.wait_state("director", "MASTER", timeout=5), p.vrrp("director")
        ok, seen = requests_ok(lab)
        assert ok, seen
    finally:
        k.stop()


# ---- connections through a failover (connection sync) -----------------------

@pytest.mark.parametrize("event", ["sigkill", "links"])
def test_connections_survive_failover(pair, event):
    lab, p = pair.lab, pair
    p.start("director", "MASTER", 150, sync=True)
    assert p.wait_state("director", "MASTER"), p.vrrp("director")
    p.start("director2", "BACKUP", 100, sync=True)
    assert p.wait_state("director2", "BACKUP"), p.vrrp("director2")
    daemons = lab.lvsadm("-L", "--daemon", role="director").stdout
    assert daemons.startswith("master sync daemon"), daemons
    assert lab.lvsadm("-L", "--daemon", role="director2").stdout.startswith(
        "backup sync daemon")
    c = Clients(lab)
    load = start_load(lab, 8)
    time.sleep(2)
    assert c.running(), "the download ended before the failover"
    if event == "sigkill":
        p.kill("director")
    else:
        for ifn in lab.env["DIR_IFS"].split():
            lab.run("director", "ip", "link", "set", ifn, "down")
    assert p.wait_state("director2", "MASTER", timeout=10), p.vrrp("director2")
    ok_n, fail_n, gap = end_load(load, 8)
    dl_ok, broken, after = c.finish()
    print("\n%s, %s: longest gap %.3f s; %d keep-alive connections broken of %d; "
          "download %s" % (pair.mode, event, gap, broken, len(after),
                           "intact" if dl_ok else "BROKEN"))
    assert dl_ok, "the download broke"
    assert broken == 0, after
    assert after == c.first, (c.first, after)  # each stayed with its server
    assert lab.lvsadm("-L", "--daemon", role="director2").stdout.startswith(
        "master sync daemon")


@pytest.mark.parametrize("preempt", [True, False])
def test_old_master_returns_breaks_nothing(nat_pair, preempt):
    """The old master comes back.  With preempt it pulls the table of the
    connections opened while it was away before it takes the VIP back;
    with nopreempt it stays BACKUP and the new master keeps them."""
    lab, p = nat_pair.lab, nat_pair
    state_a = "MASTER" if preempt else "BACKUP"
    p.start("director", state_a, 150, sync=True, preempt=preempt)
    assert p.wait_state("director", "MASTER")
    p.start("director2", "BACKUP", 100, sync=True, preempt=preempt)
    assert p.wait_state("director2", "BACKUP")
    p.kill("director")
    assert p.wait_state("director2", "MASTER", timeout=10)
    c = Clients(lab)            # opened while the master was away
    time.sleep(1)
    assert c.running(), "the download ended before the return"
    a = p.start("director", state_a, 150, sync=True, preempt=preempt)
    if preempt:
        assert p.wait_state("director", "MASTER", timeout=15), p.vrrp("director")
        assert p.wait_state("director2", "BACKUP", timeout=5)
    else:
        time.sleep(5)
        assert p.state("director") == "BACKUP" and p.state("director2") == "MASTER"
    assert "connections pulled from the peer" in a.output(), a.output()
    dl_ok, broken, after = c.finish()
    print("\nreturn of the old master (%s): %d keep-alive connections broken of %d; "
          "download %s" % ("preempt" if preempt else "nopreempt", broken, len(after),
                           "intact" if dl_ok else "BROKEN"))
    assert dl_ok and broken == 0, (dl_ok, after)
    assert after == c.first


def test_ipv6_addresses_move_with_the_group(pair):
    """IPv6 VIP (and in NAT the servers' IPv6 gateway) as excluded addresses
    of the IPv4 instances: answered by neighbour discovery on the master
    only, announced by an unsolicited NA on takeover."""
    lab, p = pair.lab, pair
    p.start("director", "MASTER", 150, ipv6=True)
    assert p.wait_state("director", "MASTER")
    p.start("director2", "BACKUP", 100, ipv6=True)
    assert p.wait_state("director2", "BACKUP")
    code, body = lab.curl("client", lab.env["VIP6"], timeout=3)
    assert code == 200 and body.strip() in lab.servers, (code, body)
    who = vip_watcher(lab)
    assert neighbour(lab, who, lab.env["VIP6"]) == mac_of(lab, "director", "eth0")
    p.kill("director")
    assert p.wait_state("director2", "MASTER", timeout=10)
    end = time.monotonic() + 10
    code = 0
    while time.monotonic() < end and code != 200:
        code, body = lab.curl("client", lab.env["VIP6"], timeout=1)
    assert code == 200, body
    assert neighbour(lab, who, lab.env["VIP6"]) == mac_of(lab, "director2", "eth0")


def test_track_script_notify_reload_and_metrics(nat_pair, tmp_path):
    """A vrrp_script with weight 0 puts the master's group in FAULT when it
    fails (the backup takes over) and back when it passes; notify scripts
    run with keepalived's arguments; a reload that raises the backup's
    priority makes it preempt; the state shows in /metrics."""
    lab, p = nat_pair.lab, nat_pair
    flag, log = tmp_path / "healthy", tmp_path / "notify.log"
    flag.write_text("1")
    notify = tmp_path / "notify.sh"
    notify.write_text("#!/bin/sh\necho \"$*\" >> %s\n" % log)
    notify.chmod(0o755)
    extra = """vrrp_script chk_flag {
    script "/usr/bin/test -f %s"
    interval 0.2
    fall 1
    rise 1
}
""" % flag

    def conf(state, prio, track):
        t = conf_text(lab, state, prio, "nat2")
        t = t.replace("vrrp_sync_group G {", extra + "vrrp_sync_group G {")
        if track:
            t = t.replace("    virtual_router_id %d\n" % VIP_OUT_VRID,
                          "    virtual_router_id %d\n    track_script {\n        chk_flag\n"
                          "    }\n    notify %s\n" % (VIP_OUT_VRID, notify))
        return t

    a_conf, b_conf = tmp_path / "a.conf", tmp_path / "b.conf"
    a_conf.write_text(conf("MASTER", 150, True))
    b_conf.write_text(conf("BACKUP", 100, False))
    a = Lvsd(lab, ["-n", "-f", str(a_conf), "--metrics", "127.0.0.1:9177"], role="director")
    lab.lvsds.append(a)
    a.wait_ready()
    b = Lvsd(lab, ["-n", "-f", str(b_conf)], role="director2")
    lab.lvsds.append(b)
    b.wait_ready()
    assert p.wait_state("director", "MASTER"), p.vrrp("director")
    assert p.wait_state("director2", "BACKUP")
    assert "track script chk_flag weight 0: ok" in p.vrrp("director")
    m = lab.run("director", "curl", "-s", "http://127.0.0.1:9177/metrics").stdout
    assert re.search(r'^lvsd_vrrp_state\{instance="VI_OUT",interface="eth0",vrid="51"\} 2$',
                     m, re.M), m
    assert wait_for(lambda: log.exists() and "INSTANCE VI_OUT MASTER 150" in
                    log.read_text(), 5), log.read_text() if log.exists() else "no log"

    flag.unlink()
    assert p.wait_state("director", "FAULT", timeout=5), p.vrrp("director")
    assert p.wait_state("director", "FAULT", timeout=5, inst="VI_IN")
    assert p.wait_state("director2", "MASTER", timeout=10)
    assert "track script chk_flag weight 0: failed" in p.vrrp("director")
    ok, seen = requests_ok(lab)
    assert ok, seen
    assert wait_for(lambda: "INSTANCE VI_OUT FAULT" in log.read_text(), 5), \
        log.read_text()
    flag.write_text("1")
    assert p.wait_state("director", "MASTER", timeout=10), p.vrrp("director")
    assert p.wait_state("director2", "BACKUP", timeout=5)

    # reload: the backup's priority raised above the master's: it preempts
    b_conf.write_text(conf("BACKUP", 200, False))
    b.proc.send_signal(signal.SIGHUP)
    assert p.wait_state("director2", "MASTER", timeout=15), p.vrrp("director2")
    assert p.wait_state("director", "BACKUP", timeout=5), p.vrrp("director")
    assert "the VRRP configuration changed" in b.output()
    ok, seen = requests_ok(lab)
    assert ok, seen
    # a reload that changes nothing of VRRP keeps the state
    b.proc.send_signal(signal.SIGHUP)
    time.sleep(2)
    assert p.state("director2") == "MASTER"
    assert b.output().count("the VRRP configuration changed") == 1


def test_unicast_peers(nat_pair):
    """unicast_src_ip / unicast_peer: the adverts go to the peer's address
    (no multicast on the wire), and the pair elects and fails over."""
    lab, p = nat_pair.lab, nat_pair
    p.start("director", "MASTER", 150, unicast=("director", "director2"))
    assert p.wait_state("director", "MASTER")
    p.start("director2", "BACKUP", 100, unicast=("director2", "director"))
    assert p.wait_state("director2", "BACKUP")
    time.sleep(1.5)
    assert p.state("director2") == "BACKUP", p.vrrp("director2")
    pcap = Path(lab.env["LAB_DIR"]) / "uni.pcap"
    lab.run("switch", "tshark", "-i", "p-d2c", "-a", "duration:3", "-w", pcap, "-f",
            "ip proto 112", check=False, timeout=20)
    r = subprocess.run(["tshark", "-r", str(pcap), "-Y", "vrrp", "-T", "fields", "-e", "ip.src",
                        "-e", "ip.dst", "-e", "vrrp.checksum.status"],
                       capture_output=True, text=True, timeout=60)
    rows = [ln.split("\t") for ln in r.stdout.splitlines() if ln.strip()]
    assert rows, r.stderr
    for src, dst, status in rows:
        assert (src, dst, status) == (lab.env["DIR_CLIENT_IP4"], lab.env["DIR2_CLIENT_IP4"],
                                      "1"), rows
    ok, seen = requests_ok(lab)
    assert ok, seen
    p.kill("director")
    assert p.wait_state("director2", "MASTER", timeout=10)
    ok, seen = requests_ok(lab)
    assert ok, seen
