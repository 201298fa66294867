"""
Targeted stress: the situations where a FUSE daemon's bookkeeping breaks.

- many files known and open at once, under Debian's default descriptor
  limit (soft 1024) for the daemon;
- readdir of a directory that changes while it is read (POSIX: entries not
  touched during the listing are returned exactly once);
- concurrent renames between directories (no file lost or duplicated);
- concurrent O_APPEND writers (no record lost or torn);
- hard links planted in SOURCE (two names, one file);
- SIGTERM while apps are busy in the mount.
"""
import errno
import os
import random
import resource
import signal
import time

import pytest

import mfs
from mfs import run_as

A, B = mfs.APP_UIDS


def _hard_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@pytest.mark.parametrize("mode", ["passthrough", "server"])
def test_many_files_under_default_fd_limit(tree, daemon_factory, mode):
    """The daemon started the way a root shell or systemd unit starts it on
    Debian (RLIMIT_NOFILE soft 1024) must still serve apps that look up
    6,000 files and hold 2,000 of them open at once: no EMFILE, no EIO."""
    base, src, mnt = tree
    os.mkdir(os.path.join(src, "many"))
    os.chmod(os.path.join(src, "many"), 0o777)
    for i in range(6000):
        with open(os.path.join(src, "many", f"f{i}"), "wb") as f:
            f.write(b"%d" % i)
        os.chmod(os.path.join(src, "many", f"f{i}"), 0o666)
    hard = _hard_limit()
    assert hard >= 4096, f"test machine's hard RLIMIT_NOFILE {hard} is too low for this test"
    daemon_factory.start(src, mnt, mfs.MODE_ARGS[mode],
                         wrapper=["prlimit", f"--nofile=1024:{hard}"])

    def app():
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
        errors = {}
        d = os.path.join(mnt, "many")
        names = os.listdir(d)
        for n in names:
            try:
                os.stat(os.path.join(d, n))
            except OSError as e:
                errors[e.errno] = errors.get(e.errno, 0) + 1
        fds = []
        for i in range(2000):
            try:
                fds.append(os.open(os.path.join(d, f"f{i}"), os.O_RDWR))
            except OSError as e:
                errors[e.errno] = errors.get(e.errno, 0) + 1
        bad_reads = 0
        for i, fd in enumerate(fds):
            try:
                if os.pread(fd, 16, 0) != b"%d" % i:
                    bad_reads += 1
            except OSError as e:
                errors[e.errno] = errors.get(e.errno, 0) + 1
        for fd in fds:
            os.close(fd)
        return len(names), {errno.errorcode.get(k, k): v for k, v in errors.items()}, bad_reads

    listed, errors, bad_reads = run_as(A, app, timeout=200)
    assert listed == 6000
    assert not errors, f"apps saw errors with the daemon at RLIMIT_NOFILE 1024: {errors}"
    assert bad_reads == 0


def test_readdir_while_directory_changes(pt_mount):
    t = pt_mount
    t.dir("d", uid=0, mode=0o777)
    stable = {f"stable-{i:05d}" for i in range(3000)}
    for n in stable:
        open(t.s("d", n), "w").close()

    def churn(ch):
        rnd = random.Random(5)
        live = []
        ch.send("go")
        deadline = time.monotonic() + 6
        n = 0
        while time.monotonic() < deadline:
            if live and rnd.random() < 0.5:
                os.unlink(os.path.join(t.m("d"), live.pop(rnd.randrange(len(live)))))
            else:
                name = f"churn-{n}"
                n += 1
                open(os.path.join(t.m("d"), name), "w").close()
                live.append(name)
        return n

    def lister(ch):
        ch.send("go")
        deadline = time.monotonic() + 6
        rounds = 0
        problems = []
        while time.monotonic() < deadline:
            names = os.listdir(t.m("d"))
            rounds += 1
            seen = [n for n in names if n.startswith("stable-")]
            if len(seen) != len(set(seen)):
                problems.append(f"round {rounds}: {len(seen) - len(set(seen))} duplicates")
            missing = stable - set(seen)
            if missing:
                problems.append(f"round {rounds}: {len(missing)} stable entries missing, e.g. "
                                f"{sorted(missing)[:3]}")
            if len(problems) > 5:
                break
        return rounds, problems

    c = mfs.Spawned(A, churn)
    listers = [mfs.Spawned(uid, lister) for uid in (A, B, 0)]
    try:
        for p in [c] + listers:
            assert p.recv() == "go"
        created = c.result(timeout=60)
        assert created > 100
        for p in listers:
            rounds, problems = p.result(timeout=60)
            assert rounds >= 3
            assert not problems, "readdir under concurrent changes: " + "; ".join(problems)
    finally:
        for p in [c] + listers:
            p.kill()


