"""
Location redaction end to end (issue 4): real photos, videos and audio made
by ffmpeg, exiftool and heif-enc, copied in through the mount by their owner
(the camera app), then read by a gallery app that holds every READ_MEDIA_*
permission but not ACCESS_MEDIA_LOCATION. The gallery must get the GPS
zeroed by every read path (read, pread, readv, mmap private and shared,
sendfile, splice, copy_file_range), with every other byte intact; the owner,
an app holding ACCESS_MEDIA_LOCATION, and root get the original bytes through
kernel passthrough. Location added later by the owner is redacted from the
next open on, with no restart.

A redacted view is served in one of three ways, and every test here runs
against each (the `mode` fixture): "copy", kernel passthrough to a sealed
in-memory copy with the location zeroed (the default for files up to
--redact-copy-max), "disk", the same to an unnamed read-only copy on disk
(--redact-copy-max 0: the default path of larger files), and "daemon", the
daemon serving the view itself (--redact-disk-budget 0 too: files above
both limits, and --no-passthrough). The copy path's own
guarantees (file size and memory limits, a source changed under an open
copy, O_DIRECT) are checked at the end, on mounts of their own.

Redaction applies to images and videos (the policy redacts "someone else's
image/video that has location"); the M4A file checks that audio is served
unchanged.
"""
import errno
import json
import mmap
import os
import random
import select
import shutil
import subprocess
import tempfile
import time

import pytest

import mfs
from policy_env import (ALLMEDIA, CAMERA, ET, EXIFTOOL_LEAK_ARGS, GPS_ARGS, LOCGAL,
                        MEDIA_RECIPES, PLAIN, REDACTED_TYPES, XMP_GPS_ARGS, PolicyMount, ename,
                        errno_of, media_dir, raw_location_signatures, read_file, run_as,
                        run_in_lock_step, setpriv, sh, shows_coordinates, write_file)

GALLERY = ALLMEDIA          # all READ_MEDIA_*, no ACCESS_MEDIA_LOCATION
OWNER = CAMERA
APPS = (CAMERA, ALLMEDIA, LOCGAL, PLAIN)
NAMES = sorted(MEDIA_RECIPES)
GPS_NAMES = [n for n in NAMES if MEDIA_RECIPES[n][2]]
REDACTED_NAMES = [n for n in GPS_NAMES if os.path.splitext(n)[1] in REDACTED_TYPES]

__all__ = ["media_dir"]


# How the redacted views of the mount under test are served: mediafsd's
# extra arguments for each mode.
MODES = {"copy": [], "disk": ["--redact-copy-max", "0"],
         "daemon": ["--redact-copy-max", "0", "--redact-disk-budget", "0"]}


@pytest.fixture(scope="module", params=sorted(MODES))
def mode(request):
    return request.param


class Library:
    def __init__(self, pm, media, mode):
        self.pm = pm
        self.media = media
        self.copy = mode in ("copy", "disk")
        self.copies_key = "redact_disk_copies" if mode == "disk" else "redact_copies"
        self.rel = {n: f"0/{MEDIA_RECIPES[n][1]}/{n}" for n in NAMES}

    def path(self, name):
        return self.pm.m(self.rel[name])

    def original(self, name):
        with open(os.path.join(self.media, name), "rb") as f:
            return f.read()

    def redacted(self, name):
        return name in REDACTED_NAMES


@pytest.fixture(scope="module")
def lib(media_dir, mode):
    pm = PolicyMount("red", apps=APPS, extra_args=MODES[mode])
    try:
        for n in NAMES:
            r = setpriv(OWNER, ["cp", os.path.join(media_dir, n), pm.m(f"0/{MEDIA_RECIPES[n][1]}")])
            assert r.returncode == 0, f"owner's cp of {n} into the mount failed: {r.stderr}"
        lib = Library(pm, media_dir, mode)
        for n in NAMES:
            assert pm.read_source(lib.rel[n]) == lib.original(n)
            assert pm.check(OWNER, lib.path(n))["rule"] == "owner", n
        yield lib
    finally:
        pm.close()


def delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if isinstance(after[k], int)}


def ranges_for(pm, uid, path):
    """The ranges `mediactl check --json` says uid reads as zeros."""
    j = pm.check(uid, path)
    return j["decision"], [tuple(r) for r in j.get("redaction_ranges", [])]


def assert_redaction(name, original, got, ranges):
    """got is `original` with exactly `ranges` zeroed, and something was zeroed."""
    assert len(got) == len(original), \
        f"{name}: redacted read is {len(got)} bytes, not {len(original)}"
    assert ranges, f"{name}: has location but no redaction ranges"
    inside = bytearray(len(original))
    for off, length in ranges:
        assert 0 <= off and off + length <= len(original), f"{name}: range {off}+{length}"
        inside[off:off + length] = b"\x01" * length
    expected = bytes(0 if inside[i] else original[i] for i in range(len(original)))
    if got != expected:
        bad = [i for i in range(len(got)) if got[i] != expected[i]]
        where = "inside" if inside[bad[0]] else "outside"
        raise AssertionError(f"{name}: {len(bad)} bytes differ from original-with-ranges-zeroed,"
                             f" first at {bad[0]} ({where} the ranges {ranges}): got "
                             f"{got[bad[0]:bad[0] + 16]!r}, want {expected[bad[0]:bad[0] + 16]!r}")
    differing = [i for i in range(len(got)) if got[i] != original[i]]
    assert differing, f"{name}: the redacted read equals the original"
    assert all(got[i] == 0 for i in differing)
    leaked = raw_location_signatures(got)
    assert not leaked, f"{name}: the redacted bytes still hold the position: {leaked}"


def exiftool_as(uid, path):
    r = setpriv(uid, EXIFTOOL_LEAK_ARGS + [path])
    assert r.returncode in (0, 1), f"exiftool as {uid} on {path}: {r.stderr}"
    return r.stdout + r.stderr


def exiftool_bytes(data, suffix):
    """exiftool's view of `data` (written to a private temporary file)."""
    with tempfile.NamedTemporaryFile(suffix=suffix, dir=mfs.world_tmp_base(),
                                     prefix="red_probe_") as f:
        f.write(data)
        f.flush()
        r = subprocess.run(EXIFTOOL_LEAK_ARGS + [f.name], capture_output=True, text=True,
                           timeout=60)
        return r.stdout + r.stderr


