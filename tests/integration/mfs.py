"""
mfs.py - helpers for the mediafs end-to-end tests: where the binaries are,
how to mount and unmount a real mediafsd, how to act as an app (a uid), and
how to read the daemon's counters.

Everything here is real: a real FUSE mount, real uids (fork + setresuid, or
setpriv), real files. Nothing is mocked. A helper that cannot do its job
raises, so the test using it fails loudly.
"""
import atexit
import ctypes
import errno
import fcntl
import json
import os
import pickle
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import traceback
from pathlib import Path

# tests/integration/mfs.py -> the repository root is two levels up.
REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"   # Debian's python with python3-pytest, never pyenv's
APP_UIDS = (10001, 10002)     # unprivileged "apps"
MOUNT_TIMEOUT = 15.0          # seconds for a mount to come up
STOP_TIMEOUT = 20.0           # seconds for the daemon to exit after a signal


def binary(env_name, bazel_rel):
    """Path of a binary: $ENV_NAME if set, else REPO_ROOT/bazel-bin/<rel>."""
    p = os.environ.get(env_name)
    if p:
        return os.path.abspath(p)
    return str(REPO_ROOT / "bazel-bin" / bazel_rel)


def mediafsd():
    return binary("MEDIAFSD", "daemon/mediafsd")


def mediactl():
    return binary("MEDIACTL", "policy/mediactl")


# ---------------------------------------------------------------- mountinfo

def _unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mountinfo():
    """Entries of /proc/self/mountinfo as dicts, in mount order."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.rstrip("\n").split(" - ", 1)
            a = pre.split(" ")
            b = post.split(" ")
            out.append({
                "id": int(a[0]), "parent": int(a[1]), "dev": a[2],
                "root": _unescape(a[3]), "mountpoint": _unescape(a[4]),
                "mount_opts": a[5].split(","), "fstype": b[0],
                "source": _unescape(b[1]),
                "super_opts": b[2].split(",") if len(b) > 2 else [],
            })
    return out


def mount_entry(mountpoint):
    """The topmost mount at `mountpoint` (an absolute, canonical path) or None."""
    mp = os.path.abspath(mountpoint)
    found = None
    for e in mountinfo():
        if e["mountpoint"] == mp:
            found = e
    return found


def is_fuse_mounted(mountpoint):
    e = mount_entry(mountpoint)
    return e is not None and (e["fstype"] == "fuse" or e["fstype"].startswith("fuse."))


def is_mounted(mountpoint):
    return mount_entry(mountpoint) is not None


def lazy_umount(mountpoint):
    """Best-effort cleanup: detach whatever is mounted at mountpoint."""
    for _ in range(8):
        if not is_mounted(mountpoint):
            return
        subprocess.run(["umount", "-l", mountpoint], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(cond, timeout, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- tmp trees

def world_tmp_base():
    """A base directory every test uid can traverse (Bazel's TEST_TMPDIR lives
    under /root, which apps cannot enter)."""
    base = os.environ.get("MEDIAFS_IT_TMP", "/tmp")
    os.makedirs(base, exist_ok=True)
    return base


TREE_PREFIX = "mfs-e2e-"
MY_TREES = []  # every tree this test process made: the only ones it may force-clean


def make_tree():
    """Returns (base, source, mountpoint): fresh dirs, all 0755, owned by root.
    SOURCE and MOUNTPOINT have different parents so that '..' tests can tell
    them apart: base/s/src and base/m/mnt."""
    base = tempfile.mkdtemp(prefix=TREE_PREFIX, dir=world_tmp_base())
    os.chmod(base, 0o755)
    MY_TREES.append(base)
    src = os.path.join(base, "s", "src")
    mnt = os.path.join(base, "m", "mnt")
    for d in (os.path.join(base, "s"), src, os.path.join(base, "m"), mnt):
        os.mkdir(d)
        os.chmod(d, 0o755)
    return base, src, mnt


def remove_tree(base):
    """Removes a test tree, but never descends into something still mounted."""
    for e in reversed(mountinfo()):
        if e["mountpoint"].startswith(base + "/"):
            lazy_umount(e["mountpoint"])
    shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- the daemon

class DaemonError(AssertionError):
    pass


STARTED = []  # every mediafsd Popen this test process started


def emergency_abort():
    """The watchdog's last resort when a test hangs in the file system: abort
    the FUSE connection of every mount in a tree this process made (every
    blocked request then fails with ENOTCONN) and SIGKILL every foreground
    daemon it started and every background one serving one of its trees.
    Never touches anyone else's mounts or daemons."""
    mine = tuple(t + "/" for t in MY_TREES)
    for e in mountinfo():
        if e["mountpoint"].startswith(mine) and e["fstype"].startswith("fuse"):
            minor = e["dev"].split(":")[1]
            try:
                with open(f"/sys/fs/fuse/connections/{minor}/abort", "w") as f:
                    f.write("1")
            except OSError:
                pass
    for p in STARTED:
        if p.poll() is None:
            p.kill()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and os.path.basename(argv[0]) == b"mediafsd" and \
                    any(a.startswith(os.fsencode(m)) for a in argv for m in mine):
                try:
                    os.kill(int(d), signal.SIGKILL)
                except ProcessLookupError:
                    pass


