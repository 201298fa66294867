"""
sec_env.py - helpers for the service, hostile-input and soak tests
(test_service.py, test_hostile.py, test_soak.py), built on mfs.py (used
read-only).

Mount points are named "sec_<tag>" under a "<mfs.TREE_PREFIX>sec-" tree: never a
basename ending in "mnt", which a colleague's tests use to find (and kill)
their own daemons. Everything is real: real mounts, real uids, real SQLite
files, real media made by ffmpeg and exiftool; a missing tool fails.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import mfs

# Apps of user 0 (uid / 100000 == 0), registered by policy_tree().
MANAGER = 10301     # com.sec.files: MANAGE_EXTERNAL_STORAGE (may create anywhere)
GALLERY = 10302     # com.sec.gallery: READ_MEDIA_IMAGES (+VIDEO), no location
CAMERA = 10303      # com.sec.camera: no permission; owns what it creates
OTHER = 10304       # com.sec.other: no permission
APPS = {
    MANAGER: ("com.sec.files", ("MANAGE_EXTERNAL_STORAGE",)),
    GALLERY: ("com.sec.gallery", ("READ_MEDIA_IMAGES", "READ_MEDIA_VIDEO")),
    CAMERA: ("com.sec.camera", ()),
    OTHER: ("com.sec.other", ()),
}
NOBODY = 65534


class SecTree:
    """base/s/src (SOURCE), base/m/sec_<tag> (MOUNTPOINT), base/db/policy.db."""

    def __init__(self, tag):
        prefix = getattr(mfs, "TREE_PREFIX", "mediafs-it-") + "sec-"
        self.base = tempfile.mkdtemp(prefix=prefix, dir=mfs.world_tmp_base())
        if hasattr(mfs, "MY_TREES"):
            mfs.MY_TREES.append(self.base)   # so the suite's watchdog may clean it
        os.chmod(self.base, 0o755)
        self.src = os.path.join(self.base, "s", "src")
        self.mnt = os.path.join(self.base, "m", "sec_" + tag)
        self.db_dir = os.path.join(self.base, "db")
        self.db = os.path.join(self.db_dir, "policy.db")
        for d in (os.path.join(self.base, "s"), self.src, os.path.join(self.base, "m"),
                  self.mnt, self.db_dir):
            os.mkdir(d)
            os.chmod(d, 0o755)
        self.daemons = []

    def m(self, *parts):
        return os.path.join(self.mnt, *parts)

    def s(self, *parts):
        return os.path.join(self.src, *parts)

    def start(self, args=(), policy=False, mnt=None, **kw):
        argv = list(args)
        if policy:
            argv = ["--db", self.db] + argv
        d = mfs.Daemon(self.src, mnt or self.mnt, argv, **kw)
        self.daemons.append(d)
        d.start()
        return d

    def register_apps(self):
        """Registers APPS in the database (before or while the daemon runs)."""
        for uid, (pkg, perms) in APPS.items():
            ctl("--db", self.db, "app", "add", "--uid", str(uid), "--package", pkg)
            for perm in perms:
                ctl("--db", self.db, "grant", str(uid), perm)

    def stop_all(self):
        """SIGTERM every daemon still running; each must exit 0 and unmount."""
        problems = []
        for d in self.daemons:
            if d.proc is not None and d.proc.poll() is None:
                rc = d.stop()
                if rc != 0:
                    problems.append(f"mediafsd exited {rc}; log:\n{d.log()[-3000:]}")
                if mfs.is_mounted(d.mountpoint):
                    problems.append(f"{d.mountpoint} still mounted after exit")
        # Only now: a dead daemon's cleanup detaches its mount point, which a
        # later daemon may be serving again.
        for d in self.daemons:
            d.cleanup()
        return problems

    def cleanup(self):
        for d in self.daemons:
            d.cleanup()
        mfs.remove_tree(self.base)


def sec_tree(name):
    """Body of the `sec` fixtures: a SecTree, then a check that every daemon
    it started stopped cleanly, then its removal."""
    t = SecTree(name)
    yield t
    problems = t.stop_all()
    t.cleanup()
    assert not problems, "\n".join(problems)


def ctl(*args, check=True, uid=None, timeout=60):
    """mediactl ARGS as root (or uid); with check, a failure raises."""
    r = mfs.run_mediactl(*args, uid=uid, timeout=timeout)
    if check:
        assert r.returncode == 0, f"mediactl {' '.join(args)}: rc={r.returncode} " \
                                  f"{r.stderr!r} {r.stdout!r}"
    return r


# ------------------------------------------------------------------ /proc

def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def children(pid):
    """pids whose parent is pid (all of its threads' children)."""
    kids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            pass
    return kids


def comm(pid):
    """pid's command name, or "" when it has exited meanwhile."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def scanner_processes(daemon_pid):
    """(spawner_pid, [worker pids]) of the daemon's media scanner
    (named mfs-scanner and mfs-scan-worker by index/scan_sandbox.c)."""
    spawners = [c for c in children(daemon_pid) if comm(c) == "mfs-scanner"]
    assert len(spawners) == 1, \
        f"expected one mfs-scanner child of {daemon_pid}: {children(daemon_pid)}"
    workers = [c for c in children(spawners[0]) if comm(c) == "mfs-scan-worker"]
    return spawners[0], workers


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    return int(proc_status(pid)["VmRSS"].split()[0])


def daemon_pid(d):
    """The pid serving the mount (the foreground daemon's own)."""
    return d.proc.pid


# ------------------------------------------------------------------ media

def make_gps_jpeg(path, size=64):
    """A real JPEG with EXIF GPS, made by ffmpeg + exiftool."""
    for tool in ("ffmpeg", "exiftool"):
        assert shutil.which(tool), f"{tool} is required"
    tmp = path + ".tmp.jpg"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size={size}x{size}", "-frames:v", "1", tmp],
                   check=True, stdin=subprocess.DEVNULL)
    subprocess.run(["exiftool", "-q", "-q", "-m", "-overwrite_original",
                    "-GPSLatitude=48.8566", "-GPSLatitudeRef=N", "-GPSLongitude=2.3522",
                    "-GPSLongitudeRef=E", tmp], check=True, stdin=subprocess.DEVNULL)
    with open(tmp, "rb") as f:
        data = f.read()
    os.unlink(tmp)
    if path:
        with open(path, "wb") as f:
            f.write(data)
    return data


def wait_gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            st = proc_status(pid)
            if st.get("State", "").startswith("Z"):
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True     # reaped between kill(0) and reading status
        time.sleep(0.02)
    return False


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
