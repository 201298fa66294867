"""
Hostile and broken input, end to end on real mounts with real uids: odd
names (.., invalid UTF-8, 255/256 bytes, PATH_MAX), symlinks planted in
SOURCE by an outside process, a directory renamed under an open file, a full
SOURCE file system, the policy database deleted, made read-only or corrupted
while the daemon runs, and kill -9 of the daemon.

Every test also checks that the daemon is alive (or, for kill -9, that it
restarts cleanly) and that nothing escaped SOURCE.
"""
import errno
import os
import signal
import subprocess
import time

import pytest

import mfs
import sec_env
from sec_env import CAMERA, GALLERY, MANAGER

PATH_MAX = 4096


@pytest.fixture
def sec():
    yield from sec_env.sec_tree("host")


@pytest.fixture(params=["posix", "policy"])
def any_mode(request, sec):
    """A running mount in posix mode (SOURCE world-writable, apps own what
    they create) or policy mode (MANAGER may create anywhere in 0/Download).
    Returns (sec, daemon, dir-through-mount, matching dir in SOURCE, app)."""
    if request.param == "posix":
        os.chmod(sec.src, 0o777)
        d = sec.start()
        return sec, d, sec.mnt, sec.src, CAMERA
    sec.register_apps()
    d = sec.start(policy=True)
    return sec, d, sec.m("0", "Download"), sec.s("0", "Download"), MANAGER


def outside_snapshot(sec):
    """Everything next to SOURCE and MOUNTPOINT (not in them): must not change."""
    snap = {}
    for top in (os.path.join(sec.base, "s"), os.path.join(sec.base, "m")):
        for name in os.listdir(top):
            if name.endswith(".log"):
                continue
            snap[os.path.join(top, name)] = os.lstat(os.path.join(top, name)).st_ino
    return snap


# ------------------------------------------------------------------ names

ODD_NAMES = ["...", "..x", "x..", ". .", "a\\b", "new\nline", " lead", "trail ", "-rf",
             "%2F..%2F", "\u00e9t\u00e9.txt", "*?[]{}$`'\""]


def test_odd_names_stay_inside_source(any_mode):
    sec, d, mdir, sdir, app = any_mode
    before = outside_snapshot(sec)

    def work():
        made = []
        for i, name in enumerate(ODD_NAMES):
            p = os.path.join(mdir, name)
            with open(p, "w") as f:
                f.write(f"content {i}")
            made.append(sorted(os.listdir(mdir)))
        # ".." through the mount is the VFS's: the parent of the mount point
        parent = sorted(os.listdir(os.path.join(sec.mnt, "..")))
        return parent
    parent = mfs.run_as(app, work)
    assert parent == sorted(os.listdir(os.path.join(sec.base, "m")))
    for i, name in enumerate(ODD_NAMES):
        with open(os.path.join(sdir, name)) as f:
            assert f.read() == f"content {i}"
    assert outside_snapshot(sec) == before
    # a "/" can never be part of a name: it is a path separator to the kernel
    assert mfs.errno_of(app, lambda: open(os.path.join(mdir, "nodir/x"), "w")) == errno.ENOENT
    assert d.alive()