class Daemon:
    """One foreground mediafsd process serving SOURCE at MOUNTPOINT."""

    def __init__(self, source, mountpoint, args=(), log_path=None, foreground_flag="-f",
                 wrapper=()):
        self.wrapper = list(wrapper)  # e.g. ["prlimit", "--nofile=1024:4096"]: execs mediafsd
        self.source = source
        self.mountpoint = mountpoint
        self.args = list(args)
        self.log_path = log_path or (mountpoint.rstrip("/") + ".mediafsd.log")
        self.foreground_flag = foreground_flag
        self.proc = None
        self.returncode = None

    @property
    def argv(self):
        fg = [self.foreground_flag] if self.foreground_flag else []
        return self.wrapper + [mediafsd()] + fg + self.args + [self.source, self.mountpoint]

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def start(self, timeout=MOUNT_TIMEOUT):
        """Starts the daemon and returns once the FUSE mount is listed in
        /proc/self/mountinfo and answers a stat. Raises DaemonError if it exits
        first or does not mount in time."""
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=logf, start_new_session=True)
        STARTED.append(self.proc)
        deadline = time.monotonic() + timeout
        while not is_fuse_mounted(self.mountpoint):
            rc = self.proc.poll()
            if rc is not None:
                raise DaemonError(f"{' '.join(self.argv)} exited with {rc} before mounting;"
                                  f" log:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise DaemonError(f"{' '.join(self.argv)} did not mount within {timeout}s;"
                                  f" log:\n{self.log()}")
            time.sleep(0.01)
        os.stat(self.mountpoint)  # the mount answers
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` and waits for exit; returns the exit status (negative
        for death by signal, as subprocess reports it). Raises DaemonError when
        the daemon does not exit in time (it is then killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise DaemonError(f"mediafsd did not exit within {timeout}s of signal {sig};"
                              f" log:\n{self.log()}")
        return self.returncode

    def kill(self):
        """SIGKILL (if still running) and reap; leaves the mount as it is."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            try:
                self.returncode = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        """Fallback for teardown: never leave a process or a mount behind."""
        self.kill()
        lazy_umount(self.mountpoint)


class MountedTree:
    """What the mount fixtures hand to tests."""

    def __init__(self, base, src, mnt, daemon, mode):
        self.base = base
        self.src = src
        self.mnt = mnt
        self.daemon = daemon
        self.mode = mode  # "passthrough" or "server"

    def m(self, *parts):
        """Path through the mount."""
        return os.path.join(self.mnt, *parts)

    def s(self, *parts):
        """Path in SOURCE (the backing tree)."""
        return os.path.join(self.src, *parts)

    def stats(self):
        return stats(self.mnt)

    def dir(self, rel, uid=0, mode=0o755, gid=None):
        """Creates SOURCE/rel (owner uid:gid, exact mode) behind the daemon's
        back and returns its path through the mount. Call before the mount has
        looked at the name, so no kernel cache is stale."""
        p = self.s(rel)
        os.makedirs(p, exist_ok=True)
        os.chown(p, uid, uid if gid is None else gid)
        os.chmod(p, mode)
        return self.m(rel)

    def file(self, rel, data=b"", uid=0, mode=0o644, gid=None):
        """Creates SOURCE/rel with data (owner uid:gid, exact mode); returns
        its path through the mount."""
        p = self.s(rel)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, uid, uid if gid is None else gid)
        os.chmod(p, mode)
        return self.m(rel)

    def read_src(self, rel):
        with open(self.s(rel), "rb") as f:
            return f.read()

    @property
    def passthrough(self):
        return self.mode == "passthrough"


MODE_ARGS = {"passthrough": [], "server": ["--no-passthrough"]}


# ---------------------------------------------------------------- mediactl

STATS_KEYS = ("opens_passthrough", "opens_server", "opens_denied", "server_read_bytes",
              "server_write_bytes", "backing_ids_open")


_app_copies = {}


def app_copy(path):
    """A copy of file `path` that every uid can read and execute. Build outputs
    and checkouts may live under /root (0700), where apps cannot reach them;
    an app that fails to exec a tool proves nothing."""
    if path not in _app_copies:
        d = tempfile.mkdtemp(prefix=TREE_PREFIX + "bin-", dir=world_tmp_base())
        os.chmod(d, 0o755)
        dst = os.path.join(d, os.path.basename(path))
        shutil.copy2(path, dst)
        os.chmod(dst, 0o755)
        _app_copies[path] = dst
        atexit.register(shutil.rmtree, d, True)
    return _app_copies[path]


def run_mediactl(*args, uid=None, timeout=20):
    """Runs mediactl (as root, or as uid via setpriv on a copy it can exec)."""
    if uid is None:
        argv = [mediactl()] + list(args)
    else:
        argv = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups",
                app_copy(mediactl())] + list(args)
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def stats(mountpoint):
    """`mediactl stats MOUNTPOINT --json` as root, checked and parsed."""
    r = run_mediactl("stats", mountpoint, "--json")
    assert r.returncode == 0, f"mediactl stats failed rc={r.returncode}: {r.stderr!r} {r.stdout!r}"
    try:
        d = json.loads(r.stdout)
    except ValueError as e:
        raise AssertionError(f"mediactl stats --json printed non-JSON {r.stdout!r}: {e}")
    assert isinstance(d, dict), f"stats is not a JSON object: {r.stdout!r}"
    for k in STATS_KEYS:
        assert k in d, f"stats lacks key {k}: {d}"
        assert isinstance(d[k], int) and not isinstance(d[k], bool), \
            f"stats key {k} is not an integer: {d[k]!r}"
    return d


# ---------------------------------------------------------------- acting as an app

class AppCrash(AssertionError):
    """The app code raised something other than OSError."""


def _drop_to(uid, gid, groups, umask):
    os.setgroups(list(groups))
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.umask(umask)
    os.chdir("/")


class _Chan:
    """Length-prefixed pickle messages over a pair of pipe fds."""

    def __init__(self, rfd, wfd):
        self.rfd = rfd
        self.wfd = wfd

    def send(self, obj):
        data = pickle.dumps(obj)
        data = struct.pack("<Q", len(data)) + data
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def _read_exact(self, n, deadline):
        buf = b""
        while len(buf) < n:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out waiting for the other process")
                r, _, _ = select.select([self.rfd], [], [], left)
                if not r:
                    continue
            chunk = os.read(self.rfd, n - len(buf))
            if not chunk:
                raise EOFError("peer closed the channel")
            buf += chunk
        return buf

    def recv(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        (n,) = struct.unpack("<Q", self._read_exact(8, deadline))
        return pickle.loads(self._read_exact(n, deadline))


_stragglers = []


def _reap_pid(pid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() > deadline:
            _stragglers.append(pid)
            return False
        time.sleep(0.01)


def reap_stragglers(timeout=10):
    """Reaps children that could not exit earlier (call once daemons are gone)."""
    for pid in list(_stragglers):
        _stragglers.remove(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _reap_pid(pid, timeout)


class Spawned:
    """A forked child running fn(chan, *args) as uid/gid with no supplementary
    groups. The parent talks to it with send()/recv(); result() returns fn's
    return value or raises the OSError (same errno) fn raised."""

    _EXIT = "__mediafs_exit__"

    def __init__(self, uid, fn, *args, gid=None, groups=(), umask=0o022):
        gid = uid if gid is None else gid
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(p2c_w)
                os.close(c2p_r)
                chan = _Chan(p2c_r, c2p_w)
                try:
                    _drop_to(uid, gid, groups, umask)
                    res = ("ok", fn(chan, *args))
                except OSError as e:
                    res = ("oserror", e.errno, str(e))
                except BaseException as e:  # noqa: B902 - report everything
                    res = ("crash", f"{e!r}\n{traceback.format_exc()}")
                try:
                    chan.send((self._EXIT, res))
                except Exception:
                    chan.send((self._EXIT, ("crash", "unpicklable result " + repr(res)[:500])))
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(p2c_r)
        os.close(c2p_w)
        self.pid = pid
        self.uid = uid
        self.chan = _Chan(c2p_r, p2c_w)
        self._final = None

    def send(self, obj):
        self.chan.send(obj)

    def recv(self, timeout=30):
        """Next message from the child. Raises if the child finished instead."""
        msg = self.chan.recv(timeout)
        if isinstance(msg, tuple) and len(msg) == 2 and msg[0] == self._EXIT:
            self._final = msg[1]
            self._reap()
            self._raise_final()
            raise AssertionError(f"app uid {self.uid} finished early with {msg[1]!r}")
        return msg

    def _reap(self, timeout=30):
        """Closes the channel and reaps the child within `timeout` seconds.
        A child that cannot exit is stuck in an unanswered FUSE request
        (closing a file waits uninterruptibly for FLUSH): it is left for
        reap_stragglers() once the daemon is gone, and False returned."""
        os.close(self.chan.rfd)
        os.close(self.chan.wfd)
        pid, self.pid = self.pid, None
        return _reap_pid(pid, timeout)

    def _raise_final(self):
        kind = self._final[0]
        if kind == "oserror":
            raise OSError(self._final[1], f"[as uid {self.uid}] {self._final[2]}")
        if kind == "crash":
            raise AppCrash(f"[as uid {self.uid}] {self._final[1]}")

    def result(self, timeout=120):
        if self._final is None:
            while True:
                msg = self.chan.recv(timeout)
                if isinstance(msg, tuple) and len(msg) == 2 and msg[0] == self._EXIT:
                    self._final = msg[1]
                    break
            if not self._reap():
                raise AssertionError(f"app uid {self.uid} finished but could not exit within "
                                     "30 s (stuck in an unanswered FUSE request)")
        self._raise_final()
        return self._final[1]

    def kill(self):
        """SIGKILL and reap (bounded: see _reap)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(timeout=5)


def run_as(uid, fn, *args, gid=None, groups=(), umask=0o022, timeout=120):
    """Runs fn(*args) in a forked child as uid (gid defaults to uid, no
    supplementary groups; uid 0 keeps root's capabilities). Returns fn's
    (picklable) result, or raises OSError with the child's exact errno."""
    s = Spawned(uid, lambda _chan: fn(*args), gid=gid, groups=groups, umask=umask)
    try:
        return s.result(timeout)
    finally:
        s.kill()


def errno_of(uid, fn, *args, **kw):
    """0 if fn(*args) succeeds as uid, else the errno it failed with."""
    try:
        run_as(uid, fn, *args, **kw)
        return 0
    except OSError as e:
        return e.errno


def ename(n):
    return "OK" if n == 0 else errno.errorcode.get(n, str(n))


def assert_errno(expected, uid, fn, *args, **kw):
    got = errno_of(uid, fn, *args, **kw)
    assert got == expected, f"as uid {uid}: expected {ename(expected)}, got {ename(got)}"


# ---------------------------------------------------------------- syscalls Python lacks

_libc = ctypes.CDLL(None, use_errno=True)
_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                            ctypes.c_uint]
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10


def renameat2(old, new, flags):
    if _libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


def fallocate(fd, mode, offset, length):
    if _libc.fallocate(fd, mode, offset, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def drop_caches():
    """Writes back and drops the page, dentry and inode caches (root only)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def fuse_dev(mountpoint):
    return os.stat(mountpoint).st_dev


def tree_snapshot(root):
    """{relpath: ("d", None) | ("f", bytes)} of a tree, symlinks etc. excluded."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirnames:
            snap[os.path.normpath(os.path.join(rel, d))] = ("d", None)
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                snap[os.path.normpath(os.path.join(rel, f))] = ("f", fh.read())
    return snap


def lock_nb_errno(path, how):
    """errno of a non-blocking flock on a fresh open of path (0 = acquired)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)
