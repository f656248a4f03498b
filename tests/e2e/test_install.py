"""`make install` puts lvsd, lvsadm, the man pages and the systemd unit in
place, and the ipvsadm names for lvsadm where no ipvsadm is installed."""
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LVS_BUILD", REPO / "build"))


def test_make_install_into_destdir(tmp_path):
    dest = tmp_path / "root"
    r = subprocess.run(["make", "-s", "-C", str(REPO), "install", "DESTDIR=%s" % dest,
                        "BUILD=%s" % BUILD],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    sbin = dest / "usr/local/sbin"
    man8 = dest / "usr/local/share/man/man8"
    for name in ("lvsd", "lvsadm"):
        assert os.access(sbin / name, os.X_OK), name
        assert (man8 / (name + ".8")).is_file()
    unit = (dest / "etc/systemd/system/lvsd.service").read_text()
    # generated from lvsd.service.in: every program where it was installed
    assert "ExecStart=/usr/local/sbin/lvsd -n" in unit
    assert "/usr/local/sbin/lvsadm -R < /etc/lvsd/rules" in unit
    assert "@SBINDIR@" not in unit and "/usr/sbin/" not in unit
    if shutil.which("ipvsadm", path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
        for name in ("ipvsadm", "ipvsadm-save", "ipvsadm-restore"):
            assert os.readlink(sbin / name) == "lvsadm"
        # The installed name behaves as ipvsadm: -h answers without a daemon.
        h = subprocess.run([str(sbin / "ipvsadm"), "-h"], capture_output=True, text=True)
        assert h.returncode == 0 and "-A" in h.stdout + h.stderr
    r = subprocess.run(["make", "-s", "-C", str(REPO), "uninstall", "DESTDIR=%s" % dest],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (sbin / "lvsd").exists() and not (sbin / "ipvsadm").exists()
