"""The Debian package (`make deb`): installed with dpkg, its unit checked
by systemd-analyze and its own ExecStart line run by hand in a network
namespace (PID 1 is not systemd here), lvsadm and the ipvsadm alternative
talking to that lvsd, then purged with nothing left behind."""
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LVS_BUILD", REPO / "build"))
UNIT = Path("/lib/systemd/system/lvsd.service")
# Where the package's files and its maintainer scripts' traces could be.
ROOTS = ["/etc", "/lib/systemd", "/usr/sbin", "/usr/bin", "/usr/share/man/man8",
         "/usr/share/doc", "/var/lib/dpkg/alternatives", "/var/lib/systemd"]
NAME = re.compile(r"lvsd|lvsadm|ipvsadm")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("dpkg") is None,
                                reason="needs root and dpkg")


def run(*args, check=True, **kw):
    kw.setdefault("timeout", 120)
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(map(str, args)), r.returncode,
                                                    r.stdout, r.stderr))
    return r


def dpkg(*args):
    """dpkg, waiting a little if another dpkg or apt holds its lock."""
    for _ in range(30):
        r = run("dpkg", *args, check=False, timeout=300)
        if r.returncode == 0 or "lock" not in r.stderr:
            break
        time.sleep(2)
    assert r.returncode == 0, "dpkg %s: %s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def traces():
    """Every path under ROOTS whose name mentions lvsd, lvsadm or ipvsadm."""
    found = set()
    for root in ROOTS:
        for dirpath, dirnames, filenames in os.walk(root):
            for n in dirnames + filenames:
                if NAME.search(n):
                    found.add(os.path.join(dirpath, n))
    return found


def the_deb():
    debs = sorted((BUILD / "deb").glob("lvsd_*.deb"))
    if not debs:
        run("make", "-s", "-C", REPO, "deb", "BUILD=%s" % BUILD, timeout=900)
        debs = sorted((BUILD / "deb").glob("lvsd_*.deb"))
    assert debs, "make deb built no package in %s" % (BUILD / "deb")
    return debs[-1]


def env_file(path):
    """KEY=value lines of an EnvironmentFile (quotes removed), as systemd reads them."""
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        k, v = line.split("=", 1)
        env[k.strip()] = " ".join(shlex.split(v))
    return env


def exec_start(unit_text, env):
    """The unit's ExecStart= as argv, $VAR expanded and split as systemd does."""
    line = next(l for l in unit_text.splitlines() if l.startswith("ExecStart="))
    words = []
    for w in shlex.split(line[len("ExecStart="):]):
        m = re.fullmatch(r"\$(\w+)", w)
        words += env.get(m.group(1), "").split() if m else [w]
    return words


def test_deb_install_run_purge():
    if run("dpkg-query", "-W", "-f=${Status}", "lvsd", check=False).stdout.strip():
        pytest.skip("an lvsd package is already known to dpkg here")
    deb = the_deb()
    before = traces()
    ns = "pk%d" % os.getpid()
    proc = None
    clean_env = {k: v for k, v in os.environ.items() if k != "LVSD_CTL_SOCKET"}
    try:
        dpkg("-i", str(deb))
        text = UNIT.read_text()
        # the unit names the programs where the package put them
        assert "ExecStart=/usr/sbin/lvsd -n $LVSD_OPTS" in text, text
        assert "/usr/local" not in text
        r = run("systemd-analyze", "verify", UNIT, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert os.path.realpath("/usr/bin/ipvsadm") == "/usr/sbin/lvsadm"
        assert os.path.realpath("/usr/bin/ipvsadm-restore") == "/usr/sbin/lvsadm"
        for page in ("lvsd.8.gz", "lvsadm.8.gz"):
            assert (Path("/usr/share/man/man8") / page).is_file()

        # the unit's own command line, with /etc/default/lvsd's options and
        # an interface of the test's namespace in place of the default
        env = env_file("/etc/default/lvsd")
        assert "LVSD_OPTS" in env
        env["LVSD_OPTS"] = (env["LVSD_OPTS"] + " -i pkv0").strip()
        argv = exec_start(text, env)
        assert argv[:2] == ["/usr/sbin/lvsd", "-n"], argv
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "link", "add", "pkv0", "type", "veth", "peer", "name", "pkv1")
        run("ip", "-n", ns, "link", "set", "pkv0", "up")
        run("ip", "-n", ns, "link", "set", "pkv1", "up")
        proc = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=clean_env)
        deadline = time.monotonic() + 20
        while True:
            r = run("ip", "netns", "exec", ns, "/usr/sbin/lvsadm", "-Ln", check=False,
                    env=clean_env)
            if r.returncode == 0 or proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.returncode == 0, (r.stderr, proc.poll())
        assert r.stdout.startswith("IP Virtual Server version 1.2.1 (size="), r.stdout
        # ipvsadm's name reaches the same lvsd
        run("ip", "netns", "exec", ns, "/usr/bin/ipvsadm", "-A", "-t", "10.99.0.1:80",
            env=clean_env)
        r = run("ip", "netns", "exec", ns, "/usr/sbin/lvsadm", "-S", "-n", env=clean_env)
        assert r.stdout == "-A -t 10.99.0.1:80 -s wlc\n"
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        run("ip", "netns", "del", ns, check=False)
        if run("dpkg-query", "-W", "-f=${Status}", "lvsd", check=False).stdout.strip():
            dpkg("--purge", "lvsd")
    assert proc is None or proc.returncode == 0, proc.stdout.read() if proc else ""
    assert not run("dpkg-query", "-W", "-f=${Status}", "lvsd", check=False).stdout.strip()
    assert traces() == before, sorted(traces() ^ before)
