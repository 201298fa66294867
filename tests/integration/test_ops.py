"""
Every FUSE operation of mediafsd in posix mode (no --db), as root and as the
unprivileged apps 10001 and 10002: what works, what posix modes forbid
(EACCES, via the kernel's default_permissions on the backing files' real
owner and mode), and what the daemon refuses by design (EPERM, EINVAL).

Data-path operations run in both modes (kernel passthrough and
--no-passthrough); pure metadata operations run once.
"""
import errno
import fcntl
import mmap
import os
import socket
import stat
import time

import pytest

import mfs
from mfs import assert_errno, errno_of, run_as

A, B = mfs.APP_UIDS  # two apps


def write_file(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    fd = os.open(path, flags, mode)
    try:
        n = 0
        while n < len(data):
            n += os.write(fd, data[n:])
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def open_close(path, flags, mode=0o644):
    os.close(os.open(path, flags, mode))


# ------------------------------------------------------------------ lookup, getattr

def test_getattr_matches_backing_file(mount):
    t = mount
    t.dir("d", uid=A, mode=0o750)
    t.file("d/f", b"x" * 12345, uid=A, mode=0o640)
    t.file("g", b"", uid=B, mode=0o604, gid=A)
    t.dir("e", uid=0, mode=0o1777)
    for rel in ("d", "d/f", "g", "e", ""):
        want = os.stat(t.s(rel))
        # the root's attributes were fetched at mount time, before the
        # entries above were added behind the daemon's back: no size/time
        fields = ("st_mode", "st_uid", "st_gid") + (("st_size", "st_mtime_ns") if rel else ())
        for uid in (0, A):
            got = run_as(uid, os.stat, t.m(rel))
            for field in fields:
                assert getattr(got, field) == getattr(want, field), \
                    f"{rel!r} as uid {uid}: {field} {getattr(got, field)!r} != backing " \
                    f"{getattr(want, field)!r}"
            if stat.S_ISREG(want.st_mode):
                assert got.st_nlink == want.st_nlink
    # fstat on an open file agrees with stat
    fd = os.open(t.m("d/f"), os.O_RDONLY)
    try:
        assert os.fstat(fd).st_size == 12345
    finally:
        os.close(fd)


def test_lookup_missing_is_enoent(pt_mount):
    t = pt_mount
    t.dir("d", uid=A)
    for uid in (0, A, B):
        assert_errno(errno.ENOENT, uid, os.stat, t.m("nope"))
        assert_errno(errno.ENOENT, uid, os.stat, t.m("d", "nope"))
        assert_errno(errno.ENOENT, uid, os.open, t.m("nope"), os.O_RDONLY)
        assert_errno(errno.ENOENT, uid, os.stat, t.m("d", "nope", "deeper"))
    t.file("f", b"1")
    # a path component that is a file
    assert_errno(errno.ENOTDIR, 0, os.stat, t.m("f", "x"))


def test_lookup_through_untraversable_dir_is_eacces(pt_mount):
    t = pt_mount
    t.dir("priv", uid=A, mode=0o700)
    t.file("priv/f", b"secret", uid=A, mode=0o644)
    assert_errno(errno.EACCES, B, os.stat, t.m("priv", "f"))
    assert_errno(errno.EACCES, B, os.open, t.m("priv", "f"), os.O_RDONLY)
    assert run_as(A, read_file, t.m("priv", "f")) == b"secret"
    assert read_file(t.m("priv", "f")) == b"secret"


# ------------------------------------------------------------------ readdir

def test_readdir_lists_source_exactly(mount):
    t = mount
    t.dir("big", uid=A, mode=0o755)
    names = set()
    for i in range(1500):
        n = f"entry-{i:05d}-" + "n" * (i % 40)
        if i % 10 == 0:
            os.mkdir(t.s("big", n))
        else:
            with open(t.s("big", n), "wb") as f:
                f.write(b"%d" % i)
        names.add(n)
    for uid in (0, A, B):
        listed = run_as(uid, os.listdir, t.m("big"))
        assert len(listed) == len(set(listed)), "readdir returned duplicates"
        assert set(listed) == names

    def scan(path):
        return sorted((e.name, e.is_dir(follow_symlinks=False),
                       e.is_file(follow_symlinks=False),
                       e.stat(follow_symlinks=False).st_size) for e in os.scandir(path))

    want = sorted((n, os.path.isdir(t.s("big", n)), os.path.isfile(t.s("big", n)),
                   os.lstat(t.s("big", n)).st_size) for n in names)
    assert run_as(A, scan, t.m("big")) == want


def test_readdir_empty_and_root(pt_mount):
    t = pt_mount
    t.dir("empty", uid=A)
    t.file("top", b"")
    assert os.listdir(t.m("empty")) == []
    assert sorted(os.listdir(t.mnt)) == sorted(os.listdir(t.src))


def test_opendir_forbidden_by_mode(pt_mount):
    t = pt_mount
    t.dir("priv", uid=A, mode=0o700)
    t.dir("xonly", uid=A, mode=0o711)
    t.file("xonly/known", b"k", uid=A, mode=0o644)
    assert_errno(errno.EACCES, B, os.listdir, t.m("priv"))
    assert_errno(errno.EACCES, B, os.open, t.m("priv"), os.O_RDONLY | os.O_DIRECTORY)
    assert run_as(A, os.listdir, t.m("priv")) == []
    assert os.listdir(t.m("priv")) == []
    # search-only directory: no listing, but known names resolve
    assert_errno(errno.EACCES, B, os.listdir, t.m("xonly"))
    assert run_as(B, read_file, t.m("xonly", "known")) == b"k"


def test_opendir_on_file_is_enotdir(pt_mount):
    t = pt_mount
    t.file("f", b"")
    assert_errno(errno.ENOTDIR, A, os.listdir, t.m("f"))


# ------------------------------------------------------------------ create, open

@pytest.mark.parametrize("uid", [0, A, B])
def test_create_owned_by_creator(pt_mount, uid):
    t = pt_mount
    t.dir("own", uid=uid, mode=0o755)
    t.dir("pub", uid=0, mode=0o777)
    for rel in ("own/new.bin", "pub/new.bin"):
        run_as(uid, open_close, t.m(rel), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640,
               umask=0o022)
        st = os.stat(t.s(rel))
        assert (st.st_uid, st.st_gid) == (uid, uid), f"{rel} created by {uid} owned by " \
                                                     f"{st.st_uid}:{st.st_gid}"
        assert stat.S_IMODE(st.st_mode) == 0o640
        assert stat.S_ISREG(st.st_mode)
        st_m = run_as(uid, os.stat, t.m(rel))
        assert (st_m.st_uid, st_m.st_gid, st_m.st_mode) == (uid, uid, st.st_mode)
    # umask applies
    run_as(uid, open_close, t.m("pub", "masked"), os.O_CREAT | os.O_WRONLY, 0o666, umask=0o077)
    assert stat.S_IMODE(os.stat(t.s("pub", "masked")).st_mode) == 0o600


def test_create_errors(pt_mount):
    t = pt_mount
    t.dir("a", uid=A, mode=0o755)
    t.file("a/exists", b"keep", uid=A, mode=0o666)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    assert_errno(errno.EEXIST, A, open_close, t.m("a", "exists"), flags)
    assert_errno(errno.EEXIST, 0, open_close, t.m("a", "exists"), flags)
    assert_errno(errno.EACCES, B, open_close, t.m("a", "new"), flags)
    assert not os.path.exists(t.s("a", "new"))
    assert_errno(errno.ENOENT, A, open_close, t.m("a", "nodir", "new"), flags)
    # root bypasses modes (CAP_DAC_OVERRIDE) and still owns what it creates
    run_as(0, open_close, t.m("a", "byroot"), flags)
    assert os.stat(t.s("a", "byroot")).st_uid == 0
    assert read_file(t.s("a", "exists")) == b"keep"


def test_open_forbidden_by_mode(mount):
    t = mount
    t.dir("d", uid=A, mode=0o755)
    t.file("d/private", b"p" * 10, uid=A, mode=0o600)
    t.file("d/readable", b"r" * 10, uid=A, mode=0o644)
    t.file("d/readonly", b"o" * 10, uid=A, mode=0o444)
    t.file("d/writeonly", b"w" * 10, uid=A, mode=0o622)
    R, W, RW = os.O_RDONLY, os.O_WRONLY, os.O_RDWR
    assert_errno(errno.EACCES, B, open_close, t.m("d/private"), R)
    assert_errno(errno.EACCES, B, open_close, t.m("d/private"), W)
    assert_errno(errno.EACCES, B, open_close, t.m("d/private"), RW)
    assert_errno(0, A, open_close, t.m("d/private"), RW)
    assert_errno(0, 0, open_close, t.m("d/private"), RW)
    assert_errno(0, B, open_close, t.m("d/readable"), R)
    assert_errno(errno.EACCES, B, open_close, t.m("d/readable"), W)
    assert_errno(errno.EACCES, B, open_close, t.m("d/readable"), W | os.O_TRUNC)
    assert_errno(errno.EACCES, A, open_close, t.m("d/readonly"), W)
    assert_errno(0, A, open_close, t.m("d/readonly"), R)
    assert_errno(errno.EACCES, B, open_close, t.m("d/writeonly"), R)
    assert_errno(0, B, write_file, t.m("d/writeonly"), b"zz", W)
    assert read_file(t.s("d/writeonly")) == b"zzwwwwwwww"
    assert read_file(t.s("d/private")) == b"p" * 10
    assert read_file(t.s("d/readable")) == b"r" * 10
    # open on a directory for writing
    assert_errno(errno.EISDIR, A, open_close, t.m("d"), W)


@pytest.mark.parametrize("uid", [0, A])
def test_write_read_roundtrip(mount, uid):
    t = mount
    t.dir("d", uid=uid, mode=0o755)
    p = t.m("d", "f")
    payload = os.urandom(300_000)

    def app():
        write_file(p, payload)
        out = {"whole": read_file(p)}
        fd = os.open(p, os.O_RDWR)
        try:
            assert os.pwrite(fd, b"HELLO", 1000) == 5
            assert os.pwrite(fd, b"TAIL", 300_000) == 4       # extends at EOF
            out["pread"] = os.pread(fd, 10, 998)
            out["eof"] = os.pread(fd, 100, 400_000)
            out["size"] = os.fstat(fd).st_size
            os.lseek(fd, 0, os.SEEK_SET)
            out["seq"] = os.read(fd, 7)
        finally:
            os.close(fd)
        fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"APPENDED")
        finally:
            os.close(fd)
        out["after_append"] = read_file(p)[-12:]
        write_file(p + ".t", b"0123456789")
        fd = os.open(p + ".t", os.O_WRONLY | os.O_TRUNC)
        os.close(fd)
        out["trunc_size"] = os.stat(p + ".t").st_size
        return out

    out = run_as(uid, app)
    assert out["whole"] == payload
    assert out["pread"] == payload[998:1000] + b"HELLO" + payload[1005:1008]
    assert out["eof"] == b""
    assert out["size"] == 300_004
    assert out["seq"] == payload[:7]
    assert out["after_append"] == b"TAILAPPENDED"
    assert out["trunc_size"] == 0
    expect = bytearray(payload)
    expect[1000:1005] = b"HELLO"
    expect += b"TAILAPPENDED"
    assert t.read_src("d/f") == bytes(expect)
    assert read_file(p) == bytes(expect)
    assert os.stat(t.s("d/f.t")).st_size == 0


