"""
mediafsd as a privileged system service, end to end: the capabilities it
keeps (read back from /proc, and from `mediactl stats`), --user, the media
scanner process (unprivileged, restarted after a crash, failing closed when
hung), SELinux-disabled behaviour, SIGHUP, the pid file and detaching, the
mount helper, install.sh, the systemd unit and the man pages.
"""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import mfs
import sec_env
from sec_env import CAMERA, GALLERY, MANAGER, NOBODY

CAP = {"chown": 0, "dac_override": 1, "dac_read_search": 2, "fowner": 3, "setgid": 6,
       "setuid": 7, "setpcap": 8, "sys_admin": 21}


def caps_mask(*names):
    return sum(1 << CAP[n] for n in names)


@pytest.fixture
def sec():
    yield from sec_env.sec_tree("svc")


def assert_caps(pid, expected_mask):
    st = sec_env.proc_status(pid)
    want = f"{expected_mask:016x}"
    for key in ("CapEff", "CapPrm", "CapBnd"):
        assert st[key] == want, f"{key} of {pid} is {st[key]}, want {want}: {st}"
    assert st["CapInh"] == "0" * 16, st
    assert st["CapAmb"] == "0" * 16, st
    assert st["NoNewPrivs"] == "1", st


# ------------------------------------------------------------------ capabilities

def test_posix_mode_keeps_exactly_four_capabilities(sec):
    d = sec.start()
    assert_caps(d.proc.pid, caps_mask("chown", "dac_override", "fowner", "sys_admin"))
    st = mfs.stats(sec.mnt)
    assert st["capabilities"] == "cap_chown,cap_dac_override,cap_fowner,cap_sys_admin=ep"
    # and they are what it needs: an app creates a file it then owns
    os.chmod(sec.src, 0o777)
    mfs.run_as(CAMERA, lambda: open(sec.m("mine"), "w").write("x"))
    assert os.stat(sec.s("mine")).st_uid == CAMERA
    assert st["passthrough_active"] == 1


def test_policy_mode_drops_chown_too(sec):
    sec.register_apps()
    d = sec.start(policy=True)
    assert_caps(d.proc.pid, caps_mask("dac_override", "fowner", "sys_admin"))
    st = mfs.stats(sec.mnt)
    assert st["capabilities"] == "cap_dac_override,cap_fowner,cap_sys_admin=ep"
    assert st["mode"] == "policy"


@pytest.mark.parametrize("mode", ["passthrough", "server"])
def test_user_option_switches_uid_and_keeps_working(sec, mode):
    os.chmod(sec.src, 0o777)
    with open(sec.s("root-only"), "wb") as f:
        f.write(b"secret-ish")
    os.chmod(sec.s("root-only"), 0o600)
    d = sec.start(["--user", "daemon"] + mfs.MODE_ARGS[mode])
    st = sec_env.proc_status(d.proc.pid)
    assert st["Uid"].split() == ["1"] * 4, st["Uid"]
    assert st["Gid"].split() == ["1"] * 4, st["Gid"]
    assert st["Groups"] == "", st["Groups"]
    assert_caps(d.proc.pid, caps_mask("chown", "dac_override", "fowner", "sys_admin"))
    # root's file (0600) is still served to root, an app's file to the app
    with open(sec.m("root-only"), "rb") as f:
        assert f.read() == b"secret-ish"

    def app_io():
        with open(sec.m("app-file"), "w") as f:
            f.write("app data")
        os.utime(sec.m("app-file"), (1000000, 2000000))
        with open(sec.m("app-file")) as f:
            return f.read()
    assert mfs.run_as(CAMERA, app_io) == "app data"
    assert os.stat(sec.s("app-file")).st_uid == CAMERA
    assert os.stat(sec.s("app-file")).st_mtime == 2000000
    stats = mfs.stats(sec.mnt)
    if mode == "passthrough":
        assert stats["opens_passthrough"] >= 2, stats
        assert stats["passthrough_active"] == 1
    # a clean stop still unmounts (CAP_SYS_ADMIN kept for exactly that)
    assert d.stop() == 0, d.log()
    assert not mfs.is_mounted(sec.mnt)