# ------------------------------------------------------------------ who gets what

@pytest.mark.parametrize("name", NAMES)
def test_gallery_reads_location_zeroed(lib, name):
    pm, path, original = lib.pm, lib.path(name), lib.original(name)
    assert shows_coordinates(exiftool_as(0, pm.s(lib.rel[name]))) == MEDIA_RECIPES[name][2]
    decision, ranges = ranges_for(pm, GALLERY, path)
    before = pm.stats()
    got = run_as(GALLERY, read_file, path)
    d = delta(before, pm.stats())
    if not lib.redacted(name):
        assert decision == "plain", f"{name}: check says {decision}"
        assert got == original, f"{name}: a file the policy does not redact was changed"
        assert d["opens_passthrough"] == 1 and d["opens_redacted"] == 0, d
        return
    assert decision == "redact", f"{name}: mediactl check says {decision} for the gallery"
    assert_redaction(name, original, got, ranges)
    assert d["opens_redacted"] == 1, f"{name}: opens_redacted did not grow: {d}"
    assert d["opens_passthrough"] == 0, f"{name}: a redacted open went through passthrough: {d}"
    if lib.copy:
        # passthrough to the copy (in memory, or on disk): not one byte
        # crossed the daemon
        assert d["opens_redacted_copy"] == 1 and d["server_read_bytes"] == 0, d
        assert pm.stats()[lib.copies_key] >= 1
    else:
        assert d["opens_redacted_copy"] == 0, d
        assert d["server_read_bytes"] >= len(original), d
    out = exiftool_as(GALLERY, path)
    assert not shows_coordinates(out), f"{name}: exiftool as the gallery shows:\n{out}"
    # the gallery still gets the rest of the metadata
    if name == "exif_ii.jpg":
        r = setpriv(GALLERY, ["exiftool", "-s3", "-Artist", path])
        assert r.stdout.strip() == "keepme", r


@pytest.mark.parametrize("name", NAMES)
def test_owner_location_app_and_root_read_originals_in_passthrough(lib, name):
    pm, path, original = lib.pm, lib.path(name), lib.original(name)
    for uid in (OWNER, LOCGAL, 0):
        j = pm.check(uid, path)
        assert j["decision"] == "plain", f"{name} as {uid}: check says {j}"
        before = pm.stats()
        got = run_as(uid, read_file, path)
        d = delta(before, pm.stats())
        assert got == original, f"{name} as {uid}: not the original bytes"
        assert d["opens_passthrough"] == 1, f"{name} as {uid}: not passthrough: {d}"
        assert d["server_read_bytes"] == 0 and d["opens_server"] == 0, f"{name} as {uid}: {d}"
        assert d["opens_redacted"] == 0, f"{name} as {uid}: {d}"
    out = exiftool_as(OWNER, path)
    assert shows_coordinates(out) == MEDIA_RECIPES[name][2], f"{name}: owner's exiftool:\n{out}"


# ------------------------------------------------------------------ every read path

