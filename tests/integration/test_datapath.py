"""
The data path and its counters: plain opens use kernel passthrough (the
daemon sees no data), --no-passthrough makes the daemon serve every byte;
`mediactl stats` reports both, to root only.
"""
import hashlib
import json
import mmap
import os
import time

import pytest

import mfs
from mfs import run_as

A, B = mfs.APP_UIDS
MiB = 1 << 20
BIG = 64 * MiB


def _write_big(path, seed):
    """Writes BIG deterministic pseudo-random bytes in 1 MiB writes; returns sha256."""
    h = hashlib.sha256()
    block = hashlib.sha256(seed).digest() * (MiB // 32)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        for i in range(BIG // MiB):
            chunk = bytes([i & 0xFF]) + block[1:]
            n = 0
            while n < len(chunk):
                n += os.write(fd, chunk[n:])
            h.update(chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    return h.hexdigest()


def _hash_file(path, bufsize=MiB):
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            b = os.read(fd, bufsize)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


def _delta(after, before):
    return {k: after[k] - before[k] for k in mfs.STATS_KEYS}


@pytest.mark.parametrize("uid", [0, A])
def test_passthrough_data_never_crosses_the_daemon(pt_mount, uid):
    t = pt_mount
    t.dir("d", uid=uid)
    p = t.m("d", "big.bin")
    before = t.stats()
    wrote = run_as(uid, _write_big, p, b"passthrough")
    mfs.drop_caches()
    read_back = run_as(uid, _hash_file, p)
    read_again = run_as(uid, _hash_file, p)          # warm: from the backing page cache
    after = t.stats()
    d = _delta(after, before)
    assert wrote == read_back == read_again, "bytes read through the mount differ from written"
    assert _hash_file(t.s("d", "big.bin")) == wrote, "backing file differs from what was written"
    assert os.stat(t.s("d", "big.bin")).st_size == BIG
    assert d["opens_passthrough"] >= 3, f"plain opens did not use passthrough: {d}"
    assert d["opens_server"] == 0, f"plain opens were served by the daemon: {d}"
    assert d["server_read_bytes"] == 0, f"passthrough reads crossed the daemon: {d}"
    assert d["server_write_bytes"] == 0, f"passthrough writes crossed the daemon: {d}"


def test_no_passthrough_daemon_serves_every_byte(server_mount):
    t = server_mount
    t.dir("d", uid=A)
    p = t.m("d", "big.bin")
    before = t.stats()
    wrote = run_as(A, _write_big, p, b"server")
    mfs.drop_caches()                                  # reads must reach the daemon
    read_back = run_as(A, _hash_file, p)
    after = t.stats()
    d = _delta(after, before)
    assert wrote == read_back
    assert _hash_file(t.s("d", "big.bin")) == wrote
    assert d["opens_server"] >= 2, f"--no-passthrough opens not counted as server opens: {d}"
    assert d["opens_passthrough"] == 0, f"--no-passthrough still used passthrough: {d}"
    assert d["server_write_bytes"] >= BIG, f"daemon served fewer bytes than written: {d}"
    assert d["server_read_bytes"] >= BIG, f"daemon served fewer bytes than read: {d}"
    assert after["backing_ids_open"] == 0, f"backing ids without passthrough: {after}"


def test_backing_ids_follow_open_files(pt_mount):
    t = pt_mount
    t.dir("d", uid=A)
    for i in range(3):
        t.file(f"d/f{i}", b"data%d" % i, uid=A)
    base = t.stats()["backing_ids_open"]

    def hold(ch):
        fds = [os.open(t.m("d", f"f{i}"), os.O_RDONLY) for i in range(3)]
        data = [os.read(fd, 10) for fd in fds]
        ch.send(data)
        ch.recv()
        for fd in fds:
            os.close(fd)
        return True

    s = mfs.Spawned(A, hold)
    try:
        assert s.recv() == [b"data0", b"data1", b"data2"]
        held = t.stats()["backing_ids_open"]
        assert held >= base + 1 and held >= 1, \
            f"three passthrough files open but backing_ids_open={held} (before {base})"
        s.send("close")
        assert s.result() is True
    finally:
        s.kill()
    # after the last close and the kernel forgetting the inodes, no backing id may remain
    mfs.drop_caches()
    mfs.wait_for(lambda: t.stats()["backing_ids_open"] <= base, 10,
                 what="backing_ids_open to return to its value before the opens")


def test_stats_json_as_root(pt_mount):
    t = pt_mount
    t.file("f", b"hello")
    before = t.stats()
    for _ in range(5):
        with open(t.m("f"), "rb") as f:
            assert f.read() == b"hello"
    after = t.stats()
    assert after["opens_passthrough"] - before["opens_passthrough"] >= 5
    assert all(after[k] >= 0 for k in mfs.STATS_KEYS)


def test_stats_refused_to_non_root(pt_mount):
    t = pt_mount
    for uid in mfs.APP_UIDS:
        r = mfs.run_mediactl("--help", uid=uid)
        assert r.returncode == 0, f"uid {uid} cannot even run mediactl --help: {r.stderr!r}"
        for extra in (["--json"], []):
            r = mfs.run_mediactl("stats", t.mnt, *extra, uid=uid)
            assert r.returncode != 0, f"mediactl stats as uid {uid} succeeded: {r.stdout!r}"
            assert r.stderr.strip(), "mediactl stats as non-root failed without a message"
            assert not any(k in r.stdout for k in mfs.STATS_KEYS) or r.stdout.strip() == "", \
                f"counters leaked to uid {uid}: {r.stdout!r}"


def test_stats_table(pt_mount):
    t = pt_mount
    t.file("f", b"x")
    with open(t.m("f"), "rb") as f:
        f.read()
    time.sleep(0.2)
    j = t.stats()
    r = mfs.run_mediactl("stats", t.mnt)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    with pytest.raises(ValueError):
        json.loads(out)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) >= len(mfs.STATS_KEYS), f"table has too few lines:\n{out}"
    tokens = set(out.replace("|", " ").replace(":", " ").split())
    for k in mfs.STATS_KEYS:
        assert str(j[k]) in tokens, f"value of {k} ({j[k]}) missing from table:\n{out}"


def test_stats_on_non_mediafs_path_fails(tree):
    base, src, mnt = tree
    for path in (mnt, os.path.join(base, "does-not-exist"), "/"):
        r = mfs.run_mediactl("stats", path, "--json")
        assert r.returncode != 0, f"mediactl stats {path} succeeded: {r.stdout!r}"
        assert r.stderr.strip()


def test_mmap_on_passthrough_file(pt_mount):
    t = pt_mount
    t.dir("d", uid=A)
    data = os.urandom(5 * MiB + 3)
    t.file("d/f", data, uid=A)

    def app():
        fd = os.open(t.m("d", "f"), os.O_RDONLY)
        try:
            with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as m:
                return hashlib.sha256(m[:]).hexdigest()
        finally:
            os.close(fd)

    before = t.stats()
    assert run_as(A, app) == hashlib.sha256(data).hexdigest()
    d = _delta(t.stats(), before)
    assert d["server_read_bytes"] == 0, f"mmap of a passthrough file went through the daemon: {d}"
