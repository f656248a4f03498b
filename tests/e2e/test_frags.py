"""IP fragments through the director, in the lab: UDP datagrams of 4 KB and
30 KB (larger than the 1500-byte MTU, so the client's kernel sends them as
fragments) to a UDP service on the VIP, through NAT, DR and TUN, IPv4 and
IPv6, with both I/O drivers.  Each real server runs an echo responder that
sends back its name and a digest of what it received; the client checks
that every datagram arrived whole (the digest) and that one flow stays on
one server.  A large ping to the VIP (fragmented both ways) is answered
by lvsd as the VIP's host would.  In NAT the answers (also fragmented, by the server's kernel)
come back through the director.  IPv6 through a tunnel needs the
client's path MTU first: the first datagram may be answered by an ICMPv6
packet-too-big, so each datagram is retried a few times.
"""
import re

import pytest

from .conftest import PY, Capture

pytestmark = pytest.mark.parametrize("module_lab", ["nat", "dr", "tun"], indirect=True)

PORT = 5354

ECHO = r"""
import hashlib, socket, sys
port, name, fam, addr = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET if fam == "4" else socket.AF_INET6, socket.SOCK_DGRAM)
if fam == "6":
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
# DR / TUN: bound to the VIP, so the answer leaves from it (as UDP
# servers behind LVS-DR are set up); NAT: any address
s.bind((addr, port))
while True:
    d, peer = s.recvfrom(65535)
    h = hashlib.sha256(d).hexdigest()
    # the answer is as large as the question, so it is fragmented too
    s.sendto(("%s %s %d\n" % (name, h, len(d))).encode().ljust(len(d), b"."), peer)
"""

ASK = r"""
import hashlib, random, socket, sys
addr, port, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect((addr, port))
rnd = random.Random(size)
out = []
for i in range(n):
    d = bytes(rnd.getrandbits(8) for _ in range(size))
    want = hashlib.sha256(d).hexdigest()
    got = "error"
    for attempt in range(4):
        try:
            s.send(d)
            r = s.recv(65535)
        except OSError:
            continue
        head = r.split(b"\n", 1)[0].decode(errors="replace").split()
        if len(r) == size and len(head) == 3 and head[1] == want and int(head[2]) == size:
            got = head[0]
        else:
            got = "bad"
        break
    out.append(got)
print(" ".join(out))
"""


def echo_servers(d, fam, vip):
    addr = ("0.0.0.0" if fam == 4 else "::") if d.lab.mode == "nat" else vip
    for i, name in enumerate(d.lab.servers, 1):
        d.spawn("rs%d" % i, PY, "-c", ECHO, str(PORT), name, str(fam), addr)
    for i in range(1, len(d.lab.servers) + 1):
        pat = ("%s:%d" if fam == 4 else "[%s]:%d") % (addr, PORT)
        d.lab.run("rs%d" % i, "sh", "-c",
                  "for i in $(seq 50); do ss -Hlun | grep -qF '%s' && exit 0; sleep 0.1; done;"
                  " exit 1" % pat)


@pytest.mark.parametrize("fam", [4, 6])
def test_large_udp_datagrams(director, fam):
    d, e = director, director.lab.env
    vip = e["VIP4"] if fam == 4 else e["VIP6"]
    echo_servers(d, fam, vip)
    d.service(vip, port=PORT, proto="-u", sched="rr")
    for size in (4096, 30000):
        r = d.lab.run("client", PY, "-c", ASK, vip, str(PORT), str(size), "4", timeout=60)
        got = r.stdout.split()
        assert len(got) == 4 and all(g in d.lab.servers for g in got), (size, got, r.stderr)
        # one socket, one flow: every datagram to the same server
        assert len(set(got)) == 1, (size, got)
    st = d.lvsadm("--status").stdout
    assert "fragment_overlap" not in st and "fragment_table_full" not in st, st


@pytest.mark.parametrize("fam", [4, 6])
def test_large_ping_to_vip(director, fam):
    """Echo requests of 3,000 and 20,000 bytes to the VIP arrive in
    fragments; lvsd puts each together and answers it in fragments that
    fit the MTU (the director's kernel never sees them: the guard)."""
    d, e = director, director.lab.env
    vip = e["VIP4"] if fam == 4 else e["VIP6"]
    d.service(vip, sched="rr")
    cap = Capture(d.lab, "client", [e["CLIENT_IF"]], bpf="icmp or icmp6 or ip6[6] == 44")
    for size in (3000, 20000):
        r = d.lab.run("client", "ping", "-%d" % fam, "-c", "2", "-W", "2", "-s", str(size), vip,
                      check=False, timeout=20)
        assert r.returncode == 0 and " 0% packet loss" in r.stdout, (size, r.stdout, d.lvsd.output())
    ipf = "ip" if fam == 4 else "ipv6"
    frames = cap.frames("frame.len", "%s.src" % ipf,
                        dfilter="%s.src == %s" % (ipf, vip))
    assert frames, cap.text()
    # 2 x 3,000 and 2 x 20,000 bytes back, in fragments of at most the MTU
    assert len(frames) >= 2 * 3 + 2 * 14, (len(frames), cap.text())
    assert all(int(f["frame.len"][0]) <= 1514 for f in frames), cap.text()
    m = re.search(r"echo (\d+)\)", d.lvsadm("--status").stdout)
    assert m and int(m.group(1)) >= 4, d.lvsadm("--status").stdout
    d.watch.assert_silent()
