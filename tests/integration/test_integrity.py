"""
Data integrity: one seeded random sequence of ~2000 file operations (writes
at random offsets, appends, truncates, reads, renames, creates, unlinks,
mkdir/rmdir, operations on long-held descriptors of renamed or unlinked
files, fallocate, copy_file_range) is applied step by step to a directory
through the mount and to a plain reference directory. Every step must give
the same result or the same errno on both sides, and at the end the mount,
SOURCE and the reference hold identical trees (names and contents).

Set MEDIAFS_IT_SEED to replay a particular sequence.
"""
import errno
import os
import random

import pytest

import mfs
from mfs import run_as

A = mfs.APP_UIDS[0]
NOPS = 2000
NAMES = [f"f{i}" for i in range(12)] + ["x y", "ünï"]
DNAMES = ["d0", "d1", "d2", "sub"]


class Divergence(AssertionError):
    pass


def run_sequence(side_a, side_r, seed, nops):
    """Applies the sequence to side_a (mount) and side_r (reference).
    Returns the number of steps; raises Divergence at the first difference."""
    rnd = random.Random(seed)
    pool = []  # [rel, fd_a, fd_r]
    history = []

    def attempt(fn, root_or_fd):
        try:
            return ("ok", fn(root_or_fd))
        except OSError as e:
            return ("err", errno.errorcode.get(e.errno, e.errno))

    def both(desc, fn_a, fn_r=None):
        fn_r = fn_r or fn_a
        ra = attempt(fn_a, side_a)
        rr = attempt(fn_r, side_r)
        history.append(desc)
        if ra != rr:
            def short(r):
                s = repr(r)
                return s if len(s) < 300 else s[:300] + "..."
            raise Divergence(f"step {len(history)} {desc}: mount gave {short(ra)}, reference "
                             f"gave {short(rr)}; seed {seed}; last steps: {history[-8:]}")
        return rr

    def entries():
        files, dirs = [], [""]
        for dp, dn, fn in os.walk(side_r):
            rel = os.path.relpath(dp, side_r)
            rel = "" if rel == "." else rel
            dirs += [os.path.join(rel, d) for d in dn]
            files += [os.path.join(rel, f) for f in fn]
        return sorted(files), sorted(dirs)

    def wfile(rel, data, flags):
        def f(root):
            fd = os.open(os.path.join(root, rel), flags, 0o644)
            try:
                n = 0
                while n < len(data):
                    n += os.write(fd, data[n:])
                return os.fstat(fd).st_size
            finally:
                os.close(fd)
        return f

    for step in range(nops):
        files, dirs = entries()
        op = rnd.choices(
            ["create", "write", "append", "read", "truncate", "otrunc", "rename", "noreplace",
             "unlink", "mkdir", "rmdir", "hold", "fdwrite", "fdread", "fdtrunc", "release",
             "fsync", "fallocate", "copy", "list", "stat"],
            [10, 14, 5, 10, 5, 2, 8, 2, 5, 3, 3, 4, 8, 8, 2, 3, 2, 2, 3, 3, 3])[0]
        if op in ("fdwrite", "fdread", "fdtrunc", "fsync", "fallocate", "release") and not pool:
            op = "hold"
        subdirs = dirs[1:]  # never rename, unlink or rmdir the work directory itself
        if op == "hold" and len(pool) >= 6:
            op = "release"
        if op == "rmdir" and not subdirs:
            op = "mkdir"
        f = rnd.choice(files) if files and rnd.random() < 0.92 else \
            os.path.join(rnd.choice(dirs), rnd.choice(NAMES))
        d = rnd.choice(dirs)
        if op == "create":
            rel = os.path.join(d, rnd.choice(NAMES))
            data = rnd.randbytes(rnd.choice([0, 1, 100, 4096, 5000, 65536, 200_000]))
            both(f"create {rel} {len(data)}", wfile(rel, data, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        elif op == "write":
            off = rnd.randrange(0, 300_000)
            data = rnd.randbytes(rnd.randint(1, 70_000))

            def w(root, rel=f, off=off, data=data):
                fd = os.open(os.path.join(root, rel), os.O_RDWR)
                try:
                    return os.pwrite(fd, data, off), os.fstat(fd).st_size
                finally:
                    os.close(fd)
            both(f"write {f} @{off} {len(data)}", w)
        elif op == "append":
            data = rnd.randbytes(rnd.randint(1, 10_000))
            both(f"append {f} {len(data)}", wfile(f, data, os.O_WRONLY | os.O_APPEND))
        elif op == "read":
            def r(root, rel=f):
                with open(os.path.join(root, rel), "rb") as fh:
                    return fh.read()
            both(f"read {f}", r)
        elif op == "truncate":
            size = rnd.randrange(0, 400_000)
            both(f"truncate {f} {size}", lambda root, rel=f, s=size:
                 os.truncate(os.path.join(root, rel), s))
        elif op == "otrunc":
            both(f"open O_TRUNC {f}", wfile(f, b"", os.O_WRONLY | os.O_TRUNC))
        elif op in ("rename", "noreplace"):
            src = f if rnd.random() < 0.8 or not subdirs else rnd.choice(subdirs)
            dst = os.path.join(rnd.choice(dirs), rnd.choice(NAMES + DNAMES))
            if op == "rename":
                both(f"rename {src} -> {dst}", lambda root, a=src, b=dst:
                     os.rename(os.path.join(root, a), os.path.join(root, b)))
            else:
                both(f"rename NOREPLACE {src} -> {dst}", lambda root, a=src, b=dst:
                     mfs.renameat2(os.path.join(root, a), os.path.join(root, b),
                                   mfs.RENAME_NOREPLACE))
        elif op == "unlink":
            target = f if rnd.random() < 0.9 or not subdirs else rnd.choice(subdirs)
            both(f"unlink {target}", lambda root, rel=target: os.unlink(os.path.join(root, rel)))
        elif op == "mkdir":
            rel = os.path.join(d, rnd.choice(DNAMES))
            both(f"mkdir {rel}", lambda root, rel=rel: os.mkdir(os.path.join(root, rel)))
        elif op == "rmdir":
            if subdirs:
                rel = rnd.choice(subdirs)
                both(f"rmdir {rel}", lambda root, rel=rel: os.rmdir(os.path.join(root, rel)))
        elif op == "hold":
            if len(pool) < 6:
                fa = attempt(lambda root: os.open(os.path.join(root, f), os.O_RDWR), side_a)
                fr = attempt(lambda root: os.open(os.path.join(root, f), os.O_RDWR), side_r)
                history.append(f"hold {f}")
                if (fa[0], fr[0]) == ("ok", "ok"):
                    pool.append([f, fa[1], fr[1]])
                else:
                    for x in (fa, fr):
                        if x[0] == "ok":
                            os.close(x[1])
                    if fa != fr:
                        raise Divergence(f"step {len(history)} hold {f}: {fa} vs {fr}; "
                                         f"seed {seed}")
        elif op in ("fdwrite", "fdread", "fdtrunc", "fsync", "fallocate", "release"):
            i = rnd.randrange(len(pool))
            rel, fa, fr = pool[i]
            fds = {side_a: fa, side_r: fr}
            if op == "fdwrite":
                off = rnd.randrange(0, 300_000)
                data = rnd.randbytes(rnd.randint(1, 70_000))
                both(f"fd-write {rel} @{off} {len(data)}",
                     lambda root: (os.pwrite(fds[root], data, off), os.fstat(fds[root]).st_size))
            elif op == "fdread":
                off = rnd.randrange(0, 300_000)
                n = rnd.randint(1, 100_000)
                both(f"fd-read {rel} @{off} {n}", lambda root: os.pread(fds[root], n, off))
            elif op == "fdtrunc":
                size = rnd.randrange(0, 300_000)
                both(f"ftruncate {rel} {size}", lambda root: os.ftruncate(fds[root], size))
            elif op == "fsync":
                both(f"fsync {rel}", lambda root: os.fsync(fds[root]))
            elif op == "fallocate":
                off = rnd.randrange(0, 300_000)
                n = rnd.randint(1, 100_000)
                both(f"fallocate {rel} @{off} {n}", lambda root: (
                    os.posix_fallocate(fds[root], off, n), os.fstat(fds[root]).st_size))
            else:
                pool.pop(i)
                both(f"close {rel}", lambda root: os.close(fds[root]))
        elif op == "copy":
            g = rnd.choice(files) if files else f
            off_in = rnd.randrange(0, 200_000)
            off_out = rnd.randrange(0, 200_000)
            n = rnd.randint(1, 100_000)

            def cp(root, a=f, b=g):
                s = os.open(os.path.join(root, a), os.O_RDONLY)
                try:
                    t = os.open(os.path.join(root, b), os.O_WRONLY)
                    try:
                        return os.copy_file_range(s, t, n, off_in, off_out), os.fstat(t).st_size
                    finally:
                        os.close(t)
                finally:
                    os.close(s)
            both(f"copy_file_range {f}@{off_in} -> {g}@{off_out} {n}", cp)
        elif op == "list":
            both(f"listdir {d}", lambda root: sorted(os.listdir(os.path.join(root, d))))
        elif op == "stat":
            target = f if rnd.random() < 0.7 else d

            def st(root, rel=target):
                s = os.stat(os.path.join(root, rel))
                return (s.st_mode & 0o170000, s.st_size if not os.path.isdir(
                    os.path.join(root, rel)) else None, s.st_nlink if s.st_mode & 0o100000 else None)
            both(f"stat {target}", st)
    for rel, fa, fr in pool:
        os.close(fa)
        os.close(fr)
    return len(history)


def _compare_trees(label, got, want):
    assert set(got) == set(want), f"{label}: names differ: only in {label}: " \
        f"{sorted(set(got) - set(want))[:10]}, missing: {sorted(set(want) - set(got))[:10]}"
    bad = [k for k in want if got[k] != want[k]]
    assert not bad, f"{label}: contents differ for {bad[:10]}"


@pytest.mark.parametrize("uid", [0, A])
def test_random_sequence_matches_reference(mount, uid):
    t = mount
    seed = int(os.environ.get("MEDIAFS_IT_SEED", "20240607")) + uid + (7 if t.passthrough else 0)
    t.dir("work", uid=uid, mode=0o755)
    ref = os.path.join(t.base, "ref")
    os.mkdir(ref)
    os.chown(ref, uid, uid)
    os.chmod(ref, 0o755)
    steps = run_as(uid, run_sequence, t.m("work"), ref, seed, NOPS, timeout=600)
    assert steps >= NOPS * 0.95, f"only {steps} of {NOPS} steps ran"
    want = mfs.tree_snapshot(ref)
    assert len(want) > 3, "the sequence left an implausibly empty tree"
    _compare_trees("mount", mfs.tree_snapshot(t.m("work")), want)
    _compare_trees("SOURCE", mfs.tree_snapshot(t.s("work")), want)
