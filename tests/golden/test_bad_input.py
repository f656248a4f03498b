"""Bad input: a broken rules file, a file that is not a capture, malformed
frames.  Each gets a clear message or a named, counted drop -- never a
crash, never output."""
import subprocess

from scapy.all import Ether, IP, TCP, Raw

from conftest import (CLIENT, GW_MAC, LVS_PCAP, OUR_MAC, VIP, c2v,
                      default_env_args, parse_counts)

RULES = ["-A -t 10.0.0.1:80 -s rr",
         "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 1"]


def test_rules_syntax_error_names_the_line(replay):
    rules = RULES + ["-a -t 10.0.0.1:80 -r 192.168.10.2:8080 -m -w banana"]
    r = replay(rules, [c2v(40000, "S")])
    assert r.rc != 0
    assert ":3:" in r.stderr, r.stderr
    assert r.rows == []


def test_rules_unknown_option_names_the_line(replay):
    rules = ["-A -t 10.0.0.1:80 -s rr", "", "-a -t 10.0.0.1:80 -r 192.168.10.2:8080 --bogus"]
    r = replay(rules, [c2v(40000, "S")])
    assert r.rc != 0
    assert ":3:" in r.stderr, r.stderr


def test_rules_semantic_error_names_the_line(replay):
    """A destination for a service that does not exist (the kernel's
    ESRCH, ipvsadm's "Service not defined")."""
    rules = RULES + ["-a -t 10.0.0.9:80 -r 192.168.10.2:8080 -m"]
    r = replay(rules, [c2v(40000, "S")])
    assert r.rc != 0
    assert ":3:" in r.stderr, r.stderr


def test_missing_rules_file(tmp_path):
    (tmp_path / "in.pcap").write_bytes(b"")
    r = subprocess.run([LVS_PCAP, "-r", str(tmp_path / "nope.rules"), "-i",
                        str(tmp_path / "in.pcap"), "-o", str(tmp_path / "o.pcap")] +
                       default_env_args(), capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "nope.rules" in r.stderr


def test_input_not_a_pcap(replay):
    r = replay(RULES, None, raw_input=b"this is not a capture file\n" * 4)
    assert r.rc != 0
    assert str(r.in_pcap) in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "Sanitizer" not in r.stderr


def test_bad_command_line_exits_2(tmp_path):
    r = subprocess.run([LVS_PCAP, "--mtu", "12"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    r = subprocess.run([LVS_PCAP, "-r", "x", "-i", "y", "-o", "z", "--mac", "02:00:00:00:00"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--mac" in r.stderr


def test_truncated_ipv4_header_is_dropped_and_counted(replay):
    bad = Ether(src=GW_MAC, dst=OUR_MAC, type=0x0800) / Raw(bytes(IP(src=CLIENT, dst=VIP))[:12])
    r = replay(RULES, [bad, c2v(40000, "S")])
    assert r.rc == 0, r.stderr
    assert "lvs-pcap: drop ipv4_truncated 1" in r.stderr.splitlines(), r.stderr
    assert len(r.rows) == 1     # the good SYN after it still goes through
    c = parse_counts(r.stderr)
    assert c["rx"] == 2 and c["drop"] == 1 and c["tx"] == 1


def test_bad_ipv4_header_checksum_is_dropped(replay):
    bad = c2v(40000, "S")
    bad[IP].chksum = 0x1234
    r = replay(RULES, [bad])
    assert r.rc == 0, r.stderr
    assert r.rows == []
    assert r.drops() == {"ipv4_bad_header_checksum": 1}, r.stderr


def test_truncated_tcp_header_is_dropped(replay):
    tcp = bytes(TCP(sport=40000, dport=80, flags="S"))[:10]
    # The IP header is honest (total length 30): only the TCP header is short.
    bad = Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP, proto=6, len=30) / Raw(tcp)
    r = replay(RULES, [bad])
    assert r.rc == 0, r.stderr
    assert r.rows == []
    assert r.drops() == {"tcp_truncated": 1}, r.stderr


def test_ip_total_length_beyond_frame_is_truncated(replay):
    bad = c2v(40000, "S")
    bad[IP].len = 400
    r = replay(RULES, [bad])
    assert r.rc == 0, r.stderr
    assert r.rows == []
    assert r.drops() == {"ipv4_truncated": 1}, r.stderr


def test_ip_total_length_below_header_is_dropped(replay):
    bad = c2v(40000, "S")
    bad[IP].len = 16
    r = replay(RULES, [bad])
    assert r.rc == 0, r.stderr
    assert r.rows == []
    assert r.drops() == {"ipv4_bad_total_length": 1}, r.stderr


def test_later_fragment_to_a_service_is_dropped(replay):
    """A non-first fragment has no ports: it waits for its first (frag.h),
    and without one it is dropped when its datagram times out (30 s); a
    fragment that is not the director's is the host's."""
    frag = Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst=VIP, proto=6, frag=185,
                                               id=0x10) / Raw(b"f" * 64)
    other = Ether(src=GW_MAC, dst=OUR_MAC) / IP(src=CLIENT, dst="10.0.0.99", proto=6,
                                                frag=185, id=0x11) / Raw(b"f" * 64)
    later = other.copy()
    later[IP].id = 0x12
    t = 1700000000.0
    r = replay(RULES, [frag, other, later], times=[t, t + 0.001, t + 31])
    assert r.rc == 0, r.stderr
    assert r.rows == []
    assert r.drops() == {"fragment_timeout": 1}, r.stderr
    assert parse_counts(r.stderr)["pass"] == 2


def test_unresolved_next_hop_is_dropped(replay):
    """No --neigh for the server and no --gw: counted, not sent anywhere."""
    r = replay(RULES, [c2v(40000, "S")], ["--mac", OUR_MAC, "--src", "10.0.0.254"],
               env=False)
    assert r.rc == 0, r.stderr
    assert r.rows == []
    assert r.drops() == {"next_hop_unresolved": 1}, r.stderr


def test_tunnel_without_source_stops_at_start(tmp_path):
    """A tunnel server needs --src of its family for the outer header:
    without it lvs-pcap stops before reading the capture, naming the
    server, instead of dropping every frame as next_hop_unresolved."""
    (tmp_path / "in.pcap").write_bytes(b"")
    for rs, have in (("192.168.10.3:80", "--src 2001:db8::fe"),
                     ("[2001:db8::10]:80", "--src 10.0.0.254")):
        (tmp_path / "rules").write_text("-A -t 10.0.0.1:80 -s rr\n"
                                        "-a -t 10.0.0.1:80 -r %s -i -w 1\n" % rs)
        r = subprocess.run([LVS_PCAP, "-r", str(tmp_path / "rules"), "-i",
                            str(tmp_path / "in.pcap"), "-o", str(tmp_path / "o.pcap"),
                            "--mac", OUR_MAC, "--gw", GW_MAC] + have.split(),
                           capture_output=True, text=True, timeout=30)
        fam = "6" if "[" in rs else "4"
        assert r.returncode == 2, r.stderr
        assert r.stderr == ("lvs-pcap: %s: tunnel real server %s needs --src with the "
                            "director's IPv%s address (the outer source)\n"
                            % (tmp_path / "rules", rs, fam)), r.stderr
        assert not (tmp_path / "o.pcap").exists()