def test_write_on_readonly_fd_is_ebadf(mount):
    t = mount
    t.file("f", b"abc", uid=A, mode=0o644)

    def app():
        fd = os.open(t.m("f"), os.O_RDONLY)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)

    assert_errno(errno.EBADF, A, app)

    def app2():
        fd = os.open(t.m("f"), os.O_WRONLY)
        try:
            os.read(fd, 1)
        finally:
            os.close(fd)

    assert_errno(errno.EBADF, A, app2)
    assert t.read_src("f") == b"abc"


def test_fsync_and_flush_reach_backing_file(mount):
    t = mount
    t.dir("d", uid=A)
    p = t.m("d", "f")
    data = os.urandom(1 << 20)

    def app(ch):
        fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, data)
        os.fsync(fd)
        ch.send("synced")
        ch.recv()
        os.pwrite(fd, b"Z" * 10, 0)
        os.fdatasync(fd)
        ch.send("datasynced")
        ch.recv()
        os.close(fd)
        return True

    s = mfs.Spawned(A, app)
    try:
        assert s.recv() == "synced"
        assert t.read_src("d/f") == data, "fsync did not put the data in the backing file"
        s.send("go")
        assert s.recv() == "datasynced"
        assert t.read_src("d/f")[:10] == b"Z" * 10
        s.send("go")
        assert s.result() is True
    finally:
        s.kill()


def test_unlinked_open_file_stays_usable(mount):
    t = mount
    t.dir("d", uid=A)

    def app():
        p = t.m("d", "f")
        write_file(p, b"before")
        fd = os.open(p, os.O_RDWR)
        try:
            os.unlink(p)
            gone = not os.path.exists(p)
            os.pwrite(fd, b"AFTER!", 0)
            data = os.pread(fd, 100, 0)
            return gone, data, os.fstat(fd).st_size
        finally:
            os.close(fd)

    gone, data, size = run_as(A, app)
    assert gone
    assert data == b"AFTER!"
    assert size == 6
    assert os.listdir(t.s("d")) == []