def test_user_option_unknown_user_fails_before_mounting(sec):
    r = subprocess.run([mfs.mediafsd(), "-f", "--user", "no-such-user-xyz", sec.src, sec.mnt],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "no-such-user-xyz" in r.stderr
    assert not mfs.is_mounted(sec.mnt)


# ------------------------------------------------------------------ the scanner

def test_media_parsing_runs_in_an_unprivileged_scanner(sec):
    sec.register_apps()
    d = sec.start(policy=True)
    os.makedirs(sec.s("0", "DCIM"), exist_ok=True)
    sec_env.make_gps_jpeg(sec.s("0", "DCIM", "gps.jpg"))
    # the gallery (no ACCESS_MEDIA_LOCATION) reads a redacted copy: parsed
    data = mfs.run_as(GALLERY, lambda: open(sec.m("0", "DCIM", "gps.jpg"), "rb").read())
    assert data != open(sec.s("0", "DCIM", "gps.jpg"), "rb").read()
    assert len(data) == os.path.getsize(sec.s("0", "DCIM", "gps.jpg"))
    assert b"\x00" * 16 in data
    spawner, workers = sec_env.scanner_processes(d.proc.pid)
    assert workers, "no scan worker after a scan"
    for pid in [spawner] + workers:
        st = sec_env.proc_status(pid)
        assert st["Uid"].split() == [str(NOBODY)] * 4, st
        assert st["Gid"].split() == [str(NOBODY)] * 4, st
        assert st["Groups"] == "", st
        for key in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
            assert st[key] == "0" * 16, (pid, key, st[key])
        assert st["NoNewPrivs"] == "1", st
        # no descriptor of the daemon's: only its socket and /dev/null
        fds = os.listdir(f"/proc/{pid}/fd")
        targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds]
        assert all(t == "/dev/null" or t.startswith("socket:") for t in targets), targets
    # the daemon itself parses nothing: no media library mapped is not
    # checkable, but its stats say policy mode with the dropped set
    assert mfs.stats(sec.mnt)["capabilities"] == "cap_dac_override,cap_fowner,cap_sys_admin=ep"


def test_scanner_crash_is_survived_and_replaced(sec):
    sec.register_apps()
    d = sec.start(policy=True)
    os.makedirs(sec.s("0", "DCIM"), exist_ok=True)
    sec_env.make_gps_jpeg(sec.s("0", "DCIM", "a.jpg"))
    mfs.run_as(GALLERY, lambda: open(sec.m("0", "DCIM", "a.jpg"), "rb").read())
    spawner, workers = sec_env.scanner_processes(d.proc.pid)
    for w in workers:
        os.kill(w, signal.SIGSEGV)   # what a parser crash looks like
    for w in workers:
        assert sec_env.wait_gone(w), f"worker {w} survived SIGSEGV"
    # a new file is scanned by a new worker; the daemon never noticed
    sec_env.make_gps_jpeg(sec.s("0", "DCIM", "b.jpg"))
    data = mfs.run_as(GALLERY, lambda: open(sec.m("0", "DCIM", "b.jpg"), "rb").read())
    assert b"\x00" * 16 in data
    assert d.alive()
    _, new_workers = sec_env.scanner_processes(d.proc.pid)
    assert new_workers and not set(new_workers) & set(workers)


def test_hung_scanner_fails_closed_with_eio_then_recovers(sec):
    sec.register_apps()
    d = sec.start(policy=True)
    os.makedirs(sec.s("0", "DCIM"), exist_ok=True)
    sec_env.make_gps_jpeg(sec.s("0", "DCIM", "a.jpg"))
    mfs.run_as(GALLERY, lambda: open(sec.m("0", "DCIM", "a.jpg"), "rb").read())
    _, workers = sec_env.scanner_processes(d.proc.pid)
    for w in workers:
        os.kill(w, signal.SIGSTOP)   # what a parser stuck in a loop looks like
    try:
        sec_env.make_gps_jpeg(sec.s("0", "DCIM", "hang.jpg"))
        t0 = time.monotonic()
        got = mfs.errno_of(GALLERY, lambda: open(sec.m("0", "DCIM", "hang.jpg"), "rb").read())
        took = time.monotonic() - t0
        assert got == errno.EIO, f"expected EIO for an unscannable file, got {mfs.ename(got)}"
        assert 5 < took < 30, f"the scan timed out after {took:.1f}s"
        assert "policy unavailable" in d.log()
        # the next request gets a new worker; the same file now scans fine
        data = mfs.run_as(GALLERY,
                          lambda: open(sec.m("0", "DCIM", "hang.jpg"), "rb").read())
        assert b"\x00" * 16 in data
        assert d.alive()
    finally:
        for w in workers:
            sec_env.kill_quietly(w)