def _every_read_path(path, size, scratch, probes):
    """Reads `path` by every path the kernel offers; returns {how: bytes}."""
    out = {}
    fd = os.open(path, os.O_RDONLY)
    try:
        out["read"] = read_file(path)
        out["pread"] = bytes(b"".join(os.pread(fd, ln, off) for off, ln in probes))
        bufs = [bytearray(n) for n in (1, 7, 4096, 13, 65536, size)]
        n = os.readv(fd, bufs)
        out["readv"] = bytes(b"".join(bufs))[:n]
        with mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ) as m:
            out["mmap_private"] = bytes(m[:])
        with mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ) as m:
            out["mmap_shared"] = bytes(m[:])
        mfd = os.memfd_create("red_sendfile")
        try:
            off = 0
            while off < size:
                n = os.sendfile(mfd, fd, off, size - off)
                assert n > 0, "sendfile returned 0 before EOF"
                off += n
            out["sendfile"] = os.pread(mfd, size + 1, 0)
        finally:
            os.close(mfd)
        r, w = os.pipe()
        try:
            chunks, off = [], 0
            while off < size:
                n = os.splice(fd, w, min(16384, size - off), offset_src=off)
                assert n > 0, "splice returned 0 before EOF"
                off += n
                got = b""
                while len(got) < n:
                    got += os.read(r, n - len(got))
                chunks.append(got)
            out["splice"] = b"".join(chunks)
        finally:
            os.close(r)
            os.close(w)
        # copy_file_range to a file of its own on the same mount
        dst = os.open(scratch, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            off = 0
            while off < size:
                n = os.copy_file_range(fd, dst, size - off, off, off)
                assert n > 0, "copy_file_range returned 0 before EOF"
                off += n
        finally:
            os.close(dst)
        out["copy_file_range"] = read_file(scratch)
        os.unlink(scratch)
    finally:
        os.close(fd)
    return out


def _probes(size, ranges, seed):
    """(offset, length) reads that start and end around every range edge."""
    rnd = random.Random(seed)
    probes = [(0, size), (0, 1), (size - 1, 1)]
    for off, ln in ranges:
        for edge in (off, off + ln):
            for d in (-3, -1, 0, 1, 2):
                o = min(max(edge + d, 0), size - 1)
                probes.append((o, rnd.choice((1, 2, 5, 17, 4096))))
    for _ in range(20):
        o = rnd.randrange(size)
        probes.append((o, rnd.randrange(1, 9000)))
    return probes


def _hold_and_read(chan, path, original):
    """The owner: opens the file (passthrough) and reads it in a loop until told."""
    fd = os.open(path, os.O_RDONLY)
    reads, wrong = 0, 0
    chan.send("open")
    try:
        while True:
            if os.pread(fd, len(original) + 1, 0) != original:
                wrong += 1
            reads += 1
            if reads % 20 == 0:
                with mmap.mmap(fd, len(original), flags=mmap.MAP_SHARED,
                               prot=mmap.PROT_READ) as m:
                    if m[:] != original:
                        wrong += 1
            if select.select([chan.rfd], [], [], 0)[0]:
                chan.recv(timeout=5)
                return reads, wrong
    finally:
        os.close(fd)


@pytest.mark.parametrize("name", REDACTED_NAMES)
def test_every_read_path_is_redacted(lib, name):
    pm, path, original = lib.pm, lib.path(name), lib.original(name)
    decision, ranges = ranges_for(pm, GALLERY, path)
    assert decision == "redact", decision
    reference = run_as(GALLERY, read_file, path)
    assert_redaction(name, original, reference, ranges)
    probes = _probes(len(original), ranges, name)
    expected_pread = b"".join(reference[o:o + ln] for o, ln in probes)
    scratch = pm.m("0/Download", f"red_copy_{name}.bin")

    def check(results, when):
        for how, got in results.items():
            want = expected_pread if how == "pread" else reference
            if how == "readv":
                want = reference[:len(got)]
                assert len(got) == len(reference), f"{name} {when}: readv read {len(got)}"
            assert got == want, (f"{name} {when}: {how} differs from the redacted read "
                                 f"({len(got)} vs {len(want)} bytes)")

    # every path must give exactly the bytes of the plain redacted read,
    # which shows no location
    assert not shows_coordinates(exiftool_bytes(reference, os.path.splitext(name)[1]))
    before = pm.stats()
    check(run_as(GALLERY, _every_read_path, path, len(original), scratch, probes), "alone")
    d = delta(before, pm.stats())
    if lib.copy:
        assert d["opens_redacted"] == 2 and d["opens_redacted_copy"] == 2, d
        assert d["server_read_bytes"] == 0, d   # (the scratch file is plain passthrough)
    else:
        assert d["opens_redacted"] == 2 and d["server_read_bytes"] >= len(original), d

    # while the owner holds it open in passthrough and reads it in a loop
    holder = mfs.Spawned(OWNER, _hold_and_read, path, original)
    try:
        assert holder.recv() == "open"
        before = pm.stats()
        for _ in range(2):
            check(run_as(GALLERY, _every_read_path, path, len(original), scratch, probes),
                  "while the owner reads it")
        d = delta(before, pm.stats())
        holder.send("stop")
        reads, wrong = holder.result()
    finally:
        holder.kill()
    assert reads > 0 and wrong == 0, f"{name}: the owner read wrong bytes {wrong}/{reads} times"
    assert d["opens_redacted"] == 4, f"{name}: the gallery's opens were not redacted: {d}"
    assert d["opens_redacted_copy"] == (4 if lib.copy else 0), d
    mfs.wait_for(lambda: pm.stats()["backing_ids_open"] == 0, 10,
                 what="the owner's passthrough backing id to be closed after its release")


def _hold_redacted_then_read(chan, path, size):
    """The gallery: opens first, keeps the fd, reads on command."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chan.send("open")
        while chan.recv(timeout=60) == "read":
            st = os.fstat(fd)
            chan.send(os.pread(fd, st.st_size + 1, 0))
        return "done"
    finally:
        os.close(fd)


def test_redacted_reader_first_then_owner_in_passthrough(lib):
    """The gallery's view open first must not stop the owner's passthrough."""
    name = "exif_mm.jpg"
    pm, path, original = lib.pm, lib.path(name), lib.original(name)
    _, ranges = ranges_for(pm, GALLERY, path)
    g = mfs.Spawned(GALLERY, _hold_redacted_then_read, path, len(original))
    try:
        assert g.recv() == "open"
        before = pm.stats()
        assert run_as(OWNER, read_file, path) == original
        assert run_as(0, read_file, path) == original
        d = delta(before, pm.stats())
        assert d["opens_passthrough"] == 2 and d["server_read_bytes"] == 0, d
        g.send("read")
        assert_redaction(name, original, g.recv(), ranges)
        g.send("quit")
        g.result()
    finally:
        g.kill()


def test_redacted_open_for_writing_is_eacces(lib):
    pm = lib.pm
    before = pm.stats()
    for name in REDACTED_NAMES:
        path = lib.path(name)
        for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC,
                      os.O_WRONLY | os.O_APPEND):
            got = errno_of(GALLERY, lambda p, f: os.close(os.open(p, f)), path, flags)
            assert got == errno.EACCES, f"{name} open flags {flags:#o}: {ename(got)}"
        assert errno_of(GALLERY, os.truncate, path, 0) == errno.EACCES
        assert errno_of(GALLERY, os.utime, path, (1, 2)) == errno.EACCES
        assert pm.read_source(lib.rel[name]) == lib.original(name)
        assert run_as(GALLERY, lambda p: os.access(p, os.W_OK), path) is False
        assert run_as(GALLERY, lambda p: os.access(p, os.R_OK), path) is True
    d = delta(before, pm.stats())
    assert d["opens_denied"] >= 3 * len(REDACTED_NAMES), d
    assert d["opens_passthrough"] == 0, d
    # and reading still works, counted as redacted
    before = pm.stats()
    for name in REDACTED_NAMES:
        run_as(GALLERY, read_file, lib.path(name))
    assert delta(before, pm.stats())["opens_redacted"] == len(REDACTED_NAMES)


# ------------------------------------------------------------------ location added later

def test_location_added_by_the_owner_is_redacted_from_the_next_open(lib):
    pm = lib.pm
    work = tempfile.mkdtemp(prefix="red_work_", dir=mfs.world_tmp_base())
    os.chmod(work, 0o755)
    try:
        plain = lib.original("plain.jpg")
        with open(os.path.join(work, "gps.jpg"), "wb") as f:
            f.write(plain)
        sh(f"{ET} -ExifByteOrder=Big-endian {GPS_ARGS} gps.jpg", work)
        with open(os.path.join(work, "gps.jpg"), "rb") as f:
            with_gps = f.read()
        shutil.copy(os.path.join(work, "gps.jpg"), os.path.join(work, "more.jpg"))
        sh(f"{ET} {XMP_GPS_ARGS} -GPSLatitude=40.4168 -GPSLongitude=3.7038 more.jpg", work)
        with open(os.path.join(work, "more.jpg"), "rb") as f:
            more_gps = f.read()
        assert len(more_gps) != len(with_gps)

        # 1. created clean by its owner: the gallery reads it plain, in passthrough
        rel = "0/DCIM/later.jpg"
        path = pm.m(rel)
        run_as(OWNER, write_file, path, plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        before = pm.stats()
        assert run_as(GALLERY, read_file, path) == plain
        d = delta(before, pm.stats())
        assert d["opens_passthrough"] == 1 and d["opens_redacted"] == 0, d

        # 2. the owner rewrites it with GPS through the mount: the next open is redacted
        run_as(OWNER, write_file, path, with_gps, os.O_WRONLY | os.O_TRUNC)
        assert pm.read_source(rel) == with_gps
        before = pm.stats()
        got = run_as(GALLERY, read_file, path)
        assert delta(before, pm.stats())["opens_redacted"] == 1
        decision, ranges = ranges_for(pm, GALLERY, path)
        assert decision == "redact"
        assert_redaction("later.jpg", with_gps, got, ranges)
        assert not shows_coordinates(exiftool_as(GALLERY, path))

        # 3. the gallery keeps that redacted fd; the owner rewrites again, with
        #    more location elsewhere: the held fd must not serve any of it
        g = mfs.Spawned(GALLERY, _hold_redacted_then_read, path, len(with_gps))
        try:
            assert g.recv() == "open"
            run_as(OWNER, write_file, path, more_gps, os.O_WRONLY | os.O_TRUNC)
            g.send("read")
            held = g.recv()
            g.send("quit")
            g.result()
        finally:
            g.kill()
        _, ranges = ranges_for(pm, GALLERY, path)
        out = exiftool_bytes(held, ".jpg")
        assert not shows_coordinates(out) and "40.41" not in out and "3.703" not in out, out
        if lib.copy:
            # the held fd reads the copy of the version it opened, exactly as
            # it was (location zeroed); the next open gets the new version,
            # redacted
            assert held == got, "the held fd's redacted copy changed under it " + (
                "to the new version" if len(held) == len(more_gps) else "")
            assert_redaction("later.jpg (opened after the rewrite)", more_gps,
                             run_as(GALLERY, read_file, path), ranges)
        else:
            # the daemon serves the held fd the new version, redacted
            assert_redaction("later.jpg (rewritten under an open fd)", more_gps, held, ranges)
            assert run_as(GALLERY, read_file, path) == held

        # 4. the owner runs exiftool itself on the mount path (it writes a
        #    temporary file next to it and renames it over the original)
        rel2 = "0/Download/edited.jpg"
        path2 = pm.m(rel2)
        run_as(OWNER, write_file, path2, plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        assert run_as(GALLERY, read_file, path2) == plain
        r = setpriv(OWNER, ET.split() + GPS_ARGS.split() + [path2])
        assert r.returncode == 0, f"owner's exiftool through the mount: {r.stderr}"
        edited = pm.read_source(rel2)
        assert edited != plain and shows_coordinates(exiftool_as(OWNER, path2))
        assert run_as(OWNER, read_file, path2) == edited
        assert pm.check(OWNER, path2)["rule"] == "owner"
        decision, ranges = ranges_for(pm, GALLERY, path2)
        assert decision == "redact", decision
        got = run_as(GALLERY, read_file, path2)
        assert_redaction("edited.jpg", edited, got, ranges)
        assert not shows_coordinates(exiftool_as(GALLERY, path2))
        assert "edited.jpg" in run_as(GALLERY, os.listdir, pm.m("0/Download"))
        assert [n for n in os.listdir(pm.s("0/Download")) if "exiftool" in n] == []

        # 5. renames keep the redaction: to another name and directory, and a
        #    photo with GPS written under a non-media name, then renamed to .jpg
        run_as(OWNER, os.rename, path2, pm.m("0/Pictures/renamed.jpg"))
        got = run_as(GALLERY, read_file, pm.m("0/Pictures/renamed.jpg"))
        assert_redaction("renamed.jpg", edited, got,
                         ranges_for(pm, GALLERY, pm.m("0/Pictures/renamed.jpg"))[1])
        disguised = pm.m("0/Download/disguised.txt")
        run_as(OWNER, write_file, disguised, with_gps, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        assert errno_of(GALLERY, read_file, disguised) == errno.ENOENT     # not media
        run_as(OWNER, os.rename, disguised, pm.m("0/DCIM/undisguised.jpg"))
        got = run_as(GALLERY, read_file, pm.m("0/DCIM/undisguised.jpg"))
        assert got != with_gps, "a GPS photo renamed from .txt to .jpg is served unredacted"
        assert_redaction("undisguised.jpg", with_gps, got,
                         ranges_for(pm, GALLERY, pm.m("0/DCIM/undisguised.jpg"))[1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_location_permission_changes_apply_to_the_next_open(lib):
    name = "loci.mp4"
    pm, path, original = lib.pm, lib.path(name), lib.original(name)
    assert errno_of(PLAIN, read_file, path) == errno.ENOENT
    pm.grant(PLAIN, "READ_MEDIA_VIDEO")
    try:
        _, ranges = ranges_for(pm, PLAIN, path)
        assert_redaction(name, original, run_as(PLAIN, read_file, path), ranges)
        pm.grant(PLAIN, "ACCESS_MEDIA_LOCATION")
        assert run_as(PLAIN, read_file, path) == original
        pm.revoke(PLAIN, "ACCESS_MEDIA_LOCATION")
        assert_redaction(name, original, run_as(PLAIN, read_file, path), ranges)
    finally:
        pm.revoke(PLAIN, "READ_MEDIA_VIDEO")
    assert errno_of(PLAIN, read_file, path) == errno.ENOENT


SAME_SIZE_ROUNDS = 600


@pytest.fixture
def own_mount(mode):
    """A mount of its own, for tests that hammer the daemon."""
    pm = PolicyMount("red", apps=APPS, extra_args=MODES[mode])
    try:
        yield pm
    finally:
        pm.close()


def test_same_size_rewrites_never_leak(lib, own_mount):
    """The owner flips a photo between a version without location and one
    with it, in place and at the same size, closing each time; the gallery
    reads right after each close (synchronised by a pipe). Every read must be
    the location-free bytes: stale index facts (same size, possibly the same
    mtime tick, close handled asynchronously) must never serve the GPS."""
    pm = own_mount
    gps = lib.original("exif_ii.jpg")
    path = pm.m("0/DCIM/flip.jpg")
    run_as(OWNER, write_file, path, gps, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    clean = run_as(GALLERY, read_file, path)            # the same bytes, GPS zeroed
    _, ranges = ranges_for(pm, GALLERY, path)
    assert_redaction("flip.jpg", gps, clean, ranges)
    def owner_step(i):
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, gps if i % 2 else clean)
        finally:
            os.close(fd)

    def gallery_step(i):
        got = read_file(path)
        if got == clean:
            return None
        return "the GPS bytes" if got == gps else f"{len(got)} other bytes"

    bad = run_in_lock_step(OWNER, owner_step, GALLERY, gallery_step, SAME_SIZE_ROUNDS,
                           pm.daemon)
    assert bad is None, f"round {bad[0]} ({'GPS' if bad[0] % 2 else 'clean'} version " \
                        f"written): the gallery read {bad[1]}"


def _peer(chan):
    while True:
        msg = chan.recv(timeout=60)
        if msg == "quit":
            return 0
        op, path = msg
        try:
            if op == "read":
                chan.send(read_file(path))
            elif op == "mmap":
                fd = os.open(path, os.O_RDONLY)
                try:
                    with mmap.mmap(fd, os.fstat(fd).st_size, flags=mmap.MAP_SHARED,
                                   prot=mmap.PROT_READ) as m:
                        chan.send(bytes(m[:]))
                finally:
                    os.close(fd)
            else:
                chan.send(os.stat(path).st_size)
        except OSError as e:
            chan.send(e.errno)


def test_alternating_readers_each_get_their_own_view(lib):
    """One path, looked up in turn by the owner, the gallery and root: the
    shared dentry cache must never hand one the other's view."""
    name = "udta.mov"
    pm, path, original = lib.pm, lib.path(name), lib.original(name)
    _, ranges = ranges_for(pm, GALLERY, path)
    peers = {OWNER: mfs.Spawned(OWNER, _peer), GALLERY: mfs.Spawned(GALLERY, _peer),
             0: mfs.Spawned(0, _peer)}
    redacted = None
    try:
        for i in range(30):
            for uid in (OWNER, GALLERY, 0, GALLERY, OWNER, GALLERY):
                op = ("read", "mmap", "stat")[(i + uid) % 3]
                peers[uid].send((op, path))
                got = peers[uid].recv()
                if op == "stat":
                    assert got == len(original), f"round {i}: stat as {uid} gave {got}"
                    continue
                assert isinstance(got, bytes), f"round {i}: {op} as {uid}: {ename(got)}"
                if uid == GALLERY:
                    if redacted is None:
                        assert_redaction(name, original, got, ranges)
                        redacted = got
                    assert got == redacted, f"round {i}: the gallery's {op} got other bytes" + (
                        " (THE ORIGINAL)" if got == original else "")
                else:
                    assert got == original, f"round {i}: {op} as {uid} got " + (
                        "the REDACTED copy" if got == redacted else "other bytes")
        for s in peers.values():
            s.send("quit")
            s.result()
    finally:
        for s in peers.values():
            s.kill()


def test_files_behind_the_daemons_back_and_mediactl_scan(lib):
    """A photo with location copied into SOURCE directly has no owner and is
    indexed (and scanned) on first sight; one that changes behind the daemon's
    back is scanned again; `mediactl scan` indexes up front."""
    pm = lib.pm
    gps, plain = lib.original("exif_mm.jpg"), lib.original("plain.jpg")
    # first sight through a lookup
    with open(pm.s("0/Pictures/dropped.jpg"), "wb") as f:
        f.write(gps)
    got = run_as(GALLERY, read_file, pm.m("0/Pictures/dropped.jpg"))
    _, ranges = ranges_for(pm, GALLERY, pm.m("0/Pictures/dropped.jpg"))
    assert_redaction("dropped.jpg", gps, got, ranges)
    assert pm.check(OWNER, pm.m("0/Pictures/dropped.jpg"))["rule"] != "owner"
    # a clean file, read plain, then replaced behind the back by one with GPS
    with open(pm.s("0/Pictures/swapped.jpg"), "wb") as f:
        f.write(plain)
    assert run_as(GALLERY, read_file, pm.m("0/Pictures/swapped.jpg")) == plain
    with open(pm.s("0/Pictures/swapped.jpg"), "wb") as f:
        f.write(gps)
    got = run_as(GALLERY, read_file, pm.m("0/Pictures/swapped.jpg"))
    assert got != gps, "a file changed behind the daemon's back was served with its GPS"
    assert_redaction("swapped.jpg", gps, got, ranges_for(pm, GALLERY,
                                                          pm.m("0/Pictures/swapped.jpg"))[1])
    # mediactl scan indexes up front: its report, then redaction on first open
    with open(pm.s("0/Movies/scanned.mp4"), "wb") as f:
        f.write(lib.original("loci.mp4"))
    r = pm.ctl("scan", pm.s("0/Movies"), "--json")
    json.loads(r.stdout)
    before = pm.stats()
    got = run_as(GALLERY, read_file, pm.m("0/Movies/scanned.mp4"))
    assert delta(before, pm.stats())["opens_redacted"] == 1
    assert_redaction("scanned.mp4", lib.original("loci.mp4"), got,
                     ranges_for(pm, GALLERY, pm.m("0/Movies/scanned.mp4"))[1])


CONCURRENT_READERS = 4
CONCURRENT_SECONDS = 6


def _read_loop(chan, paths, references, seconds):
    """Opens, reads to EOF and closes each path in a tight loop."""
    done, problems = 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(problems) < 10:
        for p in paths:
            try:
                fd = os.open(p, os.O_RDONLY)
                try:
                    chunks = []
                    while True:
                        b = os.read(fd, 65536)
                        if not b:
                            break
                        chunks.append(b)
                finally:
                    os.close(fd)
                if b"".join(chunks) != references[p]:
                    problems.append(f"{p}: other bytes than the redacted copy")
                done += 1
            except OSError as e:
                problems.append(f"{p}: {e!r}")
    return done, problems


def test_concurrent_redacted_readers_keep_the_daemon_alive(media_dir, own_mount):
    """Several gallery processes open, read and close redacted views at once:
    every read is the redacted copy and the daemon survives (a redacted read
    must not touch its open file once the reply lets the reader close it)."""
    pm = own_mount
    paths = []
    for name in ("exif_mm.jpg", "loci.mp4"):
        with open(os.path.join(media_dir, name), "rb") as f:
            data = f.read()
        p = pm.m(f"0/DCIM/hot_{name}")
        run_as(OWNER, write_file, p, data, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        paths.append(p)
    references = {p: run_as(GALLERY, read_file, p) for p in paths}
    for p in paths:
        assert references[p] != pm.read_source(os.path.relpath(p, pm.mnt))
    readers = [mfs.Spawned(GALLERY, _read_loop, paths, references, CONCURRENT_SECONDS)
               for _ in range(CONCURRENT_READERS)]
    results = []
    try:
        for s in readers:
            results.append(s.result(timeout=CONCURRENT_SECONDS + 60))
    finally:
        for s in readers:
            s.kill()
    alive = pm.daemon.alive()
    log = pm.log()
    problems = [p for _, ps in results for p in ps]
    assert alive, f"mediafsd died under concurrent redacted reads; log:\n{log[-2000:]}\n" \
                  f"readers saw: {problems[:5]}"
    assert not problems, "\n".join(problems[:20])
    assert all(n > 0 for n, _ in results), results


# ------------------------------------------------------------------ the copy path's own rules

COPY_MAX = 2 << 20          # --redact-copy-max of the copy_lib mount
COPY_BUDGET = 3 << 20       # --redact-copy-budget of the copy_lib mount


def padded(jpeg, size, seed):
    """A JPEG with filler after its end marker up to `size` bytes (readers
    ignore it), like a large photo: its location ranges stay where they were."""
    return jpeg + random.Random(seed).randbytes(size - len(jpeg))


@pytest.fixture(scope="module")
def copy_lib(media_dir):
    """A mount with small copy limits: files up to 2 MiB get an in-memory
    copy, 3 MiB for all copies together, no disk copies."""
    pm = PolicyMount("rcopy", apps=APPS, extra_args=[
        "--redact-copy-max", str(COPY_MAX), "--redact-copy-budget", "3M",
        "--redact-disk-budget", "0"])
    try:
        yield pm, media_dir
    finally:
        pm.close()


def _put(pm, rel, data):
    run_as(OWNER, write_file, pm.m(rel), data, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    assert pm.read_source(rel) == data
    return pm.m(rel)


def _redacted_read_checked(pm, path, original, what):
    """The gallery's read of path, checked against `original` with the ranges
    `mediactl check` gives zeroed; returns (bytes, stats delta)."""
    decision, ranges = ranges_for(pm, GALLERY, path)
    assert decision == "redact", f"{what}: check says {decision}"
    before = pm.stats()
    got = run_as(GALLERY, read_file, path)
    d = delta(before, pm.stats())
    assert_redaction(what, original, got, ranges)
    assert d["opens_redacted"] == 1, f"{what}: {d}"
    return got, d


def _every_read_path_reads(pm, path, got, scratch_name, what):
    """The gallery's every read path of `path` gives exactly `got`, its
    checked plain read (probed pieces of it for pread)."""
    _, ranges = ranges_for(pm, GALLERY, path)
    probes = _probes(len(got), ranges, scratch_name)
    results = run_as(GALLERY, _every_read_path, path, len(got),
                     pm.m("0/Download", scratch_name), probes)
    for how, data in results.items():
        want = b"".join(got[o:o + ln] for o, ln in probes) if how == "pread" else got
        assert data == want, f"{how} of {what} differs from its read"


def test_only_files_up_to_the_copy_limit_get_a_copy(copy_lib):
    pm, media = copy_lib
    with open(os.path.join(media, "exif_mm.jpg"), "rb") as f:
        jpeg = f.read()
    small = _put(pm, "0/DCIM/limit_small.jpg", jpeg)
    at_max = padded(jpeg, COPY_MAX, "at")
    at = _put(pm, "0/DCIM/limit_at.jpg", at_max)
    above_max = padded(jpeg, COPY_MAX + 4096, "above")
    above = _put(pm, "0/DCIM/limit_above.jpg", above_max)

    got, d = _redacted_read_checked(pm, small, jpeg, "small photo")
    assert d["opens_redacted_copy"] == 1 and d["server_read_bytes"] == 0, d
    got, d = _redacted_read_checked(pm, at, at_max, "photo of exactly --redact-copy-max")
    assert d["opens_redacted_copy"] == 1 and d["server_read_bytes"] == 0, d
    got, d = _redacted_read_checked(pm, above, above_max, "photo above --redact-copy-max")
    assert d["opens_redacted_copy"] == 0, f"a file above --redact-copy-max got a copy: {d}"
    assert d["server_read_bytes"] >= len(above_max), d
    assert d["opens_passthrough"] == 0, d
    # every read path of the daemon-served large view is redacted too
    _every_read_path_reads(pm, above, got, "limit_scratch.bin", "the daemon-served view")
    assert pm.stats()["redact_copy_bytes"] <= COPY_BUDGET


def _copy_fds(pid, src):
    """The daemon's descriptors of unnamed files in SOURCE (its disk copies):
    [(target, open flags)]."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags = int(f.read().split("flags:")[1].split()[0], 8)
        except (OSError, IndexError):
            continue
        if target.startswith(src + "/#") and target.endswith(" (deleted)"):
            found.append((target, flags))
    return found


def test_larger_files_get_a_read_only_unnamed_copy_on_disk(media_dir):
    """Above --redact-copy-max, a redacted view passes through to a copy on
    disk (in SOURCE's file system by default): unnamed, open read-only, never
    in any listing, within --redact-disk-budget; a file above that budget is
    served by the daemon. Every byte checked against the ranges."""
    pm = PolicyMount("rdisk", apps=APPS, extra_args=[
        "--redact-copy-max", "1M", "--redact-disk-budget", "5M"])
    try:
        with open(os.path.join(media_dir, "exif_mm.jpg"), "rb") as f:
            jpeg = f.read()
        photo = _put(pm, "0/DCIM/disk_photo.jpg", padded(jpeg, 512 << 10, "photo"))
        video_size = padded(jpeg, 3 << 20, "big")
        big = _put(pm, "0/DCIM/disk_big.jpg", video_size)
        huge_data = padded(jpeg, 6 << 20, "huge")
        huge = _put(pm, "0/DCIM/disk_huge.jpg", huge_data)
        listing = sorted(os.listdir(pm.src)), sorted(os.listdir(pm.s("0", "DCIM")))

        _, d = _redacted_read_checked(pm, photo, padded(jpeg, 512 << 10, "photo"), "photo")
        assert d["opens_redacted_copy"] == 1 and d["redact_copies"] == 1, d
        assert d["redact_disk_copies"] == 0, d

        got, d = _redacted_read_checked(pm, big, video_size, "3 MiB file")
        assert d["opens_redacted_copy"] == 1 and d["server_read_bytes"] == 0, d
        assert d["redact_disk_copies"] == 1 and d["redact_copies"] == 0, d
        # every read path of the view reads the disk copy, redacted
        _every_read_path_reads(pm, big, got, "disk_scratch.bin", "the disk copy's view")
        # the copy: unnamed, read-only, and nowhere in SOURCE's listings
        copies = _copy_fds(pm.daemon.proc.pid, pm.src)
        assert len(copies) == 1, copies
        assert copies[0][1] & os.O_ACCMODE == os.O_RDONLY, copies
        assert (sorted(os.listdir(pm.src)), sorted(os.listdir(pm.s("0", "DCIM")))) == listing

        _, d = _redacted_read_checked(pm, huge, huge_data, "file above --redact-disk-budget")
        assert d["opens_redacted_copy"] == 0, d
        assert d["server_read_bytes"] >= len(huge_data), d
        s = pm.stats()
        assert s["redact_disk_copy_bytes"] <= 5 << 20, s
    finally:
        pm.close()


def test_unusable_redact_copy_dir_is_one_clear_line():
    """A --redact-copy-dir that cannot take unnamed files stops the start,
    before mounting, with one line (exit 1)."""
    with tempfile.TemporaryDirectory() as base:
        src, mnt = os.path.join(base, "src"), os.path.join(base, "mnt")
        os.mkdir(src)
        os.mkdir(mnt)
        r = subprocess.run([mfs.mediafsd(), "-f", "--redact-copy-dir", "/nonexistent/dir",
                            src, mnt], capture_output=True, text=True, timeout=30)
        assert not os.path.ismount(mnt)
    assert r.returncode == 1, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--redact-copy-dir '/nonexistent/dir'" in lines[0], r.stderr


def _hold_open(chan, path, flags):
    """The gallery: opens path, then on "read" sends what read and mmap show
    (or the errno), until "quit"."""
    fd = os.open(path, flags)
    try:
        chan.send("open")
        while chan.recv(timeout=60) == "read":
            try:
                data = os.pread(fd, os.fstat(fd).st_size + (1 << 16), 0)
                with mmap.mmap(fd, len(data), flags=mmap.MAP_SHARED,
                               prot=mmap.PROT_READ) as m:
                    shared = bytes(m[:])
                with mmap.mmap(fd, len(data), flags=mmap.MAP_PRIVATE,
                               prot=mmap.PROT_READ) as m:
                    private = bytes(m[:])
                chan.send((data, shared, private))
            except OSError as e:
                chan.send(e.errno)
        return "done"
    finally:
        os.close(fd)


def _held_read(holder, what):
    holder.send("read")
    got = holder.recv()
    assert not isinstance(got, int), f"{what}: the held redacted fd failed: {ename(got)}"
    data, shared, private = got
    assert shared == data and private == data, f"{what}: mmap of the held fd differs from read"
    return data


def test_source_changed_under_an_open_copy(copy_lib):
    """The owner rewrites a photo in place while the gallery holds redacted
    fds of older versions open: every held fd keeps reading exactly the copy
    it opened (no EIO), and every new open reads the new version with its own
    location zeroed (never an old copy, never the new location)."""
    pm, media = copy_lib
    with open(os.path.join(media, "exif_ii.jpg"), "rb") as f:
        v1 = f.read()
    with open(os.path.join(media, "exif_mm.jpg"), "rb") as f:
        v2 = f.read()
    assert len(v1) != len(v2)
    v3 = bytearray(v2)                  # same size as v2, one image byte changed
    v3[len(v3) // 2] ^= 0xFF
    v3 = bytes(v3)
    path = _put(pm, "0/DCIM/changing.jpg", v1)
    r1, d = _redacted_read_checked(pm, path, v1, "v1")
    assert d["opens_redacted_copy"] == 1, d
    holders = []
    try:
        holders.append(mfs.Spawned(GALLERY, _hold_open, path, os.O_RDONLY))
        assert holders[0].recv() == "open"
        assert _held_read(holders[0], "v1 held") == r1

        run_as(OWNER, write_file, path, v2, os.O_WRONLY | os.O_TRUNC)
        r2, d = _redacted_read_checked(pm, path, v2, "v2, opened while v1's copy is open")
        assert d["opens_redacted_copy"] == 1, f"the new version was not given a copy: {d}"
        assert _held_read(holders[0], "v1 held after the rewrite to v2") == r1
        holders.append(mfs.Spawned(GALLERY, _hold_open, path, os.O_RDONLY))
        assert holders[1].recv() == "open"
        assert _held_read(holders[1], "v2 held") == r2

        # same size, same inode, one byte different: a new version all the same
        run_as(OWNER, write_file, path, v3, os.O_WRONLY)
        assert pm.read_source("0/DCIM/changing.jpg") == v3
        r3, d = _redacted_read_checked(pm, path, v3, "v3 (same size as v2)")
        assert d["opens_redacted_copy"] == 1, d
        assert r3 != r2, "the open after a same-size rewrite read the old copy"
        assert _held_read(holders[0], "v1 held at the end") == r1
        assert _held_read(holders[1], "v2 held at the end") == r2
        for h in holders:
            h.send("quit")
            assert h.result() == "done"
    finally:
        for h in holders:
            h.kill()
    assert run_as(GALLERY, read_file, path) == r3
    mfs.wait_for(lambda: pm.stats()["backing_ids_open"] == 0, 10,
                 what="every copy's backing id to be closed once its opens are released")
    assert "EIO" not in pm.log() and "Input/output" not in pm.log()


def _read_o_direct(path):
    """Reads path to EOF with O_DIRECT, 64 KiB at a time, into an aligned buffer."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        buf = mmap.mmap(-1, 1 << 16)
        out, off = [], 0
        while True:
            n = os.preadv(fd, [buf], off)
            if n == 0:
                break
            out.append(bytes(buf[:n]))
            off += n
        buf.close()
        return b"".join(out)
    finally:
        os.close(fd)


def test_o_direct_reads_of_the_redacted_view(copy_lib):
    pm, media = copy_lib
    with open(os.path.join(media, "exif_ii.jpg"), "rb") as f:
        jpeg = f.read()
    small = _put(pm, "0/DCIM/direct_small.jpg", padded(jpeg, 300000, "ds"))
    large = _put(pm, "0/DCIM/direct_large.jpg", padded(jpeg, COPY_MAX + 100000, "dl"))
    for path, copied in ((small, True), (large, False)):
        reference = run_as(GALLERY, read_file, path)
        before = pm.stats()
        got = run_as(GALLERY, _read_o_direct, path)
        d = delta(before, pm.stats())
        assert got == reference, f"{path}: O_DIRECT read differs from the redacted read"
        assert d["opens_redacted"] == 1 and d["opens_redacted_copy"] == (1 if copied else 0), d


def test_copy_budget(copy_lib):
    """Copies in use are never dropped: when they fill --redact-copy-budget the
    next view is served by the daemon; once they are closed, least recently
    used copies make room."""
    pm, media = copy_lib
    with open(os.path.join(media, "exif_mm.jpg"), "rb") as f:
        jpeg = f.read()
    size = 1300 * 1024                  # two fit in 3 MiB, three do not
    datas = [padded(jpeg, size, f"budget{i}") for i in range(3)]
    paths = [_put(pm, f"0/DCIM/budget{i}.jpg", datas[i]) for i in range(3)]
    refs = [_redacted_read_checked(pm, p, d, p)[0] for p, d in zip(paths, datas)]
    holders = []
    try:
        for i in range(2):
            before = pm.stats()
            holders.append(mfs.Spawned(GALLERY, _hold_open, paths[i], os.O_RDONLY))
            assert holders[i].recv() == "open"
            assert delta(before, pm.stats())["opens_redacted_copy"] == 1
            assert _held_read(holders[i], f"budget{i} held") == refs[i]
        got, d = _redacted_read_checked(pm, paths[2], datas[2], "third while two are held")
        assert got == refs[2]
        assert d["opens_redacted_copy"] == 0 and d["server_read_bytes"] >= size, d
        assert pm.stats()["redact_copy_bytes"] <= COPY_BUDGET
        for h in holders:
            h.send("quit")
            h.result()
    finally:
        for h in holders:
            h.kill()
    got, d = _redacted_read_checked(pm, paths[2], datas[2], "third after the two closed")
    assert got == refs[2] and d["opens_redacted_copy"] == 1, d
    s = pm.stats()
    assert s["redact_copy_bytes"] <= COPY_BUDGET, s
    mfs.wait_for(lambda: pm.stats()["backing_ids_open"] == 0, 10, what="backing ids closed")


REWRITE_SECONDS = 5


def _rewrite_loop(chan, path, data, seconds):
    """The owner: rewrites the same bytes in place as fast as it can, so
    that every write makes a new version (new mtime and ctime)."""
    fd = os.open(path, os.O_WRONLY)
    n, end = 0, time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            os.pwrite(fd, data, 0)
            n += 1
    finally:
        os.close(fd)
    return n


def _open_read_loop(chan, path, original, reference, seconds):
    ok, bad = 0, {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got = read_file(path)
            key = None if got == reference else (
                "THE ORIGINAL" if got == original else "other bytes")
        except OSError as e:
            key = errno.errorcode.get(e.errno, str(e.errno))
        if key is None:
            ok += 1
        else:
            bad[key] = bad.get(key, 0) + 1
    return ok, bad


def test_opens_racing_with_rewrites(copy_lib):
    """Every write makes a new version, so opens race with changes all the
    time: between an open's LOOKUP and its OPEN the view inode it found may
    pass through to the previous version's copy. Every read must be exactly
    the redacted bytes, never an EIO. An open that loses that race on a view
    with an older copy open gets ESTALE, which the VFS retries once with a
    fresh lookup; only losing twice in a row reaches the app, which this
    storm (tens of thousands of versions a second) allows rarely."""
    pm, media = copy_lib
    with open(os.path.join(media, "exif_ii.jpg"), "rb") as f:
        data = f.read()
    path = _put(pm, "0/DCIM/storm.jpg", data)
    reference, _ = _redacted_read_checked(pm, path, data, "storm.jpg")
    readers = [mfs.Spawned(GALLERY, _open_read_loop, path, data, reference, REWRITE_SECONDS)
               for _ in range(3)]
    writer = mfs.Spawned(OWNER, _rewrite_loop, path, data, REWRITE_SECONDS)
    try:
        writes = writer.result(timeout=REWRITE_SECONDS + 60)
        results = [r.result(timeout=REWRITE_SECONDS + 60) for r in readers]
    finally:
        writer.kill()
        for r in readers:
            r.kill()
    opens = sum(ok + sum(bad.values()) for ok, bad in results)
    bad = {}
    for _, b in results:
        for k, v in b.items():
            bad[k] = bad.get(k, 0) + v
    assert writes > 1000 and opens > 100, (writes, opens)
    assert set(bad) <= {"ESTALE"}, f"{opens} opens during {writes} rewrites: {bad}"
    assert bad.get("ESTALE", 0) * 100 <= opens, f"{opens} opens: {bad}"
    s = pm.stats()
    assert s["redact_copy_bytes"] <= COPY_BUDGET, s
    mfs.wait_for(lambda: pm.stats()["backing_ids_open"] == 0, 10, what="backing ids closed")