def test_large_sparse_offset(mount):
    t = mount
    t.dir("d", uid=A)
    off = 5 * 1024 ** 3 + 123

    def app():
        fd = os.open(t.m("d", "big"), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            os.pwrite(fd, b"far away", off)
            return os.fstat(fd).st_size, os.pread(fd, 8, off), os.pread(fd, 4, 4096)
        finally:
            os.close(fd)

    size, far, near = run_as(A, app)
    assert size == off + 8
    assert far == b"far away"
    assert near == b"\0\0\0\0"
    assert os.stat(t.s("d", "big")).st_size == off + 8


def test_mmap_read_and_shared_write(mount):
    t = mount
    t.dir("d", uid=A)
    data = os.urandom(3 * 4096 + 100)
    t.file("d/f", data, uid=A, mode=0o644)

    def app():
        fd = os.open(t.m("d", "f"), os.O_RDWR)
        try:
            m = mmap.mmap(fd, len(data), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            got = m[:]
            m[4096:4102] = b"MAPPED"
            m.flush()
            m.close()
            return got
        finally:
            os.close(fd)

    assert run_as(A, app) == data
    want = data[:4096] + b"MAPPED" + data[4102:]
    assert read_file(t.m("d", "f")) == want
    assert t.read_src("d/f") == want


# ------------------------------------------------------------------ mkdir, rmdir

@pytest.mark.parametrize("uid", [0, A])
def test_mkdir_owned_by_creator(pt_mount, uid):
    t = pt_mount
    t.dir("pub", uid=0, mode=0o777)
    run_as(uid, os.mkdir, t.m("pub", "sub"), 0o751, umask=0o022)
    st = os.stat(t.s("pub", "sub"))
    assert stat.S_ISDIR(st.st_mode)
    assert (st.st_uid, st.st_gid) == (uid, uid)
    assert stat.S_IMODE(st.st_mode) == 0o751
    run_as(uid, os.mkdir, t.m("pub", "sub", "deeper"), 0o777, umask=0o027)
    st = os.stat(t.s("pub", "sub", "deeper"))
    assert stat.S_IMODE(st.st_mode) == 0o750
    assert run_as(uid, os.listdir, t.m("pub", "sub")) == ["deeper"]


def test_mkdir_errors(pt_mount):
    t = pt_mount
    t.dir("a", uid=A, mode=0o755)
    t.file("a/file", b"")
    assert_errno(errno.EEXIST, A, os.mkdir, t.m("a"))
    assert_errno(errno.EEXIST, A, os.mkdir, t.m("a", "file"))
    assert_errno(errno.EACCES, B, os.mkdir, t.m("a", "x"))
    assert_errno(errno.ENOENT, A, os.mkdir, t.m("a", "missing", "x"))
    assert_errno(errno.ENOTDIR, A, os.mkdir, t.m("a", "file", "x"))
    assert not os.path.exists(t.s("a", "x"))


def test_rmdir(pt_mount):
    t = pt_mount
    t.dir("a", uid=A, mode=0o755)
    t.dir("a/empty", uid=A)
    t.dir("a/full", uid=A)
    t.file("a/full/f", b"")
    t.file("a/file", b"")
    assert_errno(errno.EACCES, B, os.rmdir, t.m("a", "empty"))
    assert_errno(errno.ENOTEMPTY, A, os.rmdir, t.m("a", "full"))
    assert_errno(errno.ENOTDIR, A, os.rmdir, t.m("a", "file"))
    assert_errno(errno.ENOENT, A, os.rmdir, t.m("a", "missing"))
    assert_errno(0, A, os.rmdir, t.m("a", "empty"))
    assert not os.path.exists(t.s("a", "empty"))
    assert_errno(errno.ENOENT, A, os.stat, t.m("a", "empty"))
    assert sorted(os.listdir(t.m("a"))) == ["file", "full"]


# ------------------------------------------------------------------ unlink

def test_unlink(pt_mount):
    t = pt_mount
    t.dir("a", uid=A, mode=0o755)
    t.file("a/f", b"1", uid=A)
    t.file("a/g", b"1", uid=B, mode=0o666)
    t.dir("a/dir", uid=A)
    assert_errno(errno.EACCES, B, os.unlink, t.m("a", "f"))
    assert_errno(errno.EACCES, B, os.unlink, t.m("a", "g"))  # dir write perm decides
    assert_errno(errno.EISDIR, A, os.unlink, t.m("a", "dir"))
    assert_errno(errno.ENOENT, A, os.unlink, t.m("a", "missing"))
    assert_errno(0, A, os.unlink, t.m("a", "f"))
    assert_errno(0, A, os.unlink, t.m("a", "g"))
    assert sorted(os.listdir(t.s("a"))) == ["dir"]
    assert_errno(errno.ENOENT, A, os.stat, t.m("a", "f"))


def test_sticky_directory(pt_mount):
    t = pt_mount
    t.dir("tmp", uid=0, mode=0o1777)
    t.file("tmp/a_file", b"a", uid=A, mode=0o666)
    assert_errno(errno.EPERM, B, os.unlink, t.m("tmp", "a_file"))
    assert_errno(errno.EPERM, B, os.rename, t.m("tmp", "a_file"), t.m("tmp", "stolen"))
    assert_errno(0, B, write_file, t.m("tmp", "b_file"), b"b")
    assert_errno(0, A, os.unlink, t.m("tmp", "a_file"))
    assert_errno(0, 0, os.unlink, t.m("tmp", "b_file"))
    assert os.listdir(t.s("tmp")) == []


# ------------------------------------------------------------------ rename

def test_rename_moves_files_and_dirs(mount):
    t = mount
    t.dir("a", uid=A)
    t.dir("b", uid=A)
    t.dir("a/sub", uid=A)
    t.file("a/sub/inner", b"inner", uid=A)
    t.file("a/f", b"f", uid=A)
    t.file("b/victim", b"victim", uid=A)

    def app():
        os.rename(t.m("a", "f"), t.m("a", "f2"))              # same dir
        os.rename(t.m("a", "f2"), t.m("b", "f3"))             # across dirs
        os.rename(t.m("b", "f3"), t.m("b", "victim"))         # replaces
        os.rename(t.m("a", "sub"), t.m("b", "sub2"))          # a dir with contents
        os.rename(t.m("b", "sub2"), t.m("b", "sub2"))         # no-op on itself
        return (sorted(os.listdir(t.m("a"))), sorted(os.listdir(t.m("b"))),
                read_file(t.m("b", "victim")), read_file(t.m("b", "sub2", "inner")))

    la, lb, victim, inner = run_as(A, app)
    assert la == []
    assert lb == ["sub2", "victim"]
    assert victim == b"f"
    assert inner == b"inner"
    assert sorted(os.listdir(t.s("b"))) == ["sub2", "victim"]
    assert t.read_src("b/victim") == b"f"
    assert t.read_src("b/sub2/inner") == b"inner"


def test_rename_keeps_open_file_working(mount):
    t = mount
    t.dir("d", uid=A)

    def app():
        write_file(t.m("d", "x"), b"12345")
        fd = os.open(t.m("d", "x"), os.O_RDWR)
        try:
            os.rename(t.m("d", "x"), t.m("d", "y"))
            os.pwrite(fd, b"AB", 0)
            return os.pread(fd, 5, 0)
        finally:
            os.close(fd)

    assert run_as(A, app) == b"AB345"
    assert t.read_src("d/y") == b"AB345"


def test_rename_errors(pt_mount):
    t = pt_mount
    t.dir("a", uid=A, mode=0o755)
    t.dir("bpub", uid=B, mode=0o777)
    t.file("a/f", b"f", uid=A)
    t.dir("a/d", uid=A)
    t.dir("a/d/child", uid=A)
    t.dir("a/full", uid=A)
    t.file("a/full/x", b"")
    t.dir("a/emptydir", uid=A)
    assert_errno(errno.EACCES, B, os.rename, t.m("a", "f"), t.m("bpub", "f"))
    assert_errno(errno.EACCES, B, os.rename, t.m("bpub"), t.m("a", "bpub"))
    assert_errno(errno.ENOTEMPTY, A, os.rename, t.m("a", "d"), t.m("a", "full"))
    assert_errno(errno.EISDIR, A, os.rename, t.m("a", "f"), t.m("a", "emptydir"))
    assert_errno(errno.ENOTDIR, A, os.rename, t.m("a", "emptydir"), t.m("a", "f"))
    assert_errno(errno.EINVAL, A, os.rename, t.m("a", "d"), t.m("a", "d", "child", "x"))
    assert_errno(errno.ENOENT, A, os.rename, t.m("a", "missing"), t.m("a", "y"))
    # out of the mount: a different file system
    outside = os.path.join(t.base, "m", "outside")
    assert_errno(errno.EXDEV, 0, os.rename, t.m("a", "f"), outside)
    assert not os.path.exists(outside)
    assert sorted(os.listdir(t.s("a"))) == ["d", "emptydir", "f", "full"]


@pytest.mark.parametrize("uid", [0, A])
def test_rename_noreplace(pt_mount, uid):
    t = pt_mount
    t.dir("d", uid=uid)
    t.file("d/src", b"src", uid=uid)
    t.file("d/dst", b"dst", uid=uid)
    assert_errno(errno.EEXIST, uid, mfs.renameat2, t.m("d", "src"), t.m("d", "dst"),
                 mfs.RENAME_NOREPLACE)
    assert t.read_src("d/src") == b"src"
    assert t.read_src("d/dst") == b"dst"
    assert_errno(0, uid, mfs.renameat2, t.m("d", "src"), t.m("d", "new"),
                 mfs.RENAME_NOREPLACE)
    assert sorted(os.listdir(t.s("d"))) == ["dst", "new"]
    assert t.read_src("d/new") == b"src"
    assert run_as(uid, read_file, t.m("d", "new")) == b"src"


@pytest.mark.parametrize("uid", [0, A])
def test_rename_exchange_is_einval(pt_mount, uid):
    t = pt_mount
    t.dir("d", uid=uid)
    t.file("d/one", b"one", uid=uid)
    t.file("d/two", b"two", uid=uid)
    assert_errno(errno.EINVAL, uid, mfs.renameat2, t.m("d", "one"), t.m("d", "two"),
                 mfs.RENAME_EXCHANGE)
    assert t.read_src("d/one") == b"one"
    assert t.read_src("d/two") == b"two"
    assert run_as(uid, read_file, t.m("d", "one")) == b"one"
    assert run_as(uid, read_file, t.m("d", "two")) == b"two"


def test_rename_whiteout_is_einval(pt_mount):
    t = pt_mount
    t.file("one", b"one")
    assert_errno(errno.EINVAL, 0, mfs.renameat2, t.m("one"), t.m("two"), mfs.RENAME_WHITEOUT)
    assert sorted(os.listdir(t.src)) == ["one"]


# ------------------------------------------------------------------ setattr

@pytest.mark.parametrize("uid", [0, A])
def test_truncate(mount, uid):
    t = mount
    t.dir("d", uid=uid)
    t.file("d/f", b"0123456789", uid=uid, mode=0o644)

    def app():
        p = t.m("d", "f")
        os.truncate(p, 4)
        a = read_file(p)
        os.truncate(p, 8)
        b = read_file(p)
        fd = os.open(p, os.O_RDWR)
        try:
            os.ftruncate(fd, 2)
            c = os.pread(fd, 100, 0)
            os.ftruncate(fd, 100_000)
            d = os.fstat(fd).st_size
        finally:
            os.close(fd)
        return a, b, c, d

    a, b, c, d = run_as(uid, app)
    assert a == b"0123"
    assert b == b"0123\0\0\0\0"
    assert c == b"01"
    assert d == 100_000
    assert t.read_src("d/f") == b"01" + b"\0" * 99_998


def test_truncate_forbidden_by_mode(pt_mount):
    t = pt_mount
    t.file("f", b"0123456789", uid=A, mode=0o644)
    assert_errno(errno.EACCES, B, os.truncate, t.m("f"), 0)
    assert_errno(errno.EACCES, B, open_close, t.m("f"), os.O_WRONLY | os.O_TRUNC)
    assert t.read_src("f") == b"0123456789"


def test_utimes(pt_mount):
    t = pt_mount
    t.file("mine", b"", uid=A, mode=0o666)
    t.file("ro", b"", uid=A, mode=0o644)
    ns = (1_234_567_890_123_456_789, 1_300_000_000_987_654_321)
    assert_errno(0, A, lambda: os.utime(t.m("mine"), ns=ns))
    st = os.stat(t.s("mine"))
    assert (st.st_atime_ns, st.st_mtime_ns) == ns
    st = os.stat(t.m("mine"))
    assert (st.st_atime_ns, st.st_mtime_ns) == ns
    # a writer who is not the owner may only set "now"
    assert_errno(errno.EPERM, B, lambda: os.utime(t.m("mine"), ns=ns))
    assert_errno(0, B, os.utime, t.m("mine"), None)
    assert os.stat(t.s("mine")).st_mtime_ns > ns[1]
    # not writable, not owner: not even "now"
    assert_errno(errno.EACCES, B, os.utime, t.m("ro"), None)
    # root may set anything
    ns2 = (1_000_000_000_000_000_000, 1_000_000_001_000_000_000)
    assert_errno(0, 0, lambda: os.utime(t.m("ro"), ns=ns2))
    st = os.stat(t.s("ro"))
    assert (st.st_atime_ns, st.st_mtime_ns) == ns2
    # futimens on an open file
    fd = os.open(t.m("ro"), os.O_RDONLY)
    try:
        os.utime(fd, ns=ns)
    finally:
        os.close(fd)
    assert os.stat(t.s("ro")).st_mtime_ns == ns[1]


@pytest.mark.parametrize("uid", [0, A, B])
def test_chmod_is_eperm(pt_mount, uid):
    t = pt_mount
    t.file("f", b"", uid=A, mode=0o644)
    t.dir("d", uid=A, mode=0o755)
    assert_errno(errno.EPERM, uid, os.chmod, t.m("f"), 0o600)
    assert_errno(errno.EPERM, uid, os.chmod, t.m("f"), 0o4755)
    assert_errno(errno.EPERM, uid, os.chmod, t.m("d"), 0o777)

    def fchmod():
        fd = os.open(t.m("f"), os.O_RDONLY)
        try:
            os.fchmod(fd, 0o666)
        finally:
            os.close(fd)

    assert_errno(errno.EPERM, uid, fchmod)
    assert stat.S_IMODE(os.stat(t.s("f")).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(t.s("d")).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(t.m("f")).st_mode) == 0o644


def test_chown_is_eperm(pt_mount):
    t = pt_mount
    t.file("f", b"", uid=A, mode=0o644)
    t.dir("d", uid=A, mode=0o755)
    assert_errno(errno.EPERM, 0, os.chown, t.m("f"), B, B)
    assert_errno(errno.EPERM, 0, os.chown, t.m("f"), -1, B)
    assert_errno(errno.EPERM, 0, os.chown, t.m("f"), 0, -1)
    assert_errno(errno.EPERM, 0, os.chown, t.m("d"), B, B)
    assert_errno(errno.EPERM, A, os.chown, t.m("f"), A, A)   # even to oneself
    assert_errno(errno.EPERM, A, os.chown, t.m("f"), B, -1)
    assert_errno(errno.EPERM, B, os.chown, t.m("f"), B, B)

    def fchown():
        fd = os.open(t.m("f"), os.O_RDONLY)
        try:
            os.fchown(fd, 0, 0)
        finally:
            os.close(fd)

    assert_errno(errno.EPERM, 0, fchown)
    for rel in ("f", "d"):
        st = os.stat(t.s(rel))
        assert (st.st_uid, st.st_gid) == (A, A)
        st = os.stat(t.m(rel))
        assert (st.st_uid, st.st_gid) == (A, A)


# ------------------------------------------------------------------ statfs, access

def test_statfs_is_sources_fs(pt_mount):
    t = pt_mount
    for uid in (0, A):
        got = run_as(uid, os.statvfs, t.mnt)
        want = os.statvfs(t.src)
        for f in ("f_bsize", "f_frsize", "f_blocks", "f_files", "f_namemax"):
            assert getattr(got, f) == getattr(want, f), \
                f"statvfs {f}: mount {getattr(got, f)} != SOURCE {getattr(want, f)}"
        # free space moves with other activity; allow 1% of the size
        assert abs(got.f_bfree - want.f_bfree) <= want.f_blocks // 100
        assert abs(got.f_bavail - want.f_bavail) <= want.f_blocks // 100
    # also for a path below the root and via an open fd
    t.dir("sub", uid=A)
    assert os.statvfs(t.m("sub")).f_blocks == os.statvfs(t.src).f_blocks
    fd = os.open(t.mnt, os.O_RDONLY)
    try:
        assert os.fstatvfs(fd).f_blocks == os.statvfs(t.src).f_blocks
    finally:
        os.close(fd)


def test_access(pt_mount):
    t = pt_mount
    t.dir("d", uid=A, mode=0o750)
    t.file("d/rw", b"", uid=A, mode=0o640)
    t.file("pub_r", b"", uid=A, mode=0o644)
    t.file("pub_x", b"", uid=A, mode=0o755)
    os.symlink("pub_r", t.s("hidden_link"))

    def check(path, m):
        return os.access(path, m)

    R, W, X, F = os.R_OK, os.W_OK, os.X_OK, os.F_OK
    table = [
        (A, "d", R | W | X, True), (B, "d", R, False), (B, "d", X, False),
        (A, "d/rw", R | W, True), (A, "d/rw", X, False), (B, "d/rw", F, False),
        (B, "pub_r", R, True), (B, "pub_r", W, False), (A, "pub_r", W, True),
        (B, "pub_x", X, True), (B, "pub_x", R | X, True), (B, "pub_x", W, False),
        (0, "d/rw", R | W, True), (0, "pub_r", X, False), (0, "pub_x", X, True),
        (A, "missing", F, False), (A, "hidden_link", F, False),
    ]
    for uid, rel, m, want in table:
        assert run_as(uid, check, t.m(rel), m) is want, f"access({rel}, {m}) as {uid}"


# ------------------------------------------------------------------ fallocate, lseek, copy_file_range

@pytest.mark.parametrize("uid", [0, A])
def test_fallocate(mount, uid):
    t = mount
    t.dir("d", uid=uid)
    t.file("d/f", b"x" * 8192, uid=uid, mode=0o644)

    def app():
        fd = os.open(t.m("d", "f"), os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, 1 << 20)                     # grows
            grown = os.fstat(fd).st_size
            mfs.fallocate(fd, mfs.FALLOC_FL_KEEP_SIZE, 0, 4 << 20)  # beyond EOF, size kept
            kept = os.fstat(fd).st_size
            mfs.fallocate(fd, mfs.FALLOC_FL_PUNCH_HOLE | mfs.FALLOC_FL_KEEP_SIZE, 0, 4096)
            punched = os.pread(fd, 4096 + 4, 0)
            tail = os.pread(fd, 16, (1 << 20) - 16)
            return grown, kept, punched, tail
        finally:
            os.close(fd)

    grown, kept, punched, tail = run_as(uid, app)
    assert grown == 1 << 20
    assert kept == 1 << 20
    assert punched == b"\0" * 4096 + b"xxxx"
    assert tail == b"\0" * 16
    st = os.stat(t.s("d", "f"))
    assert st.st_size == 1 << 20
    assert st.st_blocks * 512 >= (4 << 20) - 4096, "FALLOC_FL_KEEP_SIZE did not allocate"
    src = t.read_src("d/f")
    assert src[:4096] == b"\0" * 4096 and src[4096:8192] == b"x" * 4096


def test_fallocate_forbidden_on_readonly_fd(mount):
    t = mount
    t.file("f", b"abc", uid=A, mode=0o644)

    def app():
        fd = os.open(t.m("f"), os.O_RDONLY)
        try:
            os.posix_fallocate(fd, 0, 1 << 20)
        finally:
            os.close(fd)

    assert_errno(errno.EBADF, A, app)
    assert os.stat(t.s("f")).st_size == 3


def test_seek_data_and_hole(mount):
    t = mount
    t.dir("d", uid=A)
    MiB = 1 << 20

    def make(path):
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
        try:
            os.pwrite(fd, b"D" * 4096, 0)
            os.pwrite(fd, b"E" * 4096, 2 * MiB)
            os.ftruncate(fd, 4 * MiB)
            os.fsync(fd)
        finally:
            os.close(fd)

    def probe(path):
        fd = os.open(path, os.O_RDONLY)
        out = []
        try:
            for whence, off in ((os.SEEK_DATA, 0), (os.SEEK_HOLE, 0), (os.SEEK_DATA, 4096),
                                (os.SEEK_HOLE, 2 * MiB), (os.SEEK_DATA, 2 * MiB + 8192),
                                (os.SEEK_HOLE, 3 * MiB)):
                try:
                    out.append(os.lseek(fd, off, whence))
                except OSError as e:
                    out.append(-e.errno)
            out.append(os.lseek(fd, 0, os.SEEK_END))
        finally:
            os.close(fd)
        return out

    run_as(A, make, t.m("d", "sparse"))
    got = run_as(A, probe, t.m("d", "sparse"))
    want = probe(t.s("d", "sparse"))
    assert got == want, f"through mount {got} != backing {want}"
    assert got[0] == 0
    assert 4096 <= got[1] < 2 * MiB, "no hole found after the first block"
    assert 4096 <= got[2] <= 2 * MiB
    assert got[4] == -errno.ENXIO   # no data after the last extent
    assert got[5] == 3 * MiB        # already inside a hole
    assert got[6] == 4 * MiB


@pytest.mark.parametrize("uid", [0, A])
def test_copy_file_range(mount, uid):
    t = mount
    t.dir("d", uid=uid)
    data = os.urandom(3 * (1 << 20) + 77)
    t.file("d/src", data, uid=uid)

    def app():
        s = os.open(t.m("d", "src"), os.O_RDONLY)
        d = os.open(t.m("d", "dst"), os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            n = 0
            while n < len(data):
                c = os.copy_file_range(s, d, len(data) - n)
                assert c > 0
                n += c
            # with explicit offsets, into a second file
            d2 = os.open(t.m("d", "dst2"), os.O_CREAT | os.O_RDWR, 0o644)
            try:
                c = os.copy_file_range(s, d2, 1000, 5000, 100)
                return n, c, os.pread(d2, 2000, 0)
            finally:
                os.close(d2)
        finally:
            os.close(s)
            os.close(d)

    n, c, part = run_as(uid, app)
    assert n == len(data)
    assert c == 1000
    assert part == b"\0" * 100 + data[5000:6000]
    assert t.read_src("d/dst") == data
    assert read_file(t.m("d", "dst")) == data


# ------------------------------------------------------------------ flock

def _holder(ch, path, how):
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, how)
    ch.send("locked")
    cmd = ch.recv()
    if cmd == "unlock":
        fcntl.flock(fd, fcntl.LOCK_UN)
        ch.send("unlocked")
        ch.recv()
    os.close(fd)
    return "done"


@pytest.mark.parametrize("uids", [(A, B), (A, A), (0, A)])
def test_flock_exclusive_across_processes(mount, uids):
    t = mount
    t.file("lockme", b"", uid=A, mode=0o666)
    p = t.m("lockme")
    holder = mfs.Spawned(uids[0], _holder, p, fcntl.LOCK_EX)
    try:
        assert holder.recv() == "locked"
        assert run_as(uids[1], mfs.lock_nb_errno, p, fcntl.LOCK_EX) == errno.EWOULDBLOCK
        assert run_as(uids[1], mfs.lock_nb_errno, p, fcntl.LOCK_SH) == errno.EWOULDBLOCK
        holder.send("unlock")
        assert holder.recv() == "unlocked"
        assert run_as(uids[1], mfs.lock_nb_errno, p, fcntl.LOCK_EX) == 0
        holder.send("close")
        assert holder.result() == "done"
    finally:
        holder.kill()


def test_flock_shared_then_exclusive(mount):
    t = mount
    t.file("lockme", b"", uid=A, mode=0o666)
    p = t.m("lockme")
    h1 = mfs.Spawned(A, _holder, p, fcntl.LOCK_SH)
    h2 = mfs.Spawned(B, _holder, p, fcntl.LOCK_SH)
    try:
        assert h1.recv() == "locked"
        assert h2.recv() == "locked"           # two shared locks coexist
        assert run_as(A, mfs.lock_nb_errno, p, fcntl.LOCK_SH) == 0
        assert run_as(A, mfs.lock_nb_errno, p, fcntl.LOCK_EX) == errno.EWOULDBLOCK
        h1.send("close")
        assert h1.result() == "done"
        assert run_as(A, mfs.lock_nb_errno, p, fcntl.LOCK_EX) == errno.EWOULDBLOCK
        h2.kill()                              # a dying holder releases its lock
        mfs.wait_for(lambda: run_as(A, mfs.lock_nb_errno, p, fcntl.LOCK_EX) == 0, 5,
                     what="lock release after the holder died")
    finally:
        h1.kill()
        h2.kill()


def test_flock_blocking_waiter_gets_lock(mount):
    t = mount
    t.file("lockme", b"", uid=A, mode=0o666)
    p = t.m("lockme")
    holder = mfs.Spawned(A, _holder, p, fcntl.LOCK_EX)
    waiter = None
    try:
        assert holder.recv() == "locked"

        def wait_lock(ch):
            fd = os.open(p, os.O_RDONLY)
            ch.send("waiting")
            fcntl.flock(fd, fcntl.LOCK_EX)   # blocks until the holder unlocks
            ch.send("got it")
            os.close(fd)
            return True

        waiter = mfs.Spawned(B, wait_lock)
        assert waiter.recv() == "waiting"
        with pytest.raises(TimeoutError):
            waiter.recv(timeout=0.5)
        holder.send("unlock")
        assert holder.recv() == "unlocked"
        assert waiter.recv(timeout=10) == "got it"
        assert waiter.result() is True
        holder.send("close")
        holder.result()
    finally:
        holder.kill()
        if waiter:
            waiter.kill()


@pytest.mark.parametrize("threads,waiters", [(["--threads", "1"], 1), ([], 20)],
                         ids=["threads1", "default16"])
def test_blocked_flock_waiters_do_not_freeze_the_mount(tree, daemon_factory, threads, waiters):
    """Apps blocked in flock(LOCK_EX) wait for the holder; they must not take
    the daemon down with them: other files stay usable, the holder can
    unlock, and every waiter then gets the lock. (--threads bounds the
    daemon's workers; 20 waiters exceed the default 16.)"""
    base, src, mnt = tree
    for name in ("lockme", "other"):
        with open(os.path.join(src, name), "w") as f:
            f.write(name)
        os.chmod(os.path.join(src, name), 0o666)
    daemon_factory.start(src, mnt, threads)
    p = os.path.join(mnt, "lockme")
    holder = mfs.Spawned(A, _holder, p, fcntl.LOCK_EX)
    ws = []
    try:
        assert holder.recv() == "locked"

        def wait_lock(ch):
            fd = os.open(p, os.O_RDONLY)
            ch.send("waiting")
            fcntl.flock(fd, fcntl.LOCK_EX)
            ch.send("got it")
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            return True

        for _ in range(waiters):
            ws.append(mfs.Spawned(B, wait_lock))
        for i, w in enumerate(ws):
            try:
                assert w.recv(timeout=10) == "waiting"
            except TimeoutError:
                raise AssertionError(f"waiter {i} of {waiters} could not even open the file "
                                     f"within 10 s (options {threads})")
        time.sleep(0.5)  # let every waiter block in the daemon
        try:
            got = run_as(A, read_file, os.path.join(mnt, "other"), timeout=10)
        except TimeoutError:
            raise AssertionError(f"with {waiters} blocked flock waiter(s) and options {threads},"
                                 f" reading an unrelated file hung for 10 s")
        assert got == b"other"
        holder.send("unlock")
        try:
            assert holder.recv(timeout=10) == "unlocked"
        except TimeoutError:
            raise AssertionError(f"the lock holder's flock(LOCK_UN) hung for 10 s with {waiters}"
                                 f" blocked waiter(s), options {threads}")
        for w in ws:
            assert w.recv(timeout=20) == "got it", "a waiter never got the lock"
            assert w.result(timeout=10) is True
        holder.send("close")
        assert holder.result() == "done"
    finally:
        for w in ws:
            w.kill()
        holder.kill()


# ------------------------------------------------------------------ refused by design

@pytest.mark.parametrize("uid", [0, A])
def test_symlink_is_eperm(pt_mount, uid):
    t = pt_mount
    t.dir("d", uid=uid, mode=0o755)
    t.file("d/target", b"t", uid=uid)
    assert_errno(errno.EPERM, uid, os.symlink, "target", t.m("d", "link"))
    assert_errno(errno.EPERM, uid, os.symlink, "/etc/passwd", t.m("d", "link2"))
    assert sorted(os.listdir(t.s("d"))) == ["target"]


@pytest.mark.parametrize("uid", [0, A])
def test_hard_link_is_eperm(pt_mount, uid):
    t = pt_mount
    t.dir("d", uid=uid, mode=0o755)
    t.file("d/target", b"t", uid=uid)
    assert_errno(errno.EPERM, uid, os.link, t.m("d", "target"), t.m("d", "hard"))
    assert sorted(os.listdir(t.s("d"))) == ["target"]
    assert os.stat(t.s("d", "target")).st_nlink == 1


@pytest.mark.parametrize("uid", [0, A])
def test_mknod_is_eperm(pt_mount, uid):
    t = pt_mount
    t.dir("d", uid=uid, mode=0o755)
    assert_errno(errno.EPERM, uid, os.mkfifo, t.m("d", "fifo"))
    assert_errno(errno.EPERM, uid, os.mknod, t.m("d", "fifo2"), 0o600 | stat.S_IFIFO)

    def bind_socket():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(t.m("d", "sock"))
        finally:
            s.close()

    assert_errno(errno.EPERM, uid, bind_socket)
    if uid == 0:
        assert_errno(errno.EPERM, 0, os.mknod, t.m("d", "null"), 0o666 | stat.S_IFCHR,
                     os.makedev(1, 3))
    assert os.listdir(t.s("d")) == []


# ------------------------------------------------------------------ nothing escapes SOURCE

def _plant_specials(t, where=""):
    """Symlinks, a fifo and a socket planted directly in SOURCE."""
    outside = os.path.join(t.base, "s", "outside.txt")
    with open(outside, "w") as f:
        f.write("outside")
    t.file(os.path.join(where, "real"), b"real")
    os.symlink("real", t.s(where, "ln_rel"))
    os.symlink(outside, t.s(where, "ln_out"))
    os.symlink("/etc", t.s(where, "ln_dir"))
    os.symlink("nowhere", t.s(where, "ln_dangling"))
    os.symlink("..", t.s(where, "ln_up"))
    os.mkfifo(t.s(where, "fifo"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(t.s(where, "sock"))
    s.close()
    return ["ln_rel", "ln_out", "ln_dir", "ln_dangling", "ln_up", "fifo", "sock"]


@pytest.mark.parametrize("uid", [0, A])
def test_planted_specials_are_hidden(pt_mount, uid):
    t = pt_mount
    t.dir("sub", uid=0, mode=0o777)
    hidden = _plant_specials(t) + ["sub/" + n for n in _plant_specials(t, "sub")]
    assert sorted(run_as(uid, os.listdir, t.mnt)) == ["real", "sub"]
    assert sorted(run_as(uid, os.listdir, t.m("sub"))) == ["real"]

    def scan(p):
        return sorted(e.name for e in os.scandir(p))

    assert run_as(uid, scan, t.m("sub")) == ["real"]
    for rel in hidden:
        assert_errno(errno.ENOENT, uid, os.lstat, t.m(rel))
        assert_errno(errno.ENOENT, uid, os.stat, t.m(rel))
        assert_errno(errno.ENOENT, uid, os.open, t.m(rel), os.O_RDONLY | os.O_NONBLOCK)
        assert_errno(errno.ENOENT, uid, os.open, t.m(rel), os.O_WRONLY | os.O_NONBLOCK)
        assert_errno(errno.ENOENT, uid, os.readlink, t.m(rel))
        assert_errno(errno.ENOENT, uid, os.unlink, t.m(rel))
    assert_errno(errno.ENOENT, uid, os.stat, t.m("ln_dir", "passwd"))
    assert_errno(errno.ENOENT, uid, os.stat, t.m("ln_up", "outside.txt"))
    # the planted entries are untouched
    for rel in hidden:
        assert os.path.lexists(t.s(rel))


def test_planted_device_node_gives_no_data(pt_mount):
    t = pt_mount
    os.mknod(t.s("zero"), 0o666 | stat.S_IFCHR, os.makedev(1, 5))

    def try_read():
        fd = os.open(t.m("zero"), os.O_RDONLY)
        try:
            return os.read(fd, 16)
        finally:
            os.close(fd)

    for uid in (0, A):
        got = errno_of(uid, try_read)
        assert got != 0, "a device node planted in SOURCE was opened and read through the mount"
    assert "zero" not in os.listdir(t.mnt) or \
        not stat.S_ISCHR(os.lstat(t.m("zero")).st_mode)


def test_creating_over_a_hidden_symlink_does_not_follow_it(pt_mount):
    t = pt_mount
    t.dir("d", uid=A, mode=0o777)
    victim = os.path.join(t.base, "s", "victim")
    with open(victim, "w") as f:
        f.write("untouched")
    os.chmod(victim, 0o666)
    absent = os.path.join(t.base, "s", "absent")
    os.symlink(victim, t.s("d", "evil"))
    os.symlink(absent, t.s("d", "evil_absent"))
    os.symlink(os.path.join(t.base, "s"), t.s("d", "evil_dir"))

    def create(rel, flags):
        fd = os.open(t.m(rel), flags, 0o666)
        try:
            os.write(fd, b"PWNED")
        finally:
            os.close(fd)

    for uid in (0, A):
        for rel in ("d/evil", "d/evil_absent"):
            for flags in (os.O_CREAT | os.O_WRONLY, os.O_CREAT | os.O_WRONLY | os.O_TRUNC,
                          os.O_CREAT | os.O_EXCL | os.O_WRONLY):
                errno_of(uid, create, rel, flags)
                with open(victim) as f:
                    assert f.read() == "untouched", f"{rel} followed a planted symlink"
                assert not os.path.exists(absent), f"{rel} created a file outside SOURCE"
                # whatever happened, the result is inside SOURCE and not a symlink target
        errno_of(uid, os.mkdir, t.m("d", "evil_absent"))
        assert not os.path.exists(absent)
        errno_of(uid, create, "d/evil_dir/x", os.O_CREAT | os.O_WRONLY)
        assert not os.path.exists(os.path.join(t.base, "s", "x"))


def test_dotdot_cannot_escape(pt_mount):
    t = pt_mount
    secret = os.path.join(t.base, "s", "secret")       # sibling of SOURCE
    with open(secret, "w") as f:
        f.write("secret")
    t.dir("a", uid=A)
    t.dir("a/b", uid=A)
    # '..' of the mount root is the mount point's parent, never SOURCE's parent
    parent = os.path.dirname(t.mnt)
    st_up, st_parent = os.stat(t.m("..")), os.stat(parent)
    assert (st_up.st_dev, st_up.st_ino) == (st_parent.st_dev, st_parent.st_ino)
    assert st_up.st_dev != mfs.fuse_dev(t.mnt)
    for uid in (0, A):
        assert_errno(errno.ENOENT, uid, os.stat, t.m("..", "secret"))
        assert_errno(errno.ENOENT, uid, os.stat, t.m("a", "b", "..", "..", "..", "secret"))
        assert sorted(run_as(uid, os.listdir, t.m("a", "b", "..", ".."))) == ["a"]
    assert os.path.realpath(t.m("a", "b", "..", "..", "..")) == parent

    def via_dirfd():
        fd = os.open(t.m("a", "b"), os.O_RDONLY | os.O_DIRECTORY)
        try:
            up = os.open("../../..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            try:
                st = os.fstat(up)
                return st.st_dev, st.st_ino
            finally:
                os.close(up)
        finally:
            os.close(fd)

    assert run_as(A, via_dirfd) == (st_parent.st_dev, st_parent.st_ino)


def test_dir_swapped_for_symlink_does_not_escape(pt_mount):
    t = pt_mount
    t.dir("d", uid=0, mode=0o755)
    t.file("d/inside", b"inside")
    assert read_file(t.m("d", "inside")) == b"inside"   # kernel and daemon know "d"
    os.rename(t.s("d"), t.s("d_moved"))
    os.symlink("/etc", t.s("d"))
    for uid in (0, A):
        got = errno_of(uid, read_file, t.m("d", "passwd"))
        assert got == errno.ENOENT, f"d/passwd through a swapped-in symlink: {mfs.ename(got)}"
        assert_errno(errno.ENOENT, uid, os.stat, t.m("d", "hostname"))


@pytest.mark.parametrize("how", ["replace", "rename-away"])
def test_file_swapped_for_symlink_does_not_escape(mount, how):
    """A file the kernel and the daemon already know is replaced, behind the
    daemon's back, by a symlink to a file outside SOURCE. Opening the old
    name through the mount may give ENOENT or the old file, never the
    symlink's target."""
    t = mount
    secret = os.path.join(t.base, "s", "outside-secret")
    with open(secret, "wb") as f:
        f.write(b"SECRET OUTSIDE SOURCE")
    os.chmod(secret, 0o666)
    t.dir("d", uid=A, mode=0o777)
    t.file("d/f", b"original", uid=A, mode=0o666)
    for uid in (0, A):
        assert run_as(uid, read_file, t.m("d", "f")) == b"original"
    if how == "replace":
        os.unlink(t.s("d", "f"))
    else:
        os.rename(t.s("d", "f"), t.s("d", "f.old"))
    os.symlink(secret, t.s("d", "f"))

    def attempt(flags):
        fd = os.open(t.m("d", "f"), flags)
        try:
            if flags & (os.O_WRONLY | os.O_RDWR):
                os.pwrite(fd, b"PWNED", 0)
            return os.pread(fd, 100, 0)
        finally:
            os.close(fd)

    for uid in (0, A):
        for flags in (os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
            try:
                got = run_as(uid, attempt, flags)
            except OSError:
                got = None
            assert got is None or b"SECRET" not in got, \
                f"uid {uid} read the symlink target outside SOURCE through d/f"
            with open(secret, "rb") as f:
                assert f.read() == b"SECRET OUTSIDE SOURCE", \
                    f"uid {uid} wrote through a swapped-in symlink (flags {flags:#o})"


# ------------------------------------------------------------------ names

def test_long_and_odd_names(pt_mount):
    t = pt_mount
    t.dir("d", uid=A, mode=0o755)
    names = ["n" * 255, "with space", "new\nline", "ünïcødé-名前", "-dash", ".hidden", "a%b",
             "tab\tname", "\\backslash"]

    def app():
        for n in names:
            write_file(t.m("d", n), n.encode())
        return sorted(os.listdir(t.m("d"))), [read_file(t.m("d", n)) for n in names]

    listed, contents = run_as(A, app)
    assert listed == sorted(names)
    assert contents == [n.encode() for n in names]
    assert sorted(os.listdir(t.s("d"))) == sorted(names)
    assert_errno(errno.ENAMETOOLONG, A, write_file, t.m("d", "n" * 256), b"")
    assert_errno(errno.ENAMETOOLONG, A, os.mkdir, t.m("d", "m" * 256))
