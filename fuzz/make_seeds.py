#!/usr/bin/python3
"""Write the fuzzers' seed corpora: fuzz/corpus/, short conversations for each
service in fuzz_director.c, in the target's record format
[len_hi len_lo flags frame]; fuzz/corpus_fastpath/, frames of the established
flows of fuzz_fastpath.c in its format [flow shape*5 fix edits...], and raw
frames [0xff frame]."""
import os
import struct
import sys

from scapy.all import (ARP, Dot1AD, Ether, GRE, ICMP, IP, IPv6, IPv6ExtHdrFragment, fragment, fragment6,
                       IPv6ExtHdrHopByHop, ICMPv6PacketTooBig, TCP, UDP, Dot1Q, raw)

D = "02:00:00:00:00:01"
C = "02:00:00:00:00:99"


def rec(frame, flags=0):
    b = raw(frame)
    return struct.pack("!HB", len(b), flags) + b


def tcp_conv(ip_c, ip_v, ip_r, vport, rport, ipcls=IP, sport=40000):
    e = Ether(src=C, dst=D)
    out = [e / ipcls(src=ip_c, dst=ip_v) / TCP(sport=sport, dport=vport, flags="S", seq=1)]
    out.append(e / ipcls(src=ip_r, dst=ip_c) / TCP(sport=rport, dport=sport, flags="SA", seq=9, ack=2))
    out.append(e / ipcls(src=ip_c, dst=ip_v) / TCP(sport=sport, dport=vport, flags="A", seq=2, ack=10) / b"GET / HTTP/1.0\r\n\r\n")
    out.append(e / ipcls(src=ip_c, dst=ip_v) / TCP(sport=sport, dport=vport, flags="FA", seq=20, ack=10))
    out.append(e / ipcls(src=ip_r, dst=ip_c) / TCP(sport=rport, dport=sport, flags="FA", seq=10, ack=21))
    return out


def frag_seeds(v6):
    """A UDP datagram to a service in fragments: reversed, a duplicate, an
    overlap, and a big one without DF to a TUN server (cut to the MTU)."""
    e = Ether(src=C, dst=D)
    if v6:
        p = IPv6(src="2001:db8::20", dst="fd00::1") / IPv6ExtHdrFragment(id=5) / UDP(sport=5353, dport=53) / (b"f" * 3000)
        fr = [e / f for f in fragment6(p, 1280)]
    else:
        p = IP(src="203.0.113.20", dst="10.0.0.1", id=5) / UDP(sport=5353, dport=53) / (b"f" * 3000)
        fr = [e / f for f in fragment(p, fragsize=1200)]
    out = fr[::-1] + [fr[1], fr[0]]
    bad = fr[1].copy()
    if v6:
        bad[IPv6ExtHdrFragment].offset -= 1
    else:
        bad[IP].frag -= 1
        del bad[IP].chksum
    out.append(bad)
    if not v6:
        out.append(e / IP(src="203.0.113.21", dst="10.0.0.2", flags=0) / TCP(dport=22, flags="S") / (b"x" * 1480))
    return [rec(f) for f in out]


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    seeds = {
        "nat4": [rec(f) for f in tcp_conv("203.0.113.5", "10.0.0.1", "192.168.10.1", 80, 8080)],
        "nat4-partial": [rec(f, 1) for f in tcp_conv("203.0.113.6", "10.0.0.1", "192.168.10.2", 80, 8080)],
        "nat6": [rec(f) for f in tcp_conv("2001:db8::5", "fd00::1", "fd00:10::1", 80, 8080, IPv6)],
        "tun-persist": [rec(f, 2 if i == 3 else 0) for i, f in
                        enumerate(tcp_conv("203.0.113.7", "10.0.0.2", "192.168.20.1", 443, 443))],
        "udp-ops": [rec(Ether(src=C, dst=D) / IP(src="203.0.113.8", dst="10.0.0.1") / UDP(sport=5353, dport=53) / (b"q" * 20))] * 3,
        "udp6": [rec(Ether(src=C, dst=D) / IPv6(src="2001:db8::8", dst="fd00::1") / IPv6ExtHdrHopByHop() / UDP(sport=5353, dport=53) / b"q")],
        "vlan-frag": [rec(Ether(src=C, dst=D) / Dot1Q(vlan=5) / IP(src="203.0.113.9", dst="10.0.0.1", flags="MF", options=[]) / TCP(dport=80, flags="S")),
                      rec(Ether(src=C, dst=D) / IPv6(src="2001:db8::9", dst="fd00::1") / IPv6ExtHdrFragment(offset=0, m=1, id=7) / TCP(dport=80, flags="S"))],
        "fwmark": [rec(Ether(src=C, dst=D) / IP(src="203.0.113.10", dst="10.9.9.9") / TCP(sport=1000, dport=25, flags="S"), 0x10)],
        "icmp-err": [rec(f) for f in tcp_conv("203.0.113.11", "10.0.0.1", "192.168.10.1", 80, 8080)[:2]] + [
            rec(Ether(src=C, dst=D) / IP(src="198.51.100.1", dst="10.0.0.1") / ICMP(type=3, code=4, nexthopmtu=1400) /
                IP(src="10.0.0.1", dst="203.0.113.11") / TCP(sport=80, dport=40000, flags="SA")),
            rec(Ether(src=C, dst=D) / IP(src="192.168.10.1", dst="203.0.113.11") / ICMP(type=3, code=3) /
                IP(src="203.0.113.11", dst="192.168.10.1") / UDP(sport=40000, dport=8080)),
            rec(Ether(src=C, dst=D) / IPv6(src="2001:db8::1", dst="fd00::1") / ICMPv6PacketTooBig(mtu=1280) /
                IPv6(src="fd00::1", dst="2001:db8::5") / TCP(sport=80, dport=40000))],
        "ttl1": [rec(Ether(src=C, dst=D) / IP(src="203.0.113.12", dst="10.0.0.1", ttl=1) / TCP(dport=80, flags="S"))],
        "big-df": [rec(Ether(src=C, dst=D) / IP(src="203.0.113.13", dst="10.0.0.2", flags="DF") / TCP(dport=22, flags="S") / (b"x" * 1460))],
        "frag4": frag_seeds(False),
        "frag6": frag_seeds(True),
        "gre-in": [rec(Ether(src=C, dst=D) / IP(src="203.0.113.14", dst="10.0.0.1") / GRE() / IP() / TCP())],
    }
    for name, recs in seeds.items():
        with open(os.path.join(outdir, "seed-" + name), "wb") as f:
            f.write(b"".join(recs))