@pytest.mark.parametrize("mode", ["passthrough", "server"])
def test_concurrent_renames_lose_nothing(tree, daemon_factory, mode):
    base, src, mnt = tree
    for d in ("left", "right"):
        os.mkdir(os.path.join(src, d))
        os.chmod(os.path.join(src, d), 0o777)
    workers = 8
    per_worker = 25
    for w in range(workers):
        for i in range(per_worker):
            with open(os.path.join(src, "left", f"w{w}-{i}"), "wb") as f:
                f.write(b"worker %d file %d" % (w, i))
            os.chmod(os.path.join(src, "left", f"w{w}-{i}"), 0o666)
    daemon_factory.start(src, mnt, mfs.MODE_ARGS[mode])

    def mover(ch, w):
        rnd = random.Random(w)
        where = {i: "left" for i in range(per_worker)}
        ch.send("go")
        deadline = time.monotonic() + 6
        moves = 0
        while time.monotonic() < deadline:
            i = rnd.randrange(per_worker)
            to = "right" if where[i] == "left" else "left"
            os.rename(os.path.join(mnt, where[i], f"w{w}-{i}"), os.path.join(mnt, to, f"w{w}-{i}"))
            where[i] = to
            moves += 1
            if moves % 7 == 0:   # read one of ours back wherever it is now
                j = rnd.randrange(per_worker)
                with open(os.path.join(mnt, where[j], f"w{w}-{j}"), "rb") as f:
                    if f.read() != b"worker %d file %d" % (w, j):
                        raise AssertionError(f"w{w}-{j} has wrong content after moves")
            if moves % 11 == 0:
                os.listdir(os.path.join(mnt, "left"))
        return moves, where

    ps = [mfs.Spawned((A, B, 0)[w % 3], mover, w) for w in range(workers)]
    try:
        for p in ps:
            assert p.recv() == "go"
        results = [p.result(timeout=60) for p in ps]
    finally:
        for p in ps:
            p.kill()
    assert all(moves > 20 for moves, _ in results)
    for view in (mnt, src):
        left = set(os.listdir(os.path.join(view, "left")))
        right = set(os.listdir(os.path.join(view, "right")))
        assert not (left & right), f"{view}: files in both directories: {sorted(left & right)[:5]}"
        for w, (_, where) in enumerate(results):
            for i, d in where.items():
                name = f"w{w}-{i}"
                assert name in (left if d == "left" else right), \
                    f"{view}: {name} not in {d} where its mover left it"
        assert len(left) + len(right) == workers * per_worker


@pytest.mark.parametrize("mode", ["passthrough", "server"])
def test_concurrent_appends_keep_every_record(tree, daemon_factory, mode):
    base, src, mnt = tree
    with open(os.path.join(src, "log"), "wb"):
        pass
    os.chmod(os.path.join(src, "log"), 0o666)
    daemon_factory.start(src, mnt, mfs.MODE_ARGS[mode])
    writers, records, size = 8, 300, 64

    def appender(ch, w):
        fd = os.open(os.path.join(mnt, "log"), os.O_WRONLY | os.O_APPEND)
        ch.send("go")
        try:
            for i in range(records):
                rec = (b"w%02d r%05d " % (w, i)).ljust(size - 1, b".") + b"\n"
                assert os.write(fd, rec) == size
        finally:
            os.close(fd)
        return True

    ps = [mfs.Spawned((A, B)[w % 2], appender, w) for w in range(writers)]
    try:
        for p in ps:
            assert p.recv() == "go"
        assert all(p.result(timeout=60) for p in ps)
    finally:
        for p in ps:
            p.kill()
    for view in (os.path.join(mnt, "log"), os.path.join(src, "log")):
        with open(view, "rb") as f:
            data = f.read()
        assert len(data) == writers * records * size, f"{view}: {len(data)} bytes"
        recs = [data[i:i + size] for i in range(0, len(data), size)]
        want = {(b"w%02d r%05d " % (w, i)).ljust(size - 1, b".") + b"\n"
                for w in range(writers) for i in range(records)}
        assert set(recs) == want, f"{view}: records lost or torn"


