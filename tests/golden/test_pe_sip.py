"""The SIP persistence engine (`-p --pe sip`, as the kernel's ip_vs_pe_sip):
real SIP messages over UDP (RFC 3261 INVITE, ACK, BYE and a compact-form
re-INVITE) from several client ports, replayed through lvs-pcap to a DR
service of three servers under rr.  tshark's sip dissector reads the
Call-ID of every frame lvs-pcap sends: all messages of one call reach one
server, whatever port they come from, while new calls are spread by the
scheduler; a datagram without a Call-ID is dropped and counted, as the
kernel drops it."""
from scapy.all import IP, UDP, Ether, Raw

from conftest import CLIENT, GW_MAC, OUR_MAC, VIP, dst_rs, run_replay, tshark_rows

RULES = ["-A -u 10.0.0.1:5060 -s rr -p 300 --pe sip",
         "-a -u 10.0.0.1:5060 -r 192.168.10.1 -g",
         "-a -u 10.0.0.1:5060 -r 192.168.10.2 -g",
         "-a -u 10.0.0.1:5060 -r 192.168.10.3 -g"]


def invite(call_id, port, compact=False, method="INVITE", cseq=1):
    hdr_call = "i" if compact else "Call-ID"
    body = ("v=0\r\no=alice 2890844526 2890844526 IN IP4 %s\r\ns=-\r\n"
            "c=IN IP4 %s\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n" % (CLIENT, CLIENT))
    if method != "INVITE":
        body = ""
    msg = ("%s sip:bob@%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%06d\r\n"
           "Max-Forwards: 70\r\n"
           "To: Bob <sip:bob@%s>\r\n"
           "From: Alice <sip:alice@%s>;tag=1928301774\r\n"
           "%s: %s\r\n"
           "CSeq: %d %s\r\n"
           "Contact: <sip:alice@%s:%d>\r\n"
           "Content-Type: application/sdp\r\n"
           "Content-Length: %d\r\n\r\n%s"
           % (method, VIP, CLIENT, port, port * 10 + cseq, VIP, CLIENT, hdr_call, call_id,
              cseq, method, CLIENT, port, len(body), body))
    return Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP) / \
        UDP(sport=port, dport=5060) / Raw(msg.encode())


FIELDS = ["eth.dst", "sip.Method", "sip.Call-ID", "udp.srcport", "ip.dst"]


def test_calls_stick_to_one_server(tmp_path):
    calls = ["a84b4c76e66710@pc33.example.com", "f81d4fae-7dec-11d0@example.org",
             "3848276298220188511@client.example.net"]
    frames = [
        invite(calls[0], 5060),
        invite(calls[1], 5070),
        invite(calls[2], 5080),
        # the same calls again from other ports: ACK, a compact re-INVITE, BYE
        invite(calls[0], 5062, method="ACK"),
        invite(calls[1], 5072, compact=True, cseq=2),
        invite(calls[0], 5064, method="BYE", cseq=2),
        invite(calls[2], 5082, method="BYE", cseq=2),
    ]
    r = run_replay(RULES, frames, workdir=tmp_path)
    assert r.rc == 0, r.stderr
    rows = tshark_rows(r.out_pcap, FIELDS)
    assert len(rows) == len(frames), (rows, r.stderr)
    server_of = {}
    for row in rows:
        (call,) = row["sip.Call-ID"]
        assert row["ip.dst"] == [VIP]          # DR: the VIP stays
        rs = dst_rs(row)
        server_of.setdefault(call, set()).add(rs)
    # one server per call; rr gave the three calls three servers
    assert all(len(s) == 1 for s in server_of.values()), server_of
    assert len({next(iter(s)) for s in server_of.values()}) == 3, server_of
    assert set(server_of) == set(calls)


def test_no_call_id_is_dropped(tmp_path):
    bad = Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP) / \
        UDP(sport=5090, dport=5060) / Raw(b"OPTIONS sip:bob@10.0.0.1 SIP/2.0\r\n"
                                          b"Via: SIP/2.0/UDP 192.0.2.1:5090\r\n"
                                          b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    r = run_replay(RULES, [bad, invite("ok-call@example.com", 5091)], workdir=tmp_path)
    assert r.rc == 0, r.stderr
    rows = tshark_rows(r.out_pcap, FIELDS)
    assert [row["sip.Call-ID"] for row in rows] == [["ok-call@example.com"]], rows
    assert r.drops() == {"persistence_engine_no_data": 1}, r.stderr
