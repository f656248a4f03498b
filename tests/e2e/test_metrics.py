"""`lvsd --metrics` in the NAT lab, lvsd started from a keepalived.conf
(`lvsd -n -f FILE --metrics :PORT`), three real servers with TCP_CHECK,
nginx stopped on the third so its check takes it out:

  - /metrics, scraped with curl inside the director namespace after
    traffic through the VIP, agrees with `lvsadm -L -n --stats --exact`
    (connections, packets and bytes per service and per real server, the
    node_ipvs_* totals with their sum) and with `lvsadm -L -n` (weights,
    active and inactive connections);
  - the health families agree with `lvsadm --checks`: the stopped server
    is lvsd_backend_up 0 with its reason, its check down with failures;
  - the status page, opened in headless Chromium inside the namespace,
    shows the service, its servers and their health once its script has
    fetched /status.json.

Each test has its own lab (prefix lvm<pid>_<n>), removed at teardown.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from .conftest import LVSD, Lvsd, own_lab, parse_list, parse_stats
from .test_checks import reload_conf, wait_for

PORT = 9108


@pytest.fixture
def nat_lab():
    yield from own_lab("nat", "lvm")


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_prom(text):
    """Exposition text -> {name: [(labels dict, value)]}; checks that every
    sample's family has its HELP and TYPE lines before it."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, kind = line.split()
            typed.add(fam)
            if kind == "histogram":
                typed.update(fam + x for x in ("_bucket", "_sum", "_count"))
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        assert name in typed, "%s before its TYPE line" % name
        lab = {}
        if labels:
            pos = 0
            while pos < len(labels):
                lm = _LABEL.match(labels, pos)
                assert lm, "bad labels: %r" % labels
                lab[lm.group(1)] = unescape(lm.group(2))
                pos = lm.end()
        out.setdefault(name, []).append((lab, float(value)))
    return out


def one(prom, name, **labels):
    got = [v for lab, v in prom.get(name, []) if all(lab.get(k) == x for k, x in labels.items())]
    assert len(got) == 1, "%s%r: %r" % (name, labels, prom.get(name))
    return got[0]


def scrape(lab, path="/metrics"):
    r = lab.run("director", "curl", "-sf", "-m", "5", "http://127.0.0.1:%d%s" % (PORT, path))
    return r.stdout


def check_lines(text):
    """`lvsadm --checks` -> {"TCP_CHECK 1.2.3.4:80": (up, probes, failed)}."""
    out = {}
    for m in re.finditer(r"^\s+(\S+ \S+)\s+(up|down)\s+probes (\d+) failed (\d+) ", text, re.M):
        out[m.group(1)] = (m.group(2) == "up", int(m.group(3)), int(m.group(4)))
    return out


COUNTERS = ["connections_total", "incoming_packets_total", "outgoing_packets_total",
            "incoming_bytes_total", "outgoing_bytes_total"]


def start(lab, tmp_path, rips):
    path = tmp_path / "keepalived.conf"
    path.write_text(reload_conf(lab.env["VIP4"], [(r, i + 1) for i, r in enumerate(rips)]))
    d = Lvsd(lab, ["-n", "-f", str(path), "--metrics", ":%d" % PORT])
    lab.lvsds.append(d)
    d.wait_ready()
    return d


