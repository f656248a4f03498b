#!/usr/bin/python3
"""Traffic for the lvs-pcap demo: 300 short HTTP connections from varied
clients to the NAT service 10.0.0.1:80, as the director would receive them.

  gen_traffic.py syn OUT.pcap
      only the clients' SYNs (pass 1: lets the replay tool tell us which real
      server the scheduler gives each connection);
  gen_traffic.py full PASS1_OUT.pcap OUT.pcap
      whole conversations -- SYN, SYN-ACK, ACK, GET, response, FIN, FIN,
      ACK -- with every reply coming from the real server that pass 1 showed
      the connection was sent to.  The SYNs keep their order, so a replay of
      this capture makes the same scheduling decisions.
"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, TCP, Raw, rdpcap, wrpcap  # noqa: E402

OUR_MAC = "02:00:00:00:00:01"
GW_MAC = "02:00:00:00:00:fe"
VIP, VPORT, RPORT = "10.0.0.1", 80, 8080
SERVER_MAC = {"192.168.10.1": "02:00:00:00:10:01",
              "192.168.10.2": "02:00:00:00:10:02",
              "192.168.10.3": "02:00:00:00:10:03"}
NCONN = 300
T0 = 1700000000.0
GAP = 0.005    # a new connection every 5 ms
STEP = 0.001   # 1 ms between the packets of one connection


def clients():
    nets = ["203.0.113.", "198.51.100.", "192.0.2."]
    for i in range(NCONN):
        yield i, nets[i % 3] + str(1 + (i * 37) % 250), 32768 + (i * 7919) % 28000


def c_pkt(ip, port, flags, seq, ack, payload=b""):
    p = Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=ip, dst=VIP, ttl=61) / TCP(
        sport=port, dport=VPORT, flags=flags, seq=seq, ack=ack, window=64240)
    return p / Raw(payload) if payload else p


def s_pkt(rip, ip, port, flags, seq, ack, payload=b""):
    p = Ether(src=SERVER_MAC[rip], dst=OUR_MAC) / IP(src=rip, dst=ip, ttl=64) / TCP(
        sport=RPORT, dport=port, flags=flags, seq=seq, ack=ack, window=65160)
    return p / Raw(payload) if payload else p


def gen_syn(out):
    pk = []
    for i, ip, port in clients():
        p = c_pkt(ip, port, "S", 1000 + i, 0)
        p.time = T0 + i * GAP
        pk.append(p)
    wrpcap(out, pk)


def gen_full(pass1, out):
    server = {}
    for p in rdpcap(pass1):
        if IP in p and TCP in p:
            server[(p[IP].src, p[TCP].sport)] = p[IP].dst
    pk = []
    for i, ip, port in clients():
        rip = server.get((ip, port))
        if rip not in SERVER_MAC:
            sys.exit("gen_traffic: connection %s:%d was not scheduled in pass 1" % (ip, port))
        get = b"GET /item/%d HTTP/1.1\r\nHost: www.example\r\n\r\n" % i
        body = b"served by %s\n" % rip.encode()
        resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        c, s = 1000 + i, 50000 + i
        conv = [
            c_pkt(ip, port, "S", c, 0),
            s_pkt(rip, ip, port, "SA", s, c + 1),
            c_pkt(ip, port, "A", c + 1, s + 1),
            c_pkt(ip, port, "PA", c + 1, s + 1, get),
            s_pkt(rip, ip, port, "PA", s + 1, c + 1 + len(get), resp),
            c_pkt(ip, port, "FA", c + 1 + len(get), s + 1 + len(resp)),
            s_pkt(rip, ip, port, "FA", s + 1 + len(resp), c + 2 + len(get)),
            c_pkt(ip, port, "A", c + 2 + len(get), s + 2 + len(resp)),
        ]
        for k, p in enumerate(conv):
            p.time = T0 + i * GAP + k * STEP
            pk.append((p.time, len(pk), p))
    pk.sort(key=lambda x: (x[0], x[1]))
    wrpcap(out, [p for _, _, p in pk])


def main(argv):
    if len(argv) == 3 and argv[1] == "syn":
        gen_syn(argv[2])
    elif len(argv) == 4 and argv[1] == "full":
        gen_full(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