def test_planted_hard_links_are_one_file(pt_mount):
    t = pt_mount
    t.dir("d", uid=A)
    t.file("d/one", b"shared bytes", uid=A, mode=0o644)
    os.link(t.s("d", "one"), t.s("d", "two"))

    def app():
        a, b = os.stat(t.m("d", "one")), os.stat(t.m("d", "two"))
        with open(t.m("d", "two"), "r+b") as f:
            f.write(b"SHARED")
        with open(t.m("d", "one"), "rb") as f:
            via_one = f.read()
        os.unlink(t.m("d", "one"))
        with open(t.m("d", "two"), "rb") as f:
            via_two = f.read()
        return (a.st_ino == b.st_ino, a.st_nlink, via_one, via_two, os.stat(t.m("d", "two")).st_nlink,
                sorted(os.listdir(t.m("d"))))

    same, nlink, via_one, via_two, nlink_after, listing = run_as(A, app)
    assert same, "two names of one backing file got different inode numbers"
    assert nlink == 2
    assert via_one == b"SHARED bytes"
    assert via_two == b"SHARED bytes"
    assert nlink_after == 1
    assert listing == ["two"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_apps_are_busy(tree, sig):
    """Stopping the daemon under load: apps may see errors once it is gone
    (ENOTCONN, ENOENT...), but the daemon itself must unmount and exit 0."""
    base, src, mnt = tree
    os.chmod(src, 0o777)
    d = mfs.Daemon(src, mnt)
    ps = []
    try:
        d.start()

        def busy(ch, k):
            ch.send("go")
            n = 0
            try:
                while True:
                    p = os.path.join(mnt, f"busy-{k}-{n % 20}")
                    with open(p, "wb") as f:
                        f.write(os.urandom(65536))
                    with open(p, "rb") as f:
                        f.read()
                    os.stat(mnt)
                    n += 1
            except OSError:
                return n

        ps = [mfs.Spawned((A, B)[k % 2], busy, k) for k in range(6)]
        for p in ps:
            assert p.recv() == "go"
        time.sleep(1.0)
        rc = d.stop(sig)
        assert rc == 0, f"exit status {rc} after {sig.name} under load; log:\n{d.log()[-3000:]}"
        assert not mfs.is_mounted(mnt)
        for p in ps:
            assert p.result(timeout=30) > 0
    finally:
        for p in ps:
            p.kill()
        d.cleanup()


@pytest.mark.parametrize("what", ["create", "mkdir"])
def test_exclusive_create_races_have_one_winner(pt_mount, what):
    """16 apps race to O_CREAT|O_EXCL (or mkdir) the same 30 names: every name
    has exactly one winner, everyone else gets EEXIST."""
    t = pt_mount
    t.dir("race", uid=0, mode=0o777)
    names = [f"n{i}" for i in range(30)]

    def racer(ch, k):
        ch.send("ready")
        ch.recv()
        out = {}
        for n in names:
            p = os.path.join(t.m("race"), n)
            try:
                if what == "create":
                    os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                else:
                    os.mkdir(p)
                out[n] = 0
            except OSError as e:
                out[n] = e.errno
        return out

    ps = [mfs.Spawned((A, B)[k % 2], racer, k) for k in range(16)]
    try:
        for p in ps:
            assert p.recv() == "ready"
        for p in ps:
            p.send("go")
        results = [p.result(timeout=60) for p in ps]
    finally:
        for p in ps:
            p.kill()
    for n in names:
        outcomes = sorted(r[n] for r in results)
        assert outcomes.count(0) == 1, f"{n}: {outcomes.count(0)} winners"
        assert set(outcomes) <= {0, errno.EEXIST}, \
            f"{n}: unexpected errors {[mfs.ename(e) for e in outcomes if e]}"
    assert sorted(os.listdir(t.s("race"))) == sorted(names)


def test_cwd_survives_renames_of_its_ancestors(mount):
    t = mount
    t.dir("a", uid=A)
    t.dir("a/b", uid=A)

    def app(ch):
        os.chdir(t.m("a", "b"))
        ch.send("in")
        ch.recv()
        with open("made-after-rename", "w") as f:
            f.write("relative")
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)    # fsync of a directory
        finally:
            os.close(fd)
        return sorted(os.listdir("."))

    s = mfs.Spawned(A, app)
    try:
        assert s.recv() == "in"
        os.rename(t.m("a"), t.m("z"))
        s.send("go")
        assert s.result() == ["made-after-rename"]
    finally:
        s.kill()
    with open(t.s("z", "b", "made-after-rename")) as f:
        assert f.read() == "relative"
    assert not os.path.exists(t.s("a"))