def test_mediactl_scan_parses_in_an_unprivileged_child(sec):
    sec.register_apps()
    os.makedirs(sec.s("0", "DCIM"), exist_ok=True)
    sec_env.make_gps_jpeg(sec.s("0", "DCIM", "s.jpg"))
    r = sec_env.ctl("--db", sec.db, "--source", sec.src, "scan", "--json")
    assert json.loads(r.stdout)["media_scanned"] == 1
    r = sec_env.ctl("--db", sec.db, "--source", sec.src, "check", str(GALLERY),
                    sec.s("0", "DCIM", "s.jpg"), "--json")
    assert "redact" in r.stdout


# ------------------------------------------------------------------ SELinux

def test_selinux_disabled_means_one_log_line_and_no_change(sec):
    with open("/sys/fs/selinux/enforce") if os.path.exists("/sys/fs/selinux/enforce") \
            else open(os.devnull) as f:
        assert f.read() == "", "this test expects SELinux to be disabled on the machine"
    sec.register_apps()
    # a context condition in the database changes nothing while disabled
    sec_env.ctl("--db", sec.db, "grant", str(GALLERY), "READ_MEDIA_IMAGES", "--context",
                "untrusted_app")
    d = sec.start(policy=True)
    os.makedirs(sec.s("0", "Pictures"), exist_ok=True)
    with open(sec.s("0", "Pictures", "p.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert mfs.run_as(GALLERY, lambda: len(open(sec.m("0", "Pictures", "p.png"),
                                                 "rb").read())) == 72
    mfs.run_as(MANAGER, lambda: os.mkdir(sec.m("0", "Download", "newdir")))
    mfs.run_as(MANAGER, lambda: open(sec.m("0", "Download", "newdir", "f.txt"), "w").write("x"))
    lines = [ln for ln in d.log().splitlines() if "SELinux" in ln]
    assert len(lines) == 1, lines
    assert "disabled" in lines[0]
    assert sec.stop_all() == []
    lines = [ln for ln in d.log().splitlines() if "SELinux" in ln]
    assert len(lines) == 1, lines


def test_mediactl_grant_context_validation(sec):
    sec.register_apps()
    r = sec_env.ctl("--db", sec.db, "grant", str(GALLERY), "READ_MEDIA_IMAGES", "--context",
                    "bad context", check=False)
    assert r.returncode == 2 and "invalid SELinux context" in r.stderr
    r = sec_env.ctl("--db", sec.db, "grant", "10999", "READ_MEDIA_IMAGES", "--context",
                    "untrusted_app", check=False)
    assert r.returncode == 1
    r = sec_env.ctl("--db", sec.db, "revoke", str(GALLERY), "READ_MEDIA_IMAGES", "--context",
                    "x", check=False)
    assert r.returncode == 2
    sec_env.ctl("--db", sec.db, "grant", str(GALLERY), "READ_MEDIA_IMAGES", "--context",
                "u:r:untrusted_app:s0:c1,c2")
    sec_env.ctl("--db", sec.db, "revoke", str(GALLERY), "READ_MEDIA_IMAGES")
    r = sec_env.ctl("--db", sec.db, "app", "list", "--json")
    perms = {a["uid"]: a["permissions"] for a in json.loads(r.stdout)}
    assert "READ_MEDIA_IMAGES" not in perms[GALLERY]


# ------------------------------------------------------------------ signals, pid file

def test_sighup_reopens_the_log_and_keeps_the_mount(sec):
    log = os.path.join(sec.base, "mediafsd.log")
    d = sec.start(["--log-file", log])
    with open(sec.s("f"), "w") as f:
        f.write("x")
    os.rename(log, log + ".1")          # logrotate's move
    d.proc.send_signal(signal.SIGHUP)
    mfs.wait_for(lambda: os.path.exists(log), 5, what="a new log file after SIGHUP")
    mfs.wait_for(lambda: "log reopened" in open(log).read(), 5, what="the reopen line")
    assert d.alive() and mfs.is_fuse_mounted(sec.mnt)
    with open(sec.m("f")) as f:
        assert f.read() == "x"
    for _ in range(3):
        d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert d.alive() and mfs.is_fuse_mounted(sec.mnt)
    assert "privileges dropped" in open(log + ".1").read()
    assert re.search(r"^\d{4}-\d\d-\d\dT[\d:.]+ \[\d+\] mediafsd: info: ",
                     open(log).read(), re.M)


