"""Golden-packet tier: pcap in -> lvs-pcap -> pcap out, decoded by tshark.

Every test builds its input capture with scapy (Ethernet frames as the
director would receive them), writes an ipvsadm rules file, runs the replay
tool (env LVS_PCAP, default <repo>/build/lvs-pcap) and decodes the output
with tshark -- never with scapy or our own code -- so a transform and its
checker cannot share a mistake.  Assertions are field by field on tshark's
view, and every checksum tshark can verify must be "good".

tshark 4.0 checksum status values (epan/proto.h, PROTO_CHECKSUM_E_*):
0 bad, 1 good, 2 unverified, 3 not present, 4 illegal.

The helpers live here (pytest puts this directory on sys.path), so test
files import them with `from conftest import ...`.
"""
import os
import re
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

# scapy logs a warning for every missing route/interface; silence it.
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, IP, IPv6, TCP, Raw,  # noqa: E402
                       wrpcap)

REPO = Path(__file__).resolve().parents[2]
LVS_PCAP = os.environ.get("LVS_PCAP", str(REPO / "build" / "lvs-pcap"))

# The lab as the replay tool sees it.
OUR_MAC = "02:00:00:00:00:01"
GW_MAC = "02:00:00:00:00:fe"
VIP = "10.0.0.1"
VIP6 = "fd00::1"
SRC4 = "10.0.0.254"   # --src: tunnel outer source, director's ICMP errors
SRC6 = "fd00::fe"
CLIENT = "203.0.113.5"
CLIENT6 = "fd00:20::5"
RS = ["192.168.10.1", "192.168.10.2", "192.168.10.3"]
RS_MAC = ["02:00:00:00:10:01", "02:00:00:00:10:02", "02:00:00:00:10:03"]
RS6 = ["fd00:10::1", "fd00:10::2", "fd00:10::3"]
RS6_MAC = ["02:00:00:00:10:11", "02:00:00:00:10:12", "02:00:00:00:10:13"]
MAC_OF = dict(zip(RS + RS6, RS_MAC + RS6_MAC))
RS_OF_MAC = {m: a for a, m in MAC_OF.items()}

BASE_TIME = 1700000000.0

# TCP flag bits as tshark prints tcp.flags ("0x0012").
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

FIELDS = [
    "frame.number", "frame.protocols", "frame.len",
    "eth.src", "eth.dst", "eth.type",
    "ip.version", "ip.src", "ip.dst", "ip.ttl", "ip.id", "ip.len", "ip.proto",
    "ip.flags.df", "ip.frag_offset", "ip.checksum", "ip.checksum.status",
    "ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.plen", "ipv6.nxt",
    "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.ack", "tcp.seq_raw", "tcp.ack_raw",
    "tcp.flags",
    "tcp.len", "tcp.payload", "tcp.checksum", "tcp.checksum.status",
    "udp.srcport", "udp.dstport", "udp.length", "udp.payload",
    "udp.checksum", "udp.checksum.status",
    "icmp.type", "icmp.code", "icmp.mtu", "icmp.checksum.status",
    "icmpv6.type", "icmpv6.code", "icmpv6.mtu", "icmpv6.checksum.status",
    "gre.proto", "gre.flags.checksum", "gre.checksum", "gre.checksum.status",
    "data.data",
]

CSUM_STATUS_FIELDS = ["ip.checksum.status", "tcp.checksum.status",
                      "udp.checksum.status", "icmp.checksum.status",
                      "icmpv6.checksum.status", "gre.checksum.status"]
GOOD = "1"
UNVERIFIED = "2"
NOT_PRESENT = "3"