def test_metrics_agree_with_lvsadm(nat_lab, tmp_path):
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    rips = lab.rips4[:3]
    svc = "TCP %s:80" % vip
    nginx = os.path.join(lab.env["LAB_DIR"], "rs3")
    lab.run("rs3", "nginx", "-e", nginx + "/error.log", "-p", nginx, "-c",
            nginx + "/nginx.conf", "-s", "stop")
    d = start(lab, tmp_path, rips)
    wait_for(lambda: "%s:80" % rips[2] not in parse_list(lab.lvsadm("-L", "-n").stdout)[svc]
             ["dests"], 10, "rs3 out of the service")
    seen = lab.count_servers("client", vip, n=30)
    assert "error" not in seen, seen

    # counters settle once the last FIN/ACKs went through; compare a scrape
    # taken between two identical listings
    for _ in range(20):
        time.sleep(0.6)
        before = lab.lvsadm("-L", "-n", "--stats", "--exact").stdout
        text = scrape(lab)
        after = lab.lvsadm("-L", "-n", "--stats", "--exact").stdout
        if before == after:
            break
    else:
        raise AssertionError("counters never settled")
    prom = parse_prom(text)
    stats = parse_stats(after)
    assert stats[svc][0] == 30, after

    svc_l = dict(local_address=vip, local_port="80", proto="TCP", local_mark="")
    for k, name in enumerate(COUNTERS):
        assert one(prom, "lvsd_service_" + name, **svc_l) == stats[svc][k], name
        assert one(prom, "node_ipvs_" + name) == stats[svc][k], name
    for rip in rips[:2]:
        key = "%s -> %s:80" % (svc, rip)
        for k, name in enumerate(COUNTERS):
            assert one(prom, "lvsd_backend_" + name, remote_address=rip, remote_port="80",
                       **svc_l) == stats[key][k], (key, name)

    listing = parse_list(lab.lvsadm("-L", "-n").stdout)[svc]["dests"]
    assert set(listing) == {"%s:80" % r for r in rips[:2]}
    for rip in rips[:2]:
        fwd, weight, act, inact = listing["%s:80" % rip]
        bl = dict(remote_address=rip, remote_port="80", **svc_l)
        assert one(prom, "node_ipvs_backend_weight", **bl) == weight
        assert one(prom, "node_ipvs_backend_connections_active", **bl) == act
        assert one(prom, "node_ipvs_backend_connections_inactive", **bl) == inact
        assert one(prom, "lvsd_backend_up", **bl) == 1
        assert one(prom, "lvsd_backend_quiesced", **bl) == 0
    # the stopped server: out of node_ipvs_* as out of the listing, down here
    down = dict(remote_address=rips[2], remote_port="80", **svc_l)
    assert not [1 for lab_, _ in prom["node_ipvs_backend_weight"]
                if lab_["remote_address"] == rips[2]]
    assert one(prom, "lvsd_backend_up", **down) == 0
    reason = [lab_["reason"] for lab_, _ in prom["lvsd_backend_up"]
              if lab_["remote_address"] == rips[2]][0]
    assert "Connection refused" in reason, reason
    assert one(prom, "lvsd_backend_configured_weight", **down) == 3

    # health checks against lvsadm --checks (probes go on: at least as many)
    checks = check_lines(lab.lvsadm("--checks").stdout)
    assert len(checks) == 3, checks
    for rip in rips:
        up, probes, failed = checks["TCP_CHECK %s:80" % rip]
        cl = dict(check="TCP_CHECK", remote_address=rip, remote_port="80")
        assert one(prom, "lvsd_check_up", **cl) == (1 if up else 0), rip
        assert one(prom, "lvsd_check_probes_total", **cl) <= probes
        assert one(prom, "lvsd_check_failures_total", **cl) <= failed
        assert 0 <= one(prom, "lvsd_check_last_duration_seconds", **cl) < 2
    assert checks["TCP_CHECK %s:80" % rips[2]][0] is False
    # the probes' start lateness: a histogram over every probe started
    late = sorted((float(lab_["le"]), v) for lab_, v in
                  prom["lvsd_check_start_lateness_seconds_bucket"])
    assert late[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(late, late[1:])), late
    assert late[-1][1] == one(prom, "lvsd_check_start_lateness_seconds_count")
    assert late[-1][1] >= sum(v for _, v in prom["lvsd_check_probes_total"]) > 0
    assert one(prom, "lvsd_check_failures_total", check="TCP_CHECK",
               remote_address=rips[2]) >= 1

    # the daemon's own figures
    assert one(prom, "lvsd_frames_forwarded_total") > 0
    assert one(prom, "lvsd_connections_max") > 0
    assert one(prom, "lvsd_connections") >= 0
    assert one(prom, "lvsd_drops_total", reason="tcp_new_flow_without_syn") >= 0
    assert one(prom, "lvsd_control_longest_callback_seconds") >= 0

    status = json.loads(scrape(lab, "/status.json"))
    (s,) = status["services"]
    assert s["name"] == "TCP  %s:80" % vip
    assert {x["address"]: x["health"] for x in s["servers"]} == \
        {rips[0]: "up", rips[1]: "up", rips[2]: "down"}
    r = lab.run("director", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:%d/nothing" % PORT)
    assert r.stdout == "404"
    assert lab.stop_lvsd() == [0], d.output()


def chromium_dom(lab, url, tmp_path):
    """The page's DOM after its script ran for ~3 s of virtual time, from
    headless Chromium inside the director namespace; bounded in time (the
    whole process group is killed if it overstays)."""
    cmd = ["ip", "netns", "exec", lab.ns("director"), "chromium", "--headless",
           "--no-sandbox", "--disable-gpu", "--user-data-dir=%s" % (tmp_path / "chromium"),
           "--virtual-time-budget=3000", "--dump-dom", url]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("chromium did not finish in 60 s")
    assert p.returncode == 0, out
    return out


def test_status_page(nat_lab, tmp_path):
    lab, vip = nat_lab, nat_lab.env["VIP4"]
    rips = lab.rips4[:3]
    nginx = os.path.join(lab.env["LAB_DIR"], "rs3")
    lab.run("rs3", "nginx", "-e", nginx + "/error.log", "-p", nginx, "-c",
            nginx + "/nginx.conf", "-s", "stop")
    start(lab, tmp_path, rips)
    wait_for(lambda: '"health":"down"' in scrape(lab, "/status.json"), 10, "rs3 down")
    lab.count_servers("client", vip, n=10)
    dom = chromium_dom(lab, "http://127.0.0.1:%d/" % PORT, tmp_path)
    assert "TCP  %s:80 wrr" % vip in dom, dom
    for rip in rips[:2]:
        assert re.search(r'<tr class="server up"><td>\W+%s:80</td>' % re.escape(rip), dom), dom
    assert re.search(r'<tr class="server down"><td>\W+%s:80</td>' % re.escape(rips[2]), dom), dom
    assert "down: connect: Connection refused" in dom, dom
    assert re.search(r"TCP_CHECK %s:80</td><td class=\"down\">down" % re.escape(rips[2]), dom)
    assert '<p id="err"></p>' in dom, dom  # no failed update
    assert lab.stop_lvsd() == [0]
