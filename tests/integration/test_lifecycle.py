"""
Lifecycle of mediafsd: signals, start-up errors, --help/--version, background
mode, crash recovery (kill -9, umount -l, restart), and the command-line
options -d, -o, --threads.
"""
import errno
import os
import signal
import subprocess
import time

import pytest

import mfs

A = mfs.APP_UIDS[0]


def run_daemon(args, timeout=30, cwd="/"):
    """Runs mediafsd to completion with stdout/stderr in files (a background
    daemon may keep inherited pipes; files never block). Fails on a hang."""
    base = mfs.world_tmp_base()
    with open(os.path.join(base, f"mfs-out-{os.getpid()}"), "w+") as out, \
            open(os.path.join(base, f"mfs-err-{os.getpid()}"), "w+") as err:
        try:
            rc = subprocess.run([mfs.mediafsd()] + args, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, timeout=timeout, cwd=cwd).returncode
        except subprocess.TimeoutExpired:
            raise AssertionError(f"mediafsd {' '.join(args)} did not return within {timeout}s")
        finally:
            out.seek(0)
            err.seek(0)
            o, e = out.read(), err.read()
            os.unlink(out.name)
            os.unlink(err.name)
    return rc, o, e


def exited(pid):
    """pid is gone or a zombie (reaped at any moment while we look)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def daemon_pids(*args):
    """Pids of mediafsd processes whose command line contains all of args
    (exact arguments, e.g. the SOURCE and MOUNTPOINT given to it)."""
    want = [os.fsencode(a) for a in args]
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"mediafsd" and all(w in argv[1:] for w in want):
            pids.append(int(d))
    return pids


def assert_one_error_line(rc, out, err, what):
    assert rc != 0, f"{what}: exit status 0"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"{what}: expected exactly one stderr line, got {len(lines)}:\n{err}"


# ------------------------------------------------------------------ signals

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("mode", ["passthrough", "server"])
def test_signal_unmounts_and_exits_0(tree, sig, mode):
    base, src, mnt = tree
    with open(os.path.join(src, "f"), "w") as f:
        f.write("x")
    d = mfs.Daemon(src, mnt, mfs.MODE_ARGS[mode])
    try:
        d.start()
        with open(os.path.join(mnt, "f")) as f:
            assert f.read() == "x"
        rc = d.stop(sig)
        assert rc == 0, f"exit status {rc} after {sig.name}; log:\n{d.log()}"
        assert not mfs.is_mounted(mnt)
        assert os.listdir(mnt) == []
    finally:
        d.cleanup()


def test_sigterm_with_busy_mount(tree):
    base, src, mnt = tree
    os.mkdir(os.path.join(src, "d"))
    os.chmod(os.path.join(src, "d"), 0o777)
    d = mfs.Daemon(src, mnt)
    holder = None
    try:
        d.start()

        def hold(ch):
            os.chdir(os.path.join(mnt, "d"))
            fd = os.open("open-file", os.O_CREAT | os.O_RDWR, 0o644)
            os.write(fd, b"busy")
            ch.send("holding")
            ch.recv(timeout=60)
            os.close(fd)
            return True

        holder = mfs.Spawned(A, hold)
        assert holder.recv() == "holding"
        rc = d.stop(signal.SIGTERM)
        assert rc == 0, f"exit status {rc} with a busy mount; log:\n{d.log()}"
        assert not mfs.is_mounted(mnt), "still mounted after SIGTERM with a busy mount"
        with open(os.path.join(src, "d", "open-file"), "rb") as f:
            assert f.read() == b"busy"
    finally:
        if holder:
            holder.kill()
        d.cleanup()


# ------------------------------------------------------------------ start-up errors

@pytest.mark.parametrize("fg", [["-f"], []], ids=["foreground", "background"])
def test_missing_mountpoint(tree, fg):
    base, src, mnt = tree
    missing = os.path.join(base, "m", "no-such-dir")
    rc, out, err = run_daemon(fg + [src, missing])
    assert_one_error_line(rc, out, err, "missing mountpoint")
    assert not mfs.is_mounted(missing)
    assert not os.path.exists(missing)


@pytest.mark.parametrize("fg", [["-f"], []], ids=["foreground", "background"])
@pytest.mark.parametrize("occupant", ["mediafsd", "tmpfs"])
def test_mountpoint_already_mounted(tree, daemon_factory, fg, occupant):
    base, src, mnt = tree
    with open(os.path.join(src, "marker"), "w") as f:
        f.write("first")
    if occupant == "mediafsd":
        daemon_factory.start(src, mnt)
    else:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "occupant", mnt], check=True)
    try:
        before = [e for e in mfs.mountinfo() if e["mountpoint"] == mnt]
        other_src = os.path.join(base, "s", "other")
        os.mkdir(other_src)
        rc, out, err = run_daemon(fg + [other_src, mnt])
        assert_one_error_line(rc, out, err, f"mountpoint already mounted ({occupant})")
        after = [e for e in mfs.mountinfo() if e["mountpoint"] == mnt]
        assert len(after) == len(before), "a second mount was stacked on the mount point"
        if occupant == "mediafsd":
            with open(os.path.join(mnt, "marker")) as f:
                assert f.read() == "first"
    finally:
        if occupant == "tmpfs":
            mfs.lazy_umount(mnt)


@pytest.mark.parametrize("fg", [["-f"], []], ids=["foreground", "background"])
@pytest.mark.parametrize("kind", ["regular-file", "missing"])
def test_source_not_a_directory(tree, fg, kind):
    base, src, mnt = tree
    bad = os.path.join(base, "s", "not-a-dir")
    if kind == "regular-file":
        with open(bad, "w") as f:
            f.write("file")
    rc, out, err = run_daemon(fg + [bad, mnt])
    assert_one_error_line(rc, out, err, f"SOURCE {kind}")
    assert not mfs.is_mounted(mnt)


def test_wrong_argument_count_fails(tree):
    base, src, mnt = tree
    rc, out, err = run_daemon(["-f", src])
    assert rc != 0
    assert err.strip()
    assert not mfs.is_mounted(mnt)


def test_help_and_version():
    for flag in ("--help", "--version"):
        rc, out, err = run_daemon([flag])
        assert rc == 0, f"mediafsd {flag} exited {rc}: {err}"
        assert (out + err).strip(), f"mediafsd {flag} printed nothing"
    rc, out, err = run_daemon(["--help"])
    for opt in ("--db", "--threads", "--no-passthrough", "-f", "-d", "-o"):
        assert opt in out + err, f"--help does not mention {opt}"


# ------------------------------------------------------------------ background mode

@pytest.mark.parametrize("unmount", [["fusermount3", "-u"], ["umount"]])
def test_background_mode(tree, unmount):
    base, src, mnt = tree
    with open(os.path.join(src, "hello"), "w") as f:
        f.write("hello")
    try:
        rc, out, err = run_daemon([src, mnt])
        assert rc == 0, f"background mediafsd exited {rc}: {err}"
        # returns only once the mount is up: no waiting here
        assert mfs.is_fuse_mounted(mnt), "mediafsd returned before the mount was up"
        with open(os.path.join(mnt, "hello")) as f:
            assert f.read() == "hello"
        assert mfs.run_as(A, os.listdir, mnt) == ["hello"]
        pids = daemon_pids(src, mnt)
        assert len(pids) == 1, f"expected one background mediafsd, found {pids}"
        assert mfs.stats(mnt)["opens_passthrough"] >= 1
        r = subprocess.run(unmount + [mnt], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"{unmount} failed: {r.stderr}"
        assert not mfs.is_mounted(mnt)
        mfs.wait_for(lambda: exited(pids[0]), 10,
                     what="the background daemon to exit after unmount")
    finally:
        for pid in daemon_pids(src, mnt):
            os.kill(pid, signal.SIGKILL)
        mfs.lazy_umount(mnt)


def test_background_mode_relative_paths(tree):
    base, src, mnt = tree
    with open(os.path.join(src, "rel"), "w") as f:
        f.write("relative")
    try:
        rc, out, err = run_daemon(["s/src", "m/mnt"], cwd=base)
        assert rc == 0, err
        assert mfs.is_fuse_mounted(mnt)
        with open(os.path.join(mnt, "rel")) as f:
            assert f.read() == "relative"
        os.mkdir(os.path.join(mnt, "made"))
        assert os.path.isdir(os.path.join(src, "made"))
        pids = daemon_pids("s/src", "m/mnt")
        assert len(pids) == 1, f"expected one background mediafsd, found {pids}"
        os.kill(pids[0], signal.SIGTERM)
        mfs.wait_for(lambda: not mfs.is_mounted(mnt), 20, what="unmount after SIGTERM")
    finally:
        if mfs.is_mounted(mnt):  # the test failed half-way: clean up its daemon
            for pid in daemon_pids("s/src", "m/mnt"):
                os.kill(pid, signal.SIGKILL)
            mfs.lazy_umount(mnt)


# ------------------------------------------------------------------ crash recovery

def test_kill_9_then_umount_l_then_restart(tree, daemon_factory):
    base, src, mnt = tree
    with open(os.path.join(src, "survivor"), "w") as f:
        f.write("still here")
    d = daemon_factory.start(src, mnt)
    with open(os.path.join(mnt, "survivor")) as f:
        assert f.read() == "still here"
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(timeout=10)
    daemon_factory.daemons.remove(d)     # this test cleans up after its own crash
    # (a plain stat may be answered from the kernel's attribute cache; these
    # always need the daemon)
    for probe in (lambda: os.listdir(mnt), lambda: open(os.path.join(mnt, "survivor")).close(),
                  lambda: open(os.path.join(mnt, "brand-new"), "w").close()):
        with pytest.raises(OSError) as ei:
            probe()
        assert ei.value.errno == errno.ENOTCONN, f"after kill -9: {ei.value!r}"
    assert mfs.errno_of(A, os.listdir, mnt) == errno.ENOTCONN
    r = mfs.run_mediactl("stats", mnt, "--json", timeout=20)
    assert r.returncode != 0, "mediactl stats succeeded against a dead daemon"
    assert r.stderr.strip()
    r = subprocess.run(["umount", "-l", mnt], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert not mfs.is_mounted(mnt)
    d2 = daemon_factory.start(src, mnt)
    with open(os.path.join(mnt, "survivor")) as f:
        assert f.read() == "still here"
    with open(os.path.join(mnt, "new"), "w") as f:
        f.write("new")
    with open(os.path.join(src, "new")) as f:
        assert f.read() == "new"
    assert mfs.stats(mnt)["opens_passthrough"] >= 2
    assert d2.alive()


def test_restart_after_clean_stop(tree):
    base, src, mnt = tree
    for i in range(3):
        d = mfs.Daemon(src, mnt)
        try:
            d.start()
            with open(os.path.join(mnt, f"round{i}"), "w") as f:
                f.write(str(i))
            assert d.stop() == 0
            assert not mfs.is_mounted(mnt)
        finally:
            d.cleanup()
    assert sorted(os.listdir(src)) == ["round0", "round1", "round2"]


def test_two_mounts_have_separate_counters(daemon_factory):
    trees = [mfs.make_tree() for _ in range(2)]
    try:
        ds = [daemon_factory.start(src, mnt) for _, src, mnt in trees]
        for _, src, _ in trees:
            with open(os.path.join(src, "f"), "w") as f:
                f.write("f")
        before = [mfs.stats(d.mountpoint) for d in ds]
        for _ in range(4):
            with open(os.path.join(ds[0].mountpoint, "f")) as f:
                f.read()
        after = [mfs.stats(d.mountpoint) for d in ds]
        assert after[0]["opens_passthrough"] - before[0]["opens_passthrough"] >= 4
        assert after[1]["opens_passthrough"] == before[1]["opens_passthrough"]
    finally:
        for d in list(daemon_factory.daemons):
            daemon_factory.daemons.remove(d)
            assert d.stop() == 0
            d.cleanup()
        for base, _, _ in trees:
            mfs.remove_tree(base)


# ------------------------------------------------------------------ options

def test_debug_flag_stays_in_foreground_and_logs(tree):
    base, src, mnt = tree
    d = mfs.Daemon(src, mnt, ["-d"], foreground_flag=None)
    try:
        d.start()
        time.sleep(0.3)
        assert d.alive(), "mediafsd -d daemonized (the started process exited)"
        os.listdir(mnt)
        with open(os.path.join(mnt, "dbg"), "w") as f:
            f.write("x")
        mfs.wait_for(lambda: len(d.log()) > 0, 5, what="debug output on stderr")
        assert d.stop() == 0
        assert not mfs.is_mounted(mnt)
    finally:
        d.cleanup()


def test_default_mount_options(pt_mount):
    t = pt_mount
    e = mfs.mount_entry(t.mnt)
    assert e["fstype"] == "fuse" or e["fstype"].startswith("fuse."), e
    assert "allow_other" in e["super_opts"], f"allow_other not on by default: {e}"
    assert "default_permissions" in e["super_opts"], \
        f"posix mode without default_permissions: {e}"
    # allow_other in practice: an app that is not the mounter can use the mount
    t.file("f", b"visible")
    assert mfs.run_as(A, lambda: open(t.m("f"), "rb").read()) == b"visible"


def test_o_ro(tree, daemon_factory):
    base, src, mnt = tree
    with open(os.path.join(src, "f"), "w") as f:
        f.write("ro")
    os.chmod(os.path.join(src, "f"), 0o666)
    daemon_factory.start(src, mnt, ["-o", "ro"])
    assert "ro" in mfs.mount_entry(mnt)["mount_opts"]
    with open(os.path.join(mnt, "f")) as f:
        assert f.read() == "ro"
    for fn in (lambda: open(os.path.join(mnt, "f"), "w"),
               lambda: open(os.path.join(mnt, "new"), "w"),
               lambda: os.mkdir(os.path.join(mnt, "dir")),
               lambda: os.unlink(os.path.join(mnt, "f"))):
        with pytest.raises(OSError) as ei:
            fn()
        assert ei.value.errno == errno.EROFS
    assert os.listdir(src) == ["f"]


def test_threads_option(tree, daemon_factory):
    base, src, mnt = tree
    daemon_factory.start(src, mnt, ["--threads", "3"])
    os.mkdir(os.path.join(mnt, "d"))
    with open(os.path.join(mnt, "d", "f"), "w") as f:
        f.write("threads")
    with open(os.path.join(src, "d", "f")) as f:
        assert f.read() == "threads"


@pytest.mark.parametrize("args", [["--threads", "0"], ["--threads", "x"], ["-o", "bogus"],
                                  ["--no-such-option"]])
def test_bad_options_fail(tree, args):
    base, src, mnt = tree
    rc, out, err = run_daemon(["-f"] + args + [src, mnt])
    assert rc != 0, f"mediafsd {args} exited 0"
    assert err.strip(), f"mediafsd {args} failed without a message"
    assert not mfs.is_mounted(mnt)