def tshark_rows(pcap, fields=FIELDS):
    """Decode pcap with tshark; one dict per frame: field -> list of values
    (one per occurrence, outermost layer first; [] when absent)."""
    cmd = ["tshark", "-n", "-r", str(pcap), "-T", "fields",
           "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;",
           "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE",
           "-o", "tcp.analyze_sequence_numbers:FALSE",
           "-o", "tcp.relative_sequence_numbers:FALSE"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "tshark failed: %s" % r.stderr
    rows = []
    for line in r.stdout.splitlines():
        vals = line.split("\t")
        assert len(vals) == len(fields), line
        rows.append({f: (v.split(";") if v != "" else [])
                     for f, v in zip(fields, vals)})
    return rows


def write_raw_ip_pcap(path, packets):
    """A pcap of raw IP packets (LINKTYPE_RAW = 101), for handing tshark the
    payload of a tunnel it has no dissector for (GUE)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i, p in enumerate(packets):
            f.write(struct.pack("<IIII", int(BASE_TIME) + i, 0, len(p), len(p)))
            f.write(p)


def default_env_args():
    a = ["--mac", OUR_MAC, "--gw", GW_MAC, "--src", SRC4, "--src", SRC6]
    for ip, mac in MAC_OF.items():
        a += ["--neigh", "%s=%s" % (ip, mac)]
    return a


class Replay:
    """Result of one lvs-pcap run; unpacks as (rc, stdout, stderr, rows)."""

    def __init__(self, rc, stdout, stderr, rows, out_pcap, rules_path, in_pcap):
        self.rc, self.stdout, self.stderr, self.rows = rc, stdout, stderr, rows
        self.out_pcap, self.rules_path, self.in_pcap = out_pcap, rules_path, in_pcap

    def __iter__(self):
        return iter((self.rc, self.stdout, self.stderr, self.rows))

    def drops(self):
        return parse_drops(self.stderr)

    def summary(self):
        return parse_summary(self.stdout)


def run_replay(rules, frames, extra_args=(), env=True, workdir=None,
               times=None, raw_input=None):
    """Write rules (a string or a list of lines) and frames (scapy packets,
    timestamped BASE_TIME + 1 ms per frame unless `times` is given), run
    lvs-pcap, decode its output with tshark.  `raw_input` (bytes) replaces
    the generated capture file.  env=False leaves out the default --mac /
    --neigh / --gw / --src arguments."""
    assert os.path.isfile(LVS_PCAP) and os.access(LVS_PCAP, os.X_OK), \
        "replay tool %s missing (build it, or set LVS_PCAP)" % LVS_PCAP
    if workdir is None:
        workdir = tempfile.mkdtemp(prefix="golden-")
    workdir = Path(workdir)
    rules_path = workdir / "rules"
    in_pcap = workdir / "in.pcap"
    out_pcap = workdir / "out.pcap"
    if not isinstance(rules, str):
        rules = "\n".join(rules) + "\n"
    rules_path.write_text(rules)
    if raw_input is not None:
        in_pcap.write_bytes(raw_input)
    else:
        frames = list(frames)
        for i, fr in enumerate(frames):
            fr.time = times[i] if times is not None else BASE_TIME + i * 0.001
        assert frames, "no input frames"
        wrpcap(str(in_pcap), frames)
    args = [LVS_PCAP, "-r", str(rules_path), "-i", str(in_pcap),
            "-o", str(out_pcap)]
    if env:
        args += default_env_args()
    args += list(extra_args)
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    # A sanitizer build (make SAN=1) may report without failing the exit code.
    assert "runtime error:" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr
    assert r.returncode >= 0, "lvs-pcap killed by signal %d\n%s" % (-r.returncode, r.stderr)
    rows = []
    if r.returncode == 0:
        assert out_pcap.exists(), "lvs-pcap exited 0 without writing %s" % out_pcap
        rows = tshark_rows(out_pcap)
    return Replay(r.returncode, r.stdout, r.stderr, rows, out_pcap,
                  rules_path, in_pcap)


@pytest.fixture
def replay(tmp_path):
    """run_replay bound to the test's tmp_path."""
    def _run(rules, frames, extra_args=(), **kw):
        kw.setdefault("workdir", tmp_path)
        return run_replay(rules, frames, extra_args, **kw)
    return _run


def parse_drops(stderr):
    """'lvs-pcap: drop REASON N' lines -> {REASON: N}."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^lvs-pcap: drop (\S+) (\d+)$", stderr, re.M)}


def parse_summary(stdout):
    """Per-server lines of the stdout summary ->
    {"192.168.10.1:8080": {"weight": w, "conns": n, ...}} (IPv6 keys keep
    their brackets)."""
    out = {}
    for m in re.finditer(r"^\s+-> (\S+) (.*)$", stdout, re.M):
        out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", m.group(2))}
    return out


# ---- frame builders (what arrives at the director) ----

def c2v(sport, flags="S", seq=1000, ack=0, payload=b"", client=CLIENT, vip=None,
        vport=80, ttl=64, ip_id=1, df=False, src_mac=GW_MAC, chksum=None):
    """Client -> virtual service TCP frame (via the gateway router)."""
    v6 = ":" in client
    vip = vip or (VIP6 if v6 else VIP)
    tcp = TCP(sport=sport, dport=vport, flags=flags, seq=seq, ack=ack, window=64240)
    if chksum is not None:
        tcp.chksum = chksum
    if v6:
        l3 = IPv6(src=client, dst=vip, hlim=ttl)
    else:
        l3 = IP(src=client, dst=vip, ttl=ttl, id=ip_id, flags="DF" if df else 0)
    fr = Ether(src=src_mac, dst=OUR_MAC) / l3 / tcp
    if payload:
        fr = fr / Raw(payload)
    return fr


def s2c(rip, sport, dport, flags="SA", seq=5000, ack=1001, payload=b"",
        client=CLIENT, ttl=64, ip_id=7):
    """Real server (NAT) -> client TCP reply frame, sent to our MAC."""
    if ":" in rip:
        l3 = IPv6(src=rip, dst=client, hlim=ttl)
    else:
        l3 = IP(src=rip, dst=client, ttl=ttl, id=ip_id)
    fr = Ether(src=MAC_OF[rip], dst=OUR_MAC) / l3 / TCP(
        sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=65160)
    if payload:
        fr = fr / Raw(payload)
    return fr


def syns(n, first_port=40000, client=CLIENT, vip=None, vport=80):
    return [c2v(first_port + i, "S", seq=1000 + i, client=client, vip=vip, vport=vport,
                ip_id=i + 1)
            for i in range(n)]


# ---- assertions ----

def assert_csums_good(row, allow=None):
    """Every checksum tshark reports on must be good; `allow` maps a status
    field to extra accepted values (e.g. {"udp.checksum.status": {"3"}} for
    an IPv4 UDP datagram sent without checksum)."""
    allow = allow or {}
    assert "_ws.malformed" not in ":".join(row["frame.protocols"]), row
    for f in CSUM_STATUS_FIELDS:
        ok = {GOOD} | set(allow.get(f, ()))
        for v in row[f]:
            assert v in ok, "frame %s: %s=%s (want %s)\n%s" % (
                row["frame.number"], f, row[f], sorted(ok), row)


def tcp_flags(row, i=0):
    return int(row["tcp.flags"][i], 16)


def dst_rs(row):
    """Which real server a frame was sent to, by destination MAC."""
    return RS_OF_MAC.get(row["eth.dst"][0], row["eth.dst"][0])


def pseudo_sum(src, dst, proto, length):
    """Folded, NOT complemented pseudo-header sum: what a checksum-partial
    frame carries in its L4 checksum field (Linux ~csum_tcpudp_magic(..., 0))."""
    import socket
    if ":" in src:
        b = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        b += struct.pack("!IxxxB", length, proto)
    else:
        b = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", proto, length)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def parse_counts(stderr):
    """The 'lvs-pcap: rx N tx N pass N drop N conns N' line -> dict."""
    m = re.search(r"^lvs-pcap: rx (\d+) tx (\d+) pass (\d+) drop (\d+) conns (\d+)$",
                  stderr, re.M)
    assert m, "no counters line in stderr:\n" + stderr
    return dict(zip(("rx", "tx", "pass", "drop", "conns"), map(int, m.groups())))