def test_invalid_utf8_names(any_mode):
    sec, d, mdir, sdir, app = any_mode
    names = [b"\xff\xfe.jpg", b"caf\xe9.txt", b"\xc3\x28", b"\xed\xa0\x80surrogate",
             b"\xf8\x88\x80\x80\x80overlong", b"ok-\x80"]
    bmdir, bsdir = os.fsencode(mdir), os.fsencode(sdir)

    def work():
        for i, n in enumerate(names):
            fd = os.open(os.path.join(bmdir, n), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.write(fd, b"v%d" % i)
            os.close(fd)
        listed = set(os.listdir(bmdir))
        os.rename(os.path.join(bmdir, names[0]), os.path.join(bmdir, b"\xfe\xff-renamed"))
        got = open(os.path.join(bmdir, b"\xfe\xff-renamed"), "rb").read()
        os.unlink(os.path.join(bmdir, names[1]))
        return listed, got
    listed, got = mfs.run_as(app, work)
    assert set(names) <= listed
    assert got == b"v0"
    assert os.path.exists(os.path.join(bsdir, b"\xfe\xff-renamed"))
    assert not os.path.exists(os.path.join(bsdir, names[1]))
    for i, n in enumerate(names[2:], start=2):
        assert open(os.path.join(bsdir, n), "rb").read() == b"v%d" % i
    if sec.daemons and "--db" in d.args:
        # the index keeps those names as they are: mediactl scan agrees
        sec_env.ctl("--db", sec.db, "--source", sec.src, "scan")
    assert d.alive()


def test_255_byte_name_works_256_is_enametoolong(any_mode):
    sec, d, mdir, sdir, app = any_mode
    n255 = "n" * 251 + ".txt"
    n256 = "n" * 252 + ".txt"
    assert len(n255.encode()) == 255 and len(n256.encode()) == 256

    def work():
        with open(os.path.join(mdir, n255), "w") as f:
            f.write("long")
        res = {"list": n255 in os.listdir(mdir),
               "read": open(os.path.join(mdir, n255)).read()}
        for what, fn in (("create", lambda: open(os.path.join(mdir, n256), "w")),
                         ("stat", lambda: os.stat(os.path.join(mdir, n256))),
                         ("mkdir", lambda: os.mkdir(os.path.join(mdir, n256))),
                         ("rename", lambda: os.rename(os.path.join(mdir, n255),
                                                      os.path.join(mdir, n256)))):
            try:
                fn()
                res[what] = 0
            except OSError as e:
                res[what] = e.errno
        return res
    res = mfs.run_as(app, work)
    assert res["list"] and res["read"] == "long"
    for what in ("create", "stat", "mkdir", "rename"):
        assert res[what] == errno.ENAMETOOLONG, (what, mfs.ename(res[what]))
    assert os.path.exists(os.path.join(sdir, n255))
    assert d.alive()


def test_paths_at_path_max(any_mode):
    sec, d, mdir, sdir, app = any_mode

    def work():
        # Absolute paths: exactly PATH_MAX - 1 bytes resolve, PATH_MAX do not.
        path = mdir
        while len(path) + 1 + 200 < PATH_MAX - 1:
            path = os.path.join(path, "d" * 200)
            os.mkdir(path)
        last = "f" * (PATH_MAX - 1 - len(path) - 1)
        fits = os.path.join(path, last)
        assert len(fits.encode()) == PATH_MAX - 1
        with open(fits, "w") as f:
            f.write("at PATH_MAX-1")
        back = open(fits).read()
        try:
            open(fits + "x", "w")
            too_long = 0
        except OSError as e:
            too_long = e.errno
        # Relative to a directory descriptor the path may grow past PATH_MAX:
        # each step must work, or fail cleanly with ENAMETOOLONG, never EIO.
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        deeper = []
        for i in range(8):
            try:
                os.mkdir("e" * 200, dir_fd=fd)
                nfd = os.open("e" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = nfd
                w = os.open("data", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644, dir_fd=fd)
                os.write(w, b"deep %d" % i)
                os.close(w)
                r = os.open("data", os.O_RDONLY, dir_fd=fd)
                got = os.read(r, 100)
                os.close(r)
                deeper.append(0 if got == b"deep %d" % i else -1)
            except OSError as e:
                deeper.append(e.errno)
        os.close(fd)
        return back, too_long, deeper
    back, too_long, deeper = mfs.run_as(app, work)
    assert back == "at PATH_MAX-1"
    assert too_long == errno.ENAMETOOLONG
    bad = [mfs.ename(e) for e in deeper if e not in (0, errno.ENAMETOOLONG)]
    assert not bad, f"beyond PATH_MAX: {deeper}"
    if "--db" not in d.args:
        assert deeper == [0] * 8, "posix mode resolves relative to descriptors"
    assert d.alive()
    assert mfs.stats(sec.mnt)["pid"] == d.proc.pid


# ------------------------------------------------------------------ planted symlinks

def test_symlinks_planted_in_source_are_hidden_and_never_followed(any_mode):
    sec, d, mdir, sdir, app = any_mode
    secret = os.path.join(sec.base, "secret")
    with open(secret, "w") as f:
        f.write("outside SOURCE")
    os.chmod(secret, 0o644)
    os.mkdir(os.path.join(sdir, "real"))
    os.chmod(os.path.join(sdir, "real"), 0o777)
    # an outside process plants links, absolute and relative, to files and dirs
    os.symlink(secret, os.path.join(sdir, "abs-file"))
    os.symlink("/etc", os.path.join(sdir, "abs-dir"))
    os.symlink("../../../secret", os.path.join(sdir, "rel-file"))
    os.symlink("/", os.path.join(sdir, "root"))
    os.symlink("real", os.path.join(sdir, "inside"))

    def look():
        names = set(os.listdir(mdir))
        errs = {}
        for n in ("abs-file", "abs-dir", "rel-file", "root", "inside"):
            for what, fn in (("stat", lambda: os.stat(os.path.join(mdir, n))),
                             ("lstat", lambda: os.lstat(os.path.join(mdir, n))),
                             ("open", lambda: open(os.path.join(mdir, n)).read()),
                             ("through", lambda: os.listdir(os.path.join(mdir, n))),
                             ("passwd", lambda: open(os.path.join(mdir, n, "passwd")).read()),
                             ("create", lambda: open(os.path.join(mdir, n), "x")),
                             ("readlink", lambda: os.readlink(os.path.join(mdir, n)))):
                try:
                    fn()
                    errs[(n, what)] = 0
                except OSError as e:
                    errs[(n, what)] = e.errno
        return names, errs
    names, errs = mfs.run_as(app, look)
    assert not names & {"abs-file", "abs-dir", "rel-file", "root", "inside"}, names
    for key, e in errs.items():
        want = (errno.EEXIST,) if key[1] == "create" else (errno.ENOENT,)
        assert e in want, f"{key}: {mfs.ename(e)}"
    # planting a symlink in place of a directory the mount already knows
    mfs.run_as(app, lambda: open(os.path.join(mdir, "real", "f"), "w").write("real data"))
    os.rename(os.path.join(sdir, "real"), os.path.join(sdir, "real-moved"))
    os.symlink("/etc", os.path.join(sdir, "real"))
    e = mfs.errno_of(app, lambda: open(os.path.join(mdir, "real", "passwd")).read())
    assert e == errno.ENOENT, mfs.ename(e)
    assert open(secret).read() == "outside SOURCE"
    assert os.path.islink(os.path.join(sdir, "abs-file"))
    assert d.alive()


# ------------------------------------------------------------------ rename under an open file

def test_directory_renamed_under_an_open_file(any_mode):
    sec, d, mdir, sdir, app = any_mode
    mfs.run_as(app, lambda: os.mkdir(os.path.join(mdir, "album")))

    def writer(ch):
        fd = os.open(os.path.join(mdir, "album", "clip.bin"), os.O_CREAT | os.O_RDWR, 0o644)
        os.write(fd, b"A" * 4096)
        ch.send("first half")
        ch.recv(timeout=30)        # the directory is renamed meanwhile
        os.write(fd, b"B" * 4096)
        os.fsync(fd)
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 8192)
        os.close(fd)
        return data
    w = mfs.Spawned(app, writer)
    try:
        assert w.recv() == "first half"
        # an outside process renames the directory in SOURCE
        os.rename(os.path.join(sdir, "album"), os.path.join(sdir, "album-2024"))
        w.send("go on")
        data = w.result()
    finally:
        w.kill()
    assert data == b"A" * 4096 + b"B" * 4096
    with open(os.path.join(sdir, "album-2024", "clip.bin"), "rb") as f:
        assert f.read() == data
    # through the mount: the new name serves the bytes, the old one is gone
    got = mfs.run_as(app, lambda: open(os.path.join(mdir, "album-2024", "clip.bin"),
                                       "rb").read())
    assert got == data
    assert mfs.errno_of(app, lambda: os.stat(os.path.join(mdir, "album", "clip.bin"))) \
        == errno.ENOENT
    assert d.alive()


# ------------------------------------------------------------------ full file system

@pytest.mark.parametrize("data_path", ["passthrough", "server"])
@pytest.mark.parametrize("mode", ["posix", "policy"])
def test_full_source_file_system(sec, mode, data_path):
    small = sec.src
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "sec_full", small],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        args = mfs.MODE_ARGS[data_path]
        if mode == "policy":
            sec.register_apps()
            d = sec.start(args, policy=True)
            mdir, sdir, app = sec.m("0", "Download"), sec.s("0", "Download"), MANAGER
        else:
            d = sec.start(args)
            mdir, sdir, app = sec.mnt, sec.src, CAMERA
        mfs.run_as(app, lambda: open(os.path.join(mdir, "keep.txt"), "w").write("keep me"))

        def fill():
            fd = os.open(os.path.join(mdir, "big.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
            written, err = 0, 0
            try:
                while written < 8 << 20:
                    written += os.write(fd, b"x" * 65536)
                os.fsync(fd)
            except OSError as e:
                err = e.errno
            try:
                os.close(fd)
            except OSError as e:
                err = err or e.errno
            return written, err
        written, err = mfs.run_as(app, fill)
        assert err == errno.ENOSPC, f"the writer got {mfs.ename(err)} after {written} bytes"
        assert written < 1 << 20

        def after():
            out = {"keep": open(os.path.join(mdir, "keep.txt")).read(),
                   "list": sorted(os.listdir(mdir))}
            try:
                open(os.path.join(mdir, "more.txt"), "w").write("y" * 200000)
                out["more"] = 0
            except OSError as e:
                out["more"] = e.errno
            os.unlink(os.path.join(mdir, "big.bin"))
            if out["more"] == errno.ENOSPC:
                os.unlink(os.path.join(mdir, "more.txt"))
            # The blocks come back once the kernel forgets the unlinked inode
            # (the daemon holds its O_PATH descriptor until FORGET): soon.
            deadline = time.monotonic() + 10
            while True:
                try:
                    with open(os.path.join(mdir, "again.txt"), "w") as f:
                        f.write("room again")
                    break
                except OSError as e:
                    if e.errno != errno.ENOSPC or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            out["again"] = open(os.path.join(mdir, "again.txt")).read()
            return out
        out = mfs.run_as(app, after)
        assert out["keep"] == "keep me"
        assert "big.bin" in out["list"]
        assert out["more"] in (0, errno.ENOSPC)
        assert out["again"] == "room again"
        assert d.alive()
        assert "Input/output error" not in d.log()
        assert sec.stop_all() == []
    finally:
        sec_env.SecTree.stop_all(sec)
        subprocess.run(["umount", "-l", small], capture_output=True)


# ------------------------------------------------------------------ database trouble

def _policy_with_file(sec, extra_mount=None):
    sec.register_apps()
    d = sec.start(policy=True, **({"mnt": extra_mount} if extra_mount else {}))
    mfs.run_as(MANAGER, lambda: open(sec.m("0", "Download", "known.txt"), "w").write("known"))
    return d


def _opens_fail_closed(sec, d, expected=(errno.EACCES, errno.EIO)):
    # new files need an index record: the database must be written
    with open(sec.s("0", "Download", "behind-back.txt"), "w") as f:
        f.write("appeared")
    got = {}
    for name in ("behind-back.txt", "known.txt"):
        got[name] = mfs.errno_of(MANAGER, lambda: open(sec.m("0", "Download", name)).read())
    got["create"] = mfs.errno_of(MANAGER, lambda: open(sec.m("0", "Download", "new.txt"),
                                                       "w").write("n"))
    assert got["behind-back.txt"] in expected, got
    assert all(e in expected + (0,) for e in got.values()), got
    assert d.alive(), "the daemon died"
    assert "policy unavailable" in d.log(), d.log()[-2000:]
    return got


def test_database_deleted_while_running(sec):
    d = _policy_with_file(sec)
    # decided often enough to be answered from the daemon's memory
    for _ in range(5):
        assert mfs.run_as(MANAGER, lambda: open(sec.m("0", "Download", "known.txt")).read()) \
            == "known"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(sec.db + suffix):
            os.unlink(sec.db + suffix)
    # ... which trusts the database file for at most 100 ms without looking
    time.sleep(0.2)
    assert mfs.errno_of(MANAGER, lambda: open(sec.m("0", "Download", "known.txt")).read()) \
        == errno.EIO, "an unlinked database must not go on answering from memory"
    got = _opens_fail_closed(sec, d)
    assert got["known.txt"] == errno.EIO, "an unlinked database must not go on answering"
    assert not os.path.exists(sec.db), "the daemon must not create a fresh empty policy"
    st = mfs.stats(sec.mnt)
    assert st["policy_errors"] > 0


def _chattr(flag, paths):
    for p in paths:
        if os.path.exists(p):
            r = subprocess.run(["chattr", flag, p], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr


def test_database_made_read_only_while_running(sec):
    """Read-only for root too: the daemon holds CAP_DAC_OVERRIDE, so modes
    would not stop it, and a file system with files open for writing cannot
    be remounted read-only; the immutable attribute stops every write,
    through descriptors already open as well."""
    d = _policy_with_file(sec)
    # Not the -shm file: SQLite maps it shared, and a write fault on an
    # immutable mapped file is SIGBUS inside SQLite (see the report).
    files = [sec.db, sec.db + "-wal", sec.db_dir]
    _chattr("+i", files)
    try:
        got = _opens_fail_closed(sec, d)
        assert got["known.txt"] == 0, "reading what the index knows needs no write"
    finally:
        _chattr("-i", files)
    # writable again: the daemon recovers without a restart
    with open(sec.s("0", "Download", "later.txt"), "w") as f:
        f.write("later")
    assert mfs.run_as(MANAGER, lambda: open(sec.m("0", "Download", "later.txt")).read()) \
        == "later"


def test_database_corrupted_while_running(sec):
    d = _policy_with_file(sec)
    # checkpoint so the data lives in the main file, then wreck it
    subprocess.run(["sqlite3", sec.db, "PRAGMA wal_checkpoint(TRUNCATE);"], check=True,
                   capture_output=True)
    size = os.path.getsize(sec.db)
    with open(sec.db, "r+b") as f:
        f.write(os.urandom(100))         # the header
        for off in range(4096, size, 4096):
            f.seek(off)
            f.write(os.urandom(512))
    for suffix in ("-wal", "-shm"):
        if os.path.exists(sec.db + suffix):
            with open(sec.db + suffix, "r+b") as f:
                f.write(os.urandom(256))
    _opens_fail_closed(sec, d)
    assert mfs.stats(sec.mnt)["policy_errors"] > 0


# ------------------------------------------------------------------ kill -9

def test_kill_9_then_umount_l_then_restart(sec):
    sec.register_apps()
    d = sec.start(policy=True)
    os.makedirs(sec.s("0", "DCIM"), exist_ok=True)
    sec_env.make_gps_jpeg(sec.s("0", "DCIM", "a.jpg"))
    mfs.run_as(GALLERY, lambda: open(sec.m("0", "DCIM", "a.jpg"), "rb").read())
    spawner, workers = sec_env.scanner_processes(d.proc.pid)
    d.proc.kill()
    d.proc.wait(timeout=10)
    try:
        os.stat(sec.mnt)
        raise AssertionError("stat of a dead mount succeeded")
    except OSError as e:
        assert e.errno == errno.ENOTCONN, mfs.ename(e.errno)
    # the scanner does not outlive the daemon
    for pid in [spawner] + workers:
        assert sec_env.wait_gone(pid), f"scanner process {pid} outlived mediafsd"
    r = subprocess.run([mfs.mediafsd(), "-f", "--db", sec.db, sec.src, sec.mnt],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "umount -l" in r.stderr, r.stderr
    subprocess.run(["umount", "-l", sec.mnt], check=True)
    d2 = sec.start(policy=True)
    data = mfs.run_as(GALLERY, lambda: open(sec.m("0", "DCIM", "a.jpg"), "rb").read())
    assert b"\x00" * 16 in data
    assert d2.alive()


# ------------------------------------------------------------------ sanitizer smoke test

def test_sanitizer_smoke(sec):
    """Short but broad: scripts/sanitize.sh runs exactly this against the
    ASan/UBSan build. Policy mode, scanner, redaction, every common op."""
    sec.register_apps()
    d = sec.start(policy=True)
    os.makedirs(sec.s("0", "DCIM"), exist_ok=True)
    jpeg = sec_env.make_gps_jpeg(sec.s("0", "DCIM", "gps.jpg"))
    red = mfs.run_as(GALLERY, lambda: open(sec.m("0", "DCIM", "gps.jpg"), "rb").read())
    assert len(red) == len(jpeg) and red != jpeg

    def ops():
        base = sec.m("0", "Download")
        os.mkdir(os.path.join(base, "d"))
        for i in range(20):
            with open(os.path.join(base, "d", f"f{i}"), "wb") as f:
                f.write(os.urandom(1000 + i))
        names = sorted(os.listdir(os.path.join(base, "d")))
        os.rename(os.path.join(base, "d", "f0"), os.path.join(base, "d", "g0"))
        os.unlink(os.path.join(base, "d", "f1"))
        os.truncate(os.path.join(base, "d", "f2"), 10)
        with open(os.path.join(sec.m("0", "DCIM"), "cam.jpg"), "wb") as f:
            f.write(jpeg)
        return names
    assert len(mfs.run_as(MANAGER, ops)) == 20
    assert mfs.errno_of(CAMERA, lambda: open(sec.m("0", "Download", "d", "f3")).read()) \
        in (errno.ENOENT, errno.EACCES)
    assert mfs.stats(sec.mnt)["opens_redacted"] >= 1
    assert d.stop() == 0, d.log()
    assert "ERROR: AddressSanitizer" not in d.log() and "runtime error" not in d.log()