def test_background_start_writes_pid_file_before_returning(sec):
    pid_file = os.path.join(sec.base, "run", "mediafsd.pid")
    os.mkdir(os.path.dirname(pid_file))
    r = subprocess.run([mfs.mediafsd(), "--pid-file", pid_file, sec.src, sec.mnt],
                       capture_output=True, text=True, timeout=30)
    try:
        assert r.returncode == 0, r.stderr
        assert mfs.is_fuse_mounted(sec.mnt)
        with open(pid_file) as f:      # no wait: it must exist already
            pid = int(f.read())
        assert mfs.stats(sec.mnt)["pid"] == pid
        assert sec_env.proc_status(pid)["CapEff"] == f"{caps_mask('chown', 'dac_override', 'fowner', 'sys_admin'):016x}"
        os.kill(pid, signal.SIGTERM)
        mfs.wait_for(lambda: not mfs.is_mounted(sec.mnt), 20, what="unmount after SIGTERM")
        mfs.wait_for(lambda: not os.path.exists(pid_file), 5, what="pid file removal")
    finally:
        mfs.lazy_umount(sec.mnt)


def test_background_start_failure_reports_status_1(sec):
    # --user of a user that cannot be resolved fails before mounting; a
    # start-up failure after detaching must still reach the caller:
    # an unwritable pid-file location fails after the mount is up.
    r = subprocess.run([mfs.mediafsd(), "--pid-file", "/proc/no/such/dir/pid", sec.src,
                        sec.mnt], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    assert "--pid-file" in r.stderr
    mfs.wait_for(lambda: not mfs.is_mounted(sec.mnt), 10, what="no mount left behind")


# ------------------------------------------------------------------ mount helper

HELPER = os.path.join(mfs.REPO_ROOT, "packaging", "mount.fuse.mediafs")


def test_mount_helper_translates_options(sec):
    sec.register_apps()
    env = dict(os.environ, MEDIAFSD=mfs.mediafsd())
    r = subprocess.run([HELPER, sec.src, sec.mnt, "-f", "-o",
                        f"db={sec.db},threads=3,nofail,defaults,x-systemd.after=foo,ro,"
                        "no_passthrough,log_level=debug,redact_copy_max=8M,"
                        "redact_copy_budget=1G"],
                       capture_output=True, text=True, env=env, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [mfs.mediafsd(), "--db", sec.db, "--threads", "3",
                                "--no-passthrough", "--log-level", "debug",
                                "--redact-copy-max", "8M", "--redact-copy-budget", "1G",
                                "-o", "ro", sec.src, sec.mnt]
    r = subprocess.run([HELPER, sec.src, sec.mnt, "-o", "db=x,bogus=1"], capture_output=True,
                       text=True, env=env, timeout=20)
    assert r.returncode != 0 and "bogus" in r.stderr
    assert not mfs.is_mounted(sec.mnt)


def test_mount_t_fuse_mediafs_through_mount8(sec):
    sec.register_apps()
    link = "/sbin/mount.fuse.mediafs"
    if os.path.lexists(link):
        assert os.path.realpath(link).endswith("mount.fuse.mediafs"), \
            f"{link} exists and is not a mediafs helper"
        created = False
    else:
        os.symlink(HELPER, link)
        created = True
    try:
        env = dict(os.environ, MEDIAFSD=mfs.mediafsd())
        r = subprocess.run(["mount", "-t", "fuse.mediafs", sec.src, sec.mnt, "-o",
                            f"db={sec.db},threads=4,nofail"],
                           capture_output=True, text=True, env=env, timeout=30)
        assert r.returncode == 0, r.stderr
        assert mfs.is_fuse_mounted(sec.mnt)
        st = mfs.stats(sec.mnt)
        assert st["mode"] == "policy"
        with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        assert b"--threads" in argv and b"4" in argv
        r = subprocess.run(["umount", sec.mnt], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        mfs.wait_for(lambda: sec_env.wait_gone(st["pid"], 0.1), 20, what="daemon exit")
    finally:
        mfs.lazy_umount(sec.mnt)
        if created:
            os.unlink(link)


# ------------------------------------------------------------------ install, unit, man

def test_install_script_puts_everything_in_place(sec):
    prefix = os.path.join(sec.base, "prefix")
    env = dict(os.environ, MEDIAFS_SKIP_BUILD="1", MEDIAFS_NO_SYSTEM_LINKS="1",
               MEDIAFSD=mfs.mediafsd(), MEDIACTL=mfs.mediactl())
    r = subprocess.run(["bash", os.path.join(mfs.REPO_ROOT, "scripts", "install.sh"), prefix],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    expect = {"sbin/mediafsd": 0o755, "bin/mediactl": 0o755, "sbin/mount.fuse.mediafs": 0o755,
              "lib/systemd/system/mediafsd@.service": 0o644,
              "share/man/man8/mediafsd.8": 0o644, "share/man/man1/mediactl.1": 0o644}
    for rel, mode in expect.items():
        p = os.path.join(prefix, rel)
        assert os.path.isfile(p), rel
        assert os.stat(p).st_mode & 0o777 == mode, (rel, oct(os.stat(p).st_mode))
    unit = open(os.path.join(prefix, "lib/systemd/system/mediafsd@.service")).read()
    assert f"ExecStart={prefix}/sbin/mediafsd --pid-file" in unit
    assert "@SBINDIR@" not in unit
    r = subprocess.run([os.path.join(prefix, "sbin/mediafsd"), "--version"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("mediafsd ")
    # the unit file is valid for systemd (binary paths included)
    unit_dir = os.path.join(sec.base, "units")
    os.mkdir(unit_dir)
    shutil.copy(os.path.join(prefix, "lib/systemd/system/mediafsd@.service"), unit_dir)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "mediafsd@media.service"],
                       cwd=unit_dir, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    # the installed helper finds the installed daemon next to it
    r = subprocess.run([os.path.join(prefix, "sbin/mount.fuse.mediafs"), "S", "M", "-f"],
                       capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "MEDIAFSD"})
    assert r.stdout.split() == [os.path.join(prefix, "sbin/mediafsd"), "S", "M"], r


def test_unit_has_no_option_that_would_hide_the_mount():
    unit = open(os.path.join(mfs.REPO_ROOT, "packaging", "mediafsd@.service")).read()
    settings = {ln.split("=", 1)[0] for ln in unit.splitlines()
                if "=" in ln and not ln.startswith("#")}
    for bad in ("PrivateTmp", "PrivateDevices", "ProtectSystem", "ProtectHome",
                "ReadWritePaths", "ReadOnlyPaths", "ProtectKernelTunables",
                "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
                "ProtectClock", "TemporaryFileSystem", "PrivateMounts", "MountAPIVFS"):
        assert bad not in settings, f"{bad} gives the unit its own mount namespace"
    for good in ("NoNewPrivileges", "CapabilityBoundingSet", "DeviceAllow", "PIDFile",
                 "RestrictAddressFamilies"):
        assert good in settings
    assert "Type=forking" in unit and "DeviceAllow=/dev/fuse rw" in unit


def _man_text(page):
    r = subprocess.run(["man", "--warnings", "-l", os.path.join(mfs.REPO_ROOT, "docs", page)],
                       capture_output=True, text=True, env=dict(os.environ, MANWIDTH="100",
                                                                LC_ALL="C.UTF-8"))
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", f"troff warnings in {page}:\n{r.stderr}"
    return r.stdout


def test_mediafsd_man_page_documents_every_option():
    text = _man_text("mediafsd.8")
    helptext = subprocess.run([mfs.mediafsd(), "--help"], capture_output=True,
                              text=True).stdout
    options = set(re.findall(r"(--[a-z][a-z-]+)", helptext))
    assert {"--user", "--pid-file", "--log-file", "--log-level"} <= options
    for opt in options:
        assert opt in text, f"{opt} (from --help) missing in mediafsd.8"
    for word in ("CAP_SYS_ADMIN", "SIGHUP", "mount.fuse.mediafs", "SELinux", "nobody"):
        assert word in text


def test_mediactl_man_page_documents_every_command():
    text = _man_text("mediactl.1")
    helptext = mfs.run_mediactl("--help").stdout
    synopsis = helptext.split("SYNOPSIS", 1)[1].split("DESCRIPTION", 1)[0]
    for line in synopsis.splitlines():
        words = [w for w in line.split() if not w.startswith(("-", "[", "("))
                 and w.isalpha() and w.islower() and w != "mediactl"]
        for w in words[:2]:
            assert re.search(rf"\b{w}\b", text), f"'{w}' missing in mediactl.1"
    options = set(re.findall(r"(--[a-z][a-z-]+)", helptext))
    for opt in options:
        assert opt in text, f"{opt} (from --help) missing in mediactl.1"