# fuzz_fastpath.c's flows: one per service, and the replies of its 7 NAT ones.
FAST_FLOWS = 32


def fast(flow, shape=0, plen=100, tos=0, tcp=0, fix=0, edits=b""):
    """A frame of flow `flow`: shape bits (1 VLAN, 2 DF, 4 checksum-partial,
    8 UDP without checksum, 16 padding, 48 IPv4 options, top two bits the
    TTL: 64, 2, 255, 1), the payload length (0x8000 and up: jumbo), the DS
    field, the TCP flags byte (0xe0 and up: flags & 0x3f), what to
    recompute after the edits (1 lengths, 2 IPv4 header checksum, 4 L4
    checksum, 8 as checksum-partial), the edits (3 bytes each)."""
    return bytes([flow, shape, plen >> 8, plen & 0xff, tos, tcp, fix]) + edits


def fast_seeds(outdir):
    os.makedirs(outdir, exist_ok=True)
    seeds = {"flow%02d" % i: fast(i) for i in range(FAST_FLOWS)}
    seeds.update({
        "partial-vlan": fast(0, shape=0x05, plen=700),
        "partial-gue-remcsum": fast(24, shape=0x04, plen=400),
        "udp-nocsum-pad": fast(2, shape=0x18, plen=3, tcp=20),
        "ttl2-ecn": fast(18, shape=0x40, tos=0x03),
        "jumbo-multibuffer": fast(10, plen=0x8000 | 6000),
        "jumbo-gue-csum": fast(26, plen=0x8000 | 8000),
        "fin": fast(4, tcp=0xf1),
        "no-ack": fast(9, tcp=0xe8),
        "options": fast(0, shape=0x30),
        # the IPv4 total length cut by 8 (a 16-bit field edit), then mended
        "short-tot-len": fast(1, fix=0x06, edits=bytes([0x07, 2, 0x78])),
        # an 802.1ad tag in front of a plain frame
        "qinq-tag": fast(11, edits=bytes([0x1d, 0x00, 0x07])),
        # the UDP length one short, checksum mended
        "udp-len": fast(2, fix=0x04, edits=bytes([0x0f, 4, 0x7f])),
    })
    e = Ether(src=C, dst="02:00:00:00:00:fe")
    raw_frames = {
        "raw-arp": e / ARP(pdst="10.0.0.1"),
        "raw-hbh": e / IPv6(src="2001:db8:c::10", dst="2001:db8::1") / IPv6ExtHdrHopByHop() /
                   UDP(sport=40003, dport=53) / b"q",
        "raw-frag": e / IP(src="192.0.2.10", dst="10.0.0.1", flags="MF") /
                    UDP(sport=40001, dport=53) / (b"f" * 64),
        "raw-qinq": e / Dot1AD(vlan=5) / Dot1Q(vlan=6) / IP(src="192.0.2.10", dst="10.0.0.1") /
                    TCP(sport=40000, dport=80, flags="A") / b"x",
    }
    for name, frame in raw_frames.items():
        seeds[name] = b"\xff" + raw(frame)
    for name, data in seeds.items():
        with open(os.path.join(outdir, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    here = os.path.dirname(__file__)
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus"))
    fast_seeds(sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "corpus_fastpath"))
