"""
Fixtures of the mediafs end-to-end suite.

- check_environment (session, autouse): root, /dev/fuse, setpriv, and built
  mediafsd/mediactl binaries (from $MEDIAFSD/$MEDIACTL, else
  <repo>/bazel-bin/...; built with bazel when missing and not under Bazel).
  Anything missing fails every test; nothing is skipped.
- tree: a fresh base/s/src + base/m/mnt pair, not mounted.
- mount: mediafsd -f over `tree`, parametrized "passthrough" and "server"
  (--no-passthrough). Teardown: SIGTERM, exit status 0, mount gone.
- pt_mount: the same, passthrough only (for tests where the data path does
  not matter).
- daemon_factory: start more daemons with arbitrary options; all are stopped
  (and checked) at teardown.
"""
import os
import shutil
import signal
import subprocess
import threading

import pytest

import mfs


def _is_executable(p):
    return os.path.isfile(p) and os.access(p, os.X_OK)


@pytest.fixture(scope="session", autouse=True)
def check_environment():
    problems = []
    if os.geteuid() != 0:
        problems.append("the suite must run as root (it mounts and switches uids)")
    if not os.path.exists("/dev/fuse"):
        problems.append("/dev/fuse is missing")
    for tool in ("setpriv", "umount", "fusermount3"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} not found on PATH")
    if not _is_executable(mfs.PYTHON):
        problems.append(f"{mfs.PYTHON} missing")
    bins = (mfs.mediafsd(), mfs.mediactl())
    missing = [b for b in bins if not _is_executable(b)]
    if missing and "TEST_SRCDIR" not in os.environ and shutil.which("bazel"):
        r = subprocess.run(["bazel", "build", "//daemon:mediafsd", "//policy:mediactl"],
                           cwd=mfs.REPO_ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True)
        if r.returncode != 0:
            problems.append("bazel build //daemon:mediafsd //policy:mediactl failed:\n"
                            + r.stderr[-4000:])
        missing = [b for b in bins if not _is_executable(b)]
    for b in missing:
        problems.append(f"binary not built: {b}")
    if problems:
        pytest.fail("environment check failed:\n  " + "\n  ".join(problems), pytrace=False)
    os.chdir("/")  # never keep a cwd inside a mount


# Per-test limit; MEDIAFS_IT_WATCHDOG overrides it (0: off), a test may ask
# for more with @pytest.mark.watchdog(seconds).
WATCHDOG_SECONDS = float(os.environ.get("MEDIAFS_IT_WATCHDOG", "240"))


@pytest.fixture(autouse=True)
def watchdog(request):
    """A hung daemon must fail the test, not hang the suite: past the limit
    (function-scope set-up, test and teardown) the FUSE connections of this
    process's test mounts are aborted and its daemons killed, which unblocks
    whatever waits on them; the test then fails here."""
    limit = WATCHDOG_SECONDS
    marker = request.node.get_closest_marker("watchdog")
    if marker and limit:
        limit = max(limit, float(marker.args[0]))
    if not limit:
        yield
        return
    fired = threading.Event()

    def fire():
        fired.set()
        mfs.emergency_abort()

    timer = threading.Timer(limit, fire)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
    mfs.reap_stragglers()
    if fired.is_set():
        pytest.fail(f"watchdog: the test ran longer than {limit}s; its FUSE "
                    "connections were aborted and its daemons killed", pytrace=False)


@pytest.fixture
def tree():
    base, src, mnt = mfs.make_tree()
    yield base, src, mnt
    mfs.remove_tree(base)


def _stop_and_check(d):
    """Teardown of one daemon: SIGTERM, exit 0, unmounted; cleanup always."""
    try:
        if d.proc is None:
            return
        rc = d.stop(signal.SIGTERM)
        log = d.log()
        assert rc == 0, f"mediafsd exited with {rc} after SIGTERM; log:\n{log}"
        assert not mfs.is_mounted(d.mountpoint), \
            f"{d.mountpoint} still mounted after mediafsd exited; log:\n{log}"
    finally:
        d.cleanup()
        mfs.reap_stragglers()


class DaemonFactory:
    def __init__(self):
        self.daemons = []

    def start(self, src, mnt, args=(), **kw):
        d = mfs.Daemon(src, mnt, args, **kw)
        self.daemons.append(d)
        d.start()
        return d

    def forget(self, d):
        """The test took care of this daemon itself (e.g. killed it)."""
        self.daemons.remove(d)
        d.cleanup()


@pytest.fixture
def daemon_factory():
    f = DaemonFactory()
    yield f
    errors = []
    for d in reversed(f.daemons):
        try:
            _stop_and_check(d)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


def _mount(tree, mode):
    base, src, mnt = tree
    d = mfs.Daemon(src, mnt, mfs.MODE_ARGS[mode])
    try:
        d.start()
    except BaseException:
        d.cleanup()
        raise
    t = mfs.MountedTree(base, src, mnt, d, mode)
    try:
        yield t
    finally:
        _stop_and_check(d)


@pytest.fixture(params=["passthrough", "server"])
def mount(request, tree):
    yield from _mount(tree, request.param)


@pytest.fixture
def pt_mount(tree):
    yield from _mount(tree, "passthrough")


@pytest.fixture
def server_mount(tree):
    yield from _mount(tree, "server")
