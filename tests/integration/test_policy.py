"""
The access policy end to end (issue 3): a real mediafsd with --db on a real
SQLite file, real app uids, every row of the policy table with its exact
errno, live changes through mediactl (no restart), per-caller listings, the
shared dentry cache, ordinary tools, `mediactl check`, and the database's
own failure modes.
"""
import errno
import json
import os
import shutil
import tempfile
import subprocess
import time

import mfs
import sec_env
from policy_env import (ALLMEDIA, CAMERA, FILES, GALLERY, LOCGAL, MUSIC, PKG, PLAIN,
                        STANDARD_DIRS, SYSTEM, USER1, PolicyMount, ename, errno_of, expect,
                        listdir_sorted, media_dir, open_close, plain_media, pol, read_file,
                        run_as, run_in_lock_step, scandir_sorted, setpriv, write_file)

ENOENT, EACCES, EPERM = errno.ENOENT, errno.EACCES, errno.EPERM
W = os.O_WRONLY
RW = os.O_RDWR
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL

__all__ = ["pol", "plain_media", "media_dir"]  # fixtures used below


def create_as(pm, uid, rel, data):
    """uid creates SOURCE-relative `rel` through the mount with `data`."""
    run_as(uid, write_file, pm.m(rel), data, CREATE)
    return pm.m(rel)


def mkdir_as(pm, uid, rel):
    run_as(uid, os.mkdir, pm.m(rel))
    return pm.m(rel)


def rename(a, b):
    os.rename(a, b)


def utime(p):
    os.utime(p, (1, 2))


def truncate(p):
    os.truncate(p, 0)


def access_ok(p, mode):
    return os.access(p, mode)


def assert_hidden(uid, path, who=""):
    """The file does not exist for uid: lookup, stat, open say ENOENT."""
    for what, fn, args in (("stat", os.stat, (path,)), ("lstat", os.lstat, (path,)),
                           ("open O_RDONLY", open_close, (path,)),
                           ("open O_WRONLY", open_close, (path, W)),
                           ("open O_RDWR", open_close, (path, RW))):
        expect(ENOENT, uid, f"{who}{what} {path}", fn, *args)
    assert run_as(uid, access_ok, path, os.F_OK) is False, f"access(F_OK) {path} as {uid}"
    name = os.path.basename(path)
    listing = errno_of(uid, os.listdir, os.path.dirname(path))
    if listing == 0:
        assert name not in run_as(uid, os.listdir, os.path.dirname(path)), \
            f"{path} is hidden from uid {uid} but listed"


def assert_readable(uid, path, data):
    got = run_as(uid, read_file, path)
    assert got == data, f"uid {uid} read {len(got)} bytes of {path}, not the {len(data)} written"


# ------------------------------------------------------------------ rows of the table

def test_system_uids_may_do_everything(pol, plain_media):
    jpg = plain_media["jpg"]
    mkdir_as(pol, CAMERA, "0/Android/data/com.pol.camera")
    secret = create_as(pol, CAMERA, "0/Android/data/com.pol.camera/secret.txt", b"secret")
    note = create_as(pol, CAMERA, "0/Documents/note.txt", b"note")
    photo = create_as(pol, CAMERA, "0/DCIM/photo.jpg", jpg)
    u1 = create_as(pol, USER1, "1/Download/u1.txt", b"user one")
    for uid in (0, SYSTEM):
        for p, data in ((secret, b"secret"), (note, b"note"), (photo, jpg), (u1, b"user one")):
            assert_readable(uid, p, data)
        # rows that refuse apps do not apply to the system
        assert "com.pol.camera" in run_as(uid, os.listdir, pol.m("0/Android/data"))
        assert run_as(uid, listdir_sorted, pol.m("1/Download")) == ["u1.txt"]
        create_as(pol, uid, f"0/DCIM/sys{uid}.txt", b"misplaced type")   # EPERM for apps
        run_as(uid, write_file, secret, b"secret")                       # not its own
        mkdir_as(pol, uid, f"0/Top{uid}")                                # EPERM for apps
        run_as(uid, os.rmdir, pol.m(f"0/Top{uid}"))
        run_as(uid, os.unlink, pol.m(f"0/DCIM/sys{uid}.txt"))
    # the system sees the real attributes, not a per-caller presentation
    st = run_as(SYSTEM, os.stat, photo)
    real = os.stat(pol.s("0/DCIM/photo.jpg"))
    assert (st.st_uid, st.st_mode) == (real.st_uid, real.st_mode)


def test_other_users_directory_is_eacces(pol, plain_media):
    create_as(pol, USER1, "1/Download/u1.txt", b"user one")
    create_as(pol, USER1, "1/DCIM/u1.jpg", plain_media["jpg"])
    create_as(pol, CAMERA, "0/DCIM/c.jpg", plain_media["jpg"])
    # a user-0 app (even with every permission) in user 1's tree, and back
    for uid, other in ((CAMERA, "1"), (FILES, "1"), (ALLMEDIA, "1"), (USER1, "0")):
        for what, fn, args in (
                ("stat", os.stat, (pol.m(other),)),
                ("listdir", os.listdir, (pol.m(other),)),
                ("listdir", os.listdir, (pol.m(other, "DCIM"),)),
                ("stat", os.stat, (pol.m(other, "DCIM"),)),
                ("stat", os.stat, (pol.m(other, "Download", "u1.txt"),)),
                ("open", open_close, (pol.m(other, "DCIM", "u1.jpg"),)),
                ("open", open_close, (pol.m(other, "DCIM", "c.jpg"),)),
                ("create", write_file, (pol.m(other, "Download", "x.txt"), b"x", CREATE)),
                ("mkdir", os.mkdir, (pol.m(other, "DCIM", "sub"),))):
            expect(EACCES, uid, f"{what} {args[0]}", fn, *args)
    assert not os.path.exists(pol.s("1/Download/x.txt"))
    assert not os.path.exists(pol.s("0/Download/x.txt"))
    assert not os.path.exists(pol.s("0/DCIM/sub"))
    # its own user's tree works
    assert run_as(USER1, read_file, pol.m("1/Download/u1.txt")) == b"user one"
    assert run_as(CAMERA, read_file, pol.m("0/DCIM/c.jpg")) == plain_media["jpg"]


def test_android_data_and_obb_are_private(pol, plain_media):
    jpg = plain_media["jpg"]
    for area in ("data", "obb"):
        mkdir_as(pol, CAMERA, f"0/Android/{area}/com.pol.camera")
        create_as(pol, CAMERA, f"0/Android/{area}/com.pol.camera/cache.bin", b"cache")
        create_as(pol, CAMERA, f"0/Android/{area}/com.pol.camera/img.jpg", jpg)
        mkdir_as(pol, GALLERY, f"0/Android/{area}/com.pol.gallery")
        create_as(pol, GALLERY, f"0/Android/{area}/com.pol.gallery/g.txt", b"g")
    # a per-file grant does not open another app's private area
    pol.ctl("grant-file", str(PLAIN), pol.s("0/Android/data/com.pol.camera/img.jpg"),
            check=False)
    for area in ("data", "obb"):
        pkg_dir = pol.m(f"0/Android/{area}/com.pol.camera")
        for uid in (GALLERY, FILES, ALLMEDIA, PLAIN, MUSIC):
            expect(ENOENT, uid, f"stat {pkg_dir}", os.stat, pkg_dir)
            expect(ENOENT, uid, f"listdir {pkg_dir}", os.listdir, pkg_dir)
            for name in ("cache.bin", "img.jpg"):
                assert_hidden(uid, os.path.join(pkg_dir, name))
            expect(ENOENT, uid, "create inside", write_file,
                   os.path.join(pkg_dir, "x.txt"), b"x", CREATE)
            # creating another app's package directory: refused (EPERM)
            expect(EPERM, uid, f"mkdir {pkg_dir}", os.mkdir, pkg_dir)
            expect(EPERM, uid, "mkdir com.pol.absent", os.mkdir,
                   pol.m(f"0/Android/{area}/com.pol.absent"))
        # listing shows only the caller's own directory
        listing = pol.m(f"0/Android/{area}")
        assert run_as(CAMERA, listdir_sorted, listing) == ["com.pol.camera"]
        assert run_as(GALLERY, listdir_sorted, listing) == ["com.pol.gallery"]
        for uid in (PLAIN, FILES, ALLMEDIA):
            assert run_as(uid, listdir_sorted, listing) == [], f"{listing} as {uid}"
        assert run_as(0, listdir_sorted, listing) == ["com.pol.camera", "com.pol.gallery"]
        # the package itself reads, writes, renames and deletes inside
        f = os.path.join(pkg_dir, "cache.bin")
        assert run_as(CAMERA, read_file, f) == b"cache"
        run_as(CAMERA, write_file, f, b"cache2")
        run_as(CAMERA, rename, f, os.path.join(pkg_dir, "cache.old"))
        run_as(CAMERA, os.unlink, os.path.join(pkg_dir, "cache.old"))
        assert run_as(CAMERA, listdir_sorted, pkg_dir) == ["img.jpg"]
    # an app may create its own package dir (PLAIN has none yet)
    mkdir_as(pol, PLAIN, "0/Android/data/com.pol.plain")
    create_as(pol, PLAIN, "0/Android/data/com.pol.plain/p.dat", b"p")
    assert run_as(PLAIN, listdir_sorted, pol.m("0/Android/data")) == ["com.pol.plain"]


def test_owner_reads_writes_renames_deletes(pol, plain_media):
    jpg = plain_media["jpg"]
    p = create_as(pol, CAMERA, "0/DCIM/own.jpg", jpg)
    assert_readable(CAMERA, p, jpg)
    run_as(CAMERA, write_file, p, jpg + b"tail", W)           # overwrite in place
    assert pol.read_source("0/DCIM/own.jpg") == jpg + b"tail"
    run_as(CAMERA, truncate, p)
    run_as(CAMERA, write_file, p, jpg, RW)
    run_as(CAMERA, utime, p)
    assert os.stat(pol.s("0/DCIM/own.jpg")).st_mtime == 2
    run_as(CAMERA, rename, p, pol.m("0/Pictures/own.jpg"))
    run_as(CAMERA, rename, pol.m("0/Pictures/own.jpg"), pol.m("0/Download/own.jpg"))
    assert_readable(CAMERA, pol.m("0/Download/own.jpg"), jpg)
    assert pol.check(CAMERA, pol.m("0/Download/own.jpg"), "--write")["rule"] == "owner"
    # unregistering the app keeps it the owner of what it created
    pol.ctl("app", "remove", "--uid", str(CAMERA))
    assert_readable(CAMERA, pol.m("0/Download/own.jpg"), jpg)
    run_as(CAMERA, os.unlink, pol.m("0/Download/own.jpg"))
    assert not os.path.exists(pol.s("0/Download/own.jpg"))
    # a non-media file of its own, too
    n = create_as(pol, CAMERA, "0/Documents/n.txt", b"n")
    run_as(CAMERA, write_file, n, b"nn")
    assert_readable(CAMERA, n, b"nn")
    run_as(CAMERA, os.unlink, n)


def test_read_media_permissions_by_type(pol, plain_media):
    files = {
        "0/DCIM/p.jpg": plain_media["jpg"], "0/DCIM/v.mp4": plain_media["mp4"],
        "0/Music/s.mp3": plain_media["mp3"], "0/Download/d.png": plain_media["png"],
    }
    mkdir_as(pol, CAMERA, "0/Android/media/com.pol.camera")
    files["0/Android/media/com.pol.camera/m.jpg"] = plain_media["jpg"]
    for rel, data in files.items():
        create_as(pol, CAMERA, rel, data)
    readable = {
        GALLERY: {"0/DCIM/p.jpg", "0/DCIM/v.mp4", "0/Download/d.png",
                  "0/Android/media/com.pol.camera/m.jpg"},
        MUSIC: {"0/Music/s.mp3"},
        ALLMEDIA: set(files),
        PLAIN: set(),
    }
    for uid, ok in readable.items():
        for rel, data in files.items():
            if rel in ok:
                assert_readable(uid, pol.m(rel), data)
                st = run_as(uid, os.stat, pol.m(rel))
                assert (st.st_uid, st.st_mode & 0o777) == (uid, 0o400), \
                    f"{rel} as {uid}: presented {st.st_uid} {oct(st.st_mode)}"
                # read-only: no write, truncate, utime, unlink or rename
                for what, fn, args in (("open O_WRONLY", open_close, (pol.m(rel), W)),
                                       ("open O_RDWR", open_close, (pol.m(rel), RW)),
                                       ("truncate", truncate, (pol.m(rel),)),
                                       ("utime", utime, (pol.m(rel),)),
                                       ("unlink", os.unlink, (pol.m(rel),)),
                                       ("rename", rename, (pol.m(rel), pol.m(rel) + ".jpg"))):
                    expect(EACCES, uid, f"{what} {rel}", fn, *args)
                assert pol.read_source(rel) == data
            else:
                assert_hidden(uid, pol.m(rel))
    # a change of permission applies to the next request, no restart
    pol.revoke(GALLERY, "READ_MEDIA_VIDEO")
    assert_hidden(GALLERY, pol.m("0/DCIM/v.mp4"))
    assert_readable(GALLERY, pol.m("0/DCIM/p.jpg"), plain_media["jpg"])
    pol.grant(GALLERY, "READ_MEDIA_VIDEO")
    assert_readable(GALLERY, pol.m("0/DCIM/v.mp4"), plain_media["mp4"])


def test_grant_and_revoke_apply_to_the_next_open(pol, plain_media):
    jpg = plain_media["jpg"]
    p = create_as(pol, CAMERA, "0/DCIM/live.jpg", jpg)
    for _ in range(3):
        assert_hidden(PLAIN, p)
        pol.grant(PLAIN, "READ_MEDIA_IMAGES")
        assert_readable(PLAIN, p, jpg)
        # revoked while the name is in the kernel's dentry cache
        run_as(PLAIN, os.stat, p)
        pol.revoke(PLAIN, "READ_MEDIA_IMAGES")
        expect(ENOENT, PLAIN, "stat right after revoke", os.stat, p)
        expect(ENOENT, PLAIN, "open right after revoke", open_close, p)


def warm(uid, paths, rounds=3):
    """uid stats and opens every path a few times: the daemon's record cache
    then holds every input of these decisions."""
    for _ in range(rounds):
        for p in paths:
            run_as(uid, os.stat, p)
            run_as(uid, open_close, p)


def test_decisions_from_memory_follow_every_change(pol, plain_media):
    """Decisions answered from the daemon's record cache (no database read)
    change with the very next request after any change: a permission, a
    per-file grant, an app removed, a file changed or moved behind the
    daemon's back."""
    jpg = plain_media["jpg"]
    names = [f"0/DCIM/mem{i}.jpg" for i in range(8)]
    paths = [create_as(pol, CAMERA, n, jpg) for n in names]
    warm(GALLERY, paths, rounds=1)
    time.sleep(0.2)          # whole directories are cached once the database is quiet
    before = pol.stats()
    warm(GALLERY, paths)
    after = pol.stats()
    from_memory = after["decisions_from_memory"] - before["decisions_from_memory"]
    from_db = after["decisions_from_db"] - before["decisions_from_db"]
    assert from_memory >= 3 * len(paths) and from_db <= len(paths), (from_memory, from_db)

    # a permission revoked, then granted again
    pol.revoke(GALLERY, "READ_MEDIA_IMAGES")
    for p in paths:
        expect(ENOENT, GALLERY, "stat after revoke", os.stat, p)
        expect(ENOENT, GALLERY, "open after revoke", open_close, p)
    pol.grant(GALLERY, "READ_MEDIA_IMAGES")
    warm(GALLERY, paths)

    # a per-file grant given and taken back while the refusal is cached
    for _ in range(3):
        expect(ENOENT, PLAIN, "stat without a grant", os.stat, paths[0])
    pol.grant_file(PLAIN, names[0])
    assert_readable(PLAIN, paths[0], jpg)
    assert_readable(PLAIN, paths[0], jpg)
    pol.revoke_file(PLAIN, names[0])
    expect(ENOENT, PLAIN, "open after revoke-file", open_close, paths[0])

    # the app removed: an unknown uid sees no one else's photos
    warm(ALLMEDIA, paths[:2])
    pol.ctl("app", "remove", "--uid", str(ALLMEDIA))
    expect(ENOENT, ALLMEDIA, "stat after app remove", os.stat, paths[0])

    # changed behind the daemon's back: the new bytes are served, and gaining
    # a location makes the next open of an app without ACCESS_MEDIA_LOCATION
    # a redacted one
    warm(GALLERY, paths[:2])
    gps = sec_env.make_gps_jpeg(pol.s(names[1]))
    got = run_as(GALLERY, read_file, paths[1])
    assert len(got) == len(gps) and got != gps, "location not redacted after a change"
    assert run_as(LOCGAL, read_file, paths[1]) == gps
    with open(pol.s(names[0]), "ab") as f:
        f.write(b"tail")
    assert_readable(GALLERY, paths[0], jpg + b"tail")

    # moved behind the daemon's back into another app's private area
    private = pol.s("0/Android/data/com.pol.music")
    os.makedirs(private, exist_ok=True)
    os.rename(pol.s(names[2]), os.path.join(private, "mem2.jpg"))
    expect(ENOENT, GALLERY, "stat of the old name", os.stat, paths[2])
    expect(ENOENT, GALLERY, "stat in another app's private area", os.stat,
           pol.m("0/Android/data/com.pol.music/mem2.jpg"))
    assert run_as(MUSIC, os.stat, pol.m("0/Android/data/com.pol.music/mem2.jpg"))


def test_per_file_grants_read_and_write(pol, plain_media):
    jpg = plain_media["jpg"]
    p = create_as(pol, CAMERA, "0/DCIM/g.jpg", jpg)
    other = create_as(pol, CAMERA, "0/DCIM/other.jpg", jpg)
    assert_hidden(PLAIN, p)
    pol.grant_file(PLAIN, "0/DCIM/g.jpg")
    assert_readable(PLAIN, p, jpg)
    st = run_as(PLAIN, os.stat, p)
    assert st.st_mode & 0o777 == 0o400, oct(st.st_mode)
    expect(EACCES, PLAIN, "open O_WRONLY with a read grant", open_close, p, W)
    expect(EACCES, PLAIN, "open O_RDWR with a read grant", open_close, p, RW)
    expect(EACCES, PLAIN, "unlink with a read grant", os.unlink, p)
    assert_hidden(PLAIN, other)                     # the grant is for that file only
    pol.grant_file(PLAIN, "0/DCIM/g.jpg", write=True)
    st = run_as(PLAIN, os.stat, p)
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    run_as(PLAIN, write_file, p, jpg + b"!", RW)
    assert pol.read_source("0/DCIM/g.jpg") == jpg + b"!"
    # grants follow renames (by the owner)
    run_as(CAMERA, rename, p, pol.m("0/Pictures/g2.jpg"))
    assert_readable(PLAIN, pol.m("0/Pictures/g2.jpg"), jpg + b"!")
    expect(ENOENT, PLAIN, "old name after rename", os.stat, p)
    # the grantee with write access may rename it too
    run_as(PLAIN, rename, pol.m("0/Pictures/g2.jpg"), pol.m("0/Pictures/g3.jpg"))
    assert_readable(PLAIN, pol.m("0/Pictures/g3.jpg"), jpg + b"!")
    pol.revoke_file(PLAIN, "0/Pictures/g3.jpg")
    assert_hidden(PLAIN, pol.m("0/Pictures/g3.jpg"))
    assert_readable(CAMERA, pol.m("0/Pictures/g3.jpg"), jpg + b"!")
    # a grant on a non-media file does not open it: only owner and managers
    n = create_as(pol, CAMERA, "0/Documents/n.txt", b"private")
    r = pol.ctl("grant-file", str(PLAIN), pol.s("0/Documents/n.txt"), check=False)
    assert r.returncode in (0, 1, 2), r
    assert_hidden(PLAIN, n)


def test_manage_external_storage(pol, plain_media):
    jpg = plain_media["jpg"]
    note = create_as(pol, CAMERA, "0/Documents/n.txt", b"note")
    photo = create_as(pol, CAMERA, "0/DCIM/p.jpg", jpg)
    mkdir_as(pol, CAMERA, "0/Android/media/com.pol.camera")
    shared = create_as(pol, CAMERA, "0/Android/media/com.pol.camera/m.jpg", jpg)
    mkdir_as(pol, CAMERA, "0/Android/data/com.pol.camera")
    private = create_as(pol, CAMERA, "0/Android/data/com.pol.camera/x.jpg", jpg)
    mkdir_as(pol, CAMERA, "0/Android/obb/com.pol.camera")
    obb = create_as(pol, CAMERA, "0/Android/obb/com.pol.camera/main.obb", b"obb")
    for p, data in ((note, b"note"), (photo, jpg), (shared, jpg)):
        assert_readable(FILES, p, data)
        st = run_as(FILES, os.stat, p)
        assert (st.st_uid, st.st_mode & 0o777) == (FILES, 0o600), oct(st.st_mode)
        run_as(FILES, write_file, p, data + b"+", RW)
        assert_readable(CAMERA, p, data + b"+")
    run_as(FILES, rename, note, pol.m("0/Download/n.txt"))
    run_as(FILES, os.unlink, pol.m("0/Download/n.txt"))
    assert not os.path.exists(pol.s("0/Download/n.txt"))
    mkdir_as(pol, FILES, "0/DCIM/Sorted")
    run_as(FILES, rename, photo, pol.m("0/DCIM/Sorted/p.jpg"))
    create_as(pol, FILES, "0/Download/mine.txt", b"mine")
    # never other apps' private areas, nor another user
    assert_hidden(FILES, private)
    assert_hidden(FILES, obb)
    expect(EACCES, FILES, "stat user 1", os.stat, pol.m("1"))


def test_non_media_files_only_owner_and_manager(pol):
    n = create_as(pol, CAMERA, "0/Documents/n.txt", b"camera's")
    b = create_as(pol, CAMERA, "0/Download/a.bin", b"blob")
    orphan = pol.put_source("0/Documents/orphan.txt", b"no owner")   # behind the back
    for uid in (GALLERY, MUSIC, ALLMEDIA, LOCGAL, PLAIN):
        for p in (n, b, orphan):
            assert_hidden(uid, p)
    assert_readable(CAMERA, n, b"camera's")
    assert_hidden(CAMERA, orphan)                 # not its owner: nobody owns it
    for uid in (FILES, 0, SYSTEM):
        assert_readable(uid, n, b"camera's")
        assert_readable(uid, orphan, b"no owner")
    assert run_as(GALLERY, listdir_sorted, pol.m("0/Documents")) == []
    assert run_as(FILES, listdir_sorted, pol.m("0/Documents")) == ["n.txt", "orphan.txt"]


def _hold_open_writing(chan, path, data):
    fd = os.open(path, CREATE, 0o644)
    os.write(fd, data[: len(data) // 2])
    chan.send("written half")
    chan.recv(timeout=60)
    os.write(fd, data[len(data) // 2:])
    os.close(fd)
    return "closed"


def test_file_being_written_only_owner_sees_it(pol, plain_media):
    jpg = plain_media["jpg"]
    p = pol.m("0/DCIM/new.jpg")
    writer = mfs.Spawned(CAMERA, _hold_open_writing, p, jpg)
    try:
        assert writer.recv() == "written half"
        for uid in (GALLERY, ALLMEDIA, FILES, PLAIN):
            assert_hidden(uid, p)
            expect(0, uid, "listdir DCIM", os.listdir, pol.m("0/DCIM"))
            assert "new.jpg" not in run_as(uid, os.listdir, pol.m("0/DCIM"))
        assert run_as(CAMERA, os.stat, p).st_size == len(jpg) // 2
        assert run_as(CAMERA, listdir_sorted, pol.m("0/DCIM")) == ["new.jpg"]
        assert run_as(0, os.stat, p).st_size == len(jpg) // 2       # the system sees all
        writer.send("finish")
        assert writer.result() == "closed"
    finally:
        writer.kill()
    for uid in (GALLERY, ALLMEDIA, FILES):
        assert_readable(uid, p, jpg)
        assert run_as(uid, listdir_sorted, pol.m("0/DCIM")) == ["new.jpg"]
    assert_hidden(PLAIN, p)


CLOSE_ROUNDS = 2000


def test_a_closed_new_file_is_visible_to_others_at_once(pol, plain_media):
    """Once the creator's close() has returned the file is no longer "being
    written": an app that may read it must see it on its very next lookup.
    The two apps are synchronised by a pipe, nothing else."""
    jpg = plain_media["jpg"]

    def create(i):
        fd = os.open(pol.m(f"0/DCIM/c{i}.jpg"), CREATE, 0o644)
        try:
            os.write(fd, jpg)
        finally:
            os.close(fd)

    def look(i):
        p = pol.m(f"0/DCIM/c{i}.jpg")
        try:
            os.stat(p)
            return None
        except OSError as e:
            time.sleep(0.2)
            later = "visible" if os.path.exists(p) else "still not visible"
            return f"{ename(e.errno)} ({later} 0.2 s later)"

    failure = run_in_lock_step(CAMERA, create, GALLERY, look, CLOSE_ROUNDS, pol.daemon)
    assert failure is None, (
        f"round {failure[0]}: the creator had closed 0/DCIM/c{failure[0]}.jpg, yet the "
        f"gallery's stat gave {failure[1]}")


# (relpath, errno) for CAMERA creating a file. The directories of Android/*
# packages are made first by the fixture below.
CREATE_CASES = [
    # images: DCIM, Pictures (and below), Download, Documents
    ("0/DCIM/a.jpg", 0), ("0/DCIM/Camera/a.heic", 0), ("0/Pictures/a.png", 0),
    ("0/Pictures/a.webp", 0), ("0/Download/a.jpg", 0), ("0/Documents/a.tif", 0),
    ("0/Movies/a.jpg", EPERM), ("0/Music/a.jpg", EPERM), ("0/Podcasts/a.png", EPERM),
    ("0/Ringtones/a.jpg", EPERM), ("0/Recordings/a.gif", EPERM),
    # video: DCIM, Movies, Pictures
    ("0/DCIM/v.mp4", 0), ("0/Movies/v.mov", 0), ("0/Pictures/v.3gp", 0),
    ("0/Download/v.mkv", 0), ("0/Music/v.mp4", EPERM), ("0/Alarms/v.webm", EPERM),
    ("0/Audiobooks/v.mp4", EPERM),
    # audio: Music, Podcasts, Ringtones, Alarms, Notifications, Audiobooks, Recordings
    ("0/Music/a.mp3", 0), ("0/Podcasts/a.m4a", 0), ("0/Ringtones/a.ogg", 0),
    ("0/Alarms/a.wav", 0), ("0/Notifications/a.flac", 0), ("0/Audiobooks/a.opus", 0),
    ("0/Recordings/a.aac", 0), ("0/Documents/a.mp3", 0),
    ("0/DCIM/a.mp3", EPERM), ("0/Pictures/a.m4a", EPERM), ("0/Movies/a.mp3", EPERM),
    # anything else: Download, Documents, own Android/data and Android/media dirs
    ("0/Download/a.txt", 0), ("0/Documents/a.pdf", 0), ("0/Download/noext", 0),
    ("0/Android/data/com.pol.camera/a.db", 0), ("0/Android/media/com.pol.camera/a.txt", 0),
    ("0/Android/media/com.pol.camera/a.jpg", 0), ("0/Android/obb/com.pol.camera/a.obb", 0),
    ("0/DCIM/a.txt", EPERM), ("0/Music/a.txt", EPERM), ("0/Pictures/a.pdf", EPERM),
    ("0/Movies/noext", EPERM),
    # not inside a standard directory
    ("0/a.jpg", EPERM), ("0/Android/a.txt", EPERM), ("0/Android/media/a.jpg", EPERM),
    ("0/Android/media/com.pol.gallery/a.jpg", EPERM), ("a.jpg", EPERM),
]


def test_create_where_the_media_type_fits(pol):
    mkdir_as(pol, CAMERA, "0/DCIM/Camera")
    for area in ("data", "media", "obb"):
        mkdir_as(pol, CAMERA, f"0/Android/{area}/com.pol.camera")
    mkdir_as(pol, GALLERY, "0/Android/media/com.pol.gallery")
    wrong = []
    for rel, want in CREATE_CASES:
        got = errno_of(CAMERA, write_file, pol.m(rel), b"data", CREATE)
        exists = os.path.exists(pol.s(rel))
        if got != want or exists != (want == 0):
            wrong.append(f"create {rel}: expected {ename(want)}, got {ename(got)}"
                         f" (backing file {'exists' if exists else 'absent'})")
        elif want == 0:
            # the creator becomes the owner
            st = run_as(CAMERA, os.stat, pol.m(rel))
            rule = pol.check(CAMERA, pol.m(rel), "--write")["rule"]
            if st.st_uid != CAMERA or st.st_mode & 0o777 != 0o600 or rule not in (
                    "owner", "own-app-dir"):
                wrong.append(f"{rel}: creator not the owner: uid {st.st_uid} "
                             f"mode {oct(st.st_mode)} rule {rule}")
    assert not wrong, "\n".join(wrong)


def test_mkdir_and_rmdir_below_standard_dirs_only(pol):
    wrong = []
    for uid in (CAMERA, FILES):
        u = str(uid)
        for what, fn, path in (
                ("mkdir new top-level", os.mkdir, f"0/Top{u}"),
                ("mkdir in Android", os.mkdir, f"0/Android/x{u}"),
                ("mkdir at the root", os.mkdir, f"x{u}"),
                ("rmdir DCIM", os.rmdir, "0/DCIM"),
                ("rmdir Music", os.rmdir, "0/Music"),
                ("rmdir Android/data", os.rmdir, "0/Android/data"),
                ("rmdir Android", os.rmdir, "0/Android"),
                ("rmdir user dir", os.rmdir, "0")):
            got = errno_of(uid, fn, pol.m(path))
            if got != EPERM:
                wrong.append(f"{what} ({path}) as {uid}: expected EPERM, got {ename(got)}")
        for what, a, b in (("rename DCIM", "0/DCIM", f"0/DCIM{u}"),
                           ("rename Download into DCIM", "0/Download", "0/DCIM/Download")):
            got = errno_of(uid, rename, pol.m(a), pol.m(b))
            if got != EPERM:
                wrong.append(f"{what} as {uid}: expected EPERM, got {ename(got)}")
        # below a standard directory: fine, at any depth
        mkdir_as(pol, uid, f"0/DCIM/Camera{u}")
        mkdir_as(pol, uid, f"0/DCIM/Camera{u}/sub")
        mkdir_as(pol, uid, f"0/Music/Album{u}")
        run_as(uid, rename, pol.m(f"0/DCIM/Camera{u}/sub"), pol.m(f"0/DCIM/Camera{u}/sub2"))
        run_as(uid, os.rmdir, pol.m(f"0/DCIM/Camera{u}/sub2"))
        run_as(uid, os.rmdir, pol.m(f"0/DCIM/Camera{u}"))
        run_as(uid, os.rmdir, pol.m(f"0/Music/Album{u}"))
    assert not wrong, "\n".join(wrong)
    assert sorted(os.listdir(pol.s())) == ["0", "1"]
    for d in ("DCIM", "Music", "Android/data"):
        assert os.path.isdir(pol.s("0", d))
    assert sorted(os.listdir(pol.s("0"))) == sorted(STANDARD_DIRS)


def test_rename_needs_write_on_source_and_create_on_target(pol, plain_media):
    jpg = plain_media["jpg"]
    p = create_as(pol, CAMERA, "0/DCIM/r.jpg", jpg)
    expect(EPERM, CAMERA, "rename jpg into Music", rename, p, pol.m("0/Music/r.jpg"))
    expect(EPERM, CAMERA, "rename jpg to .txt in DCIM", rename, p, pol.m("0/DCIM/r.txt"))
    expect(EPERM, CAMERA, "rename to the user dir", rename, p, pol.m("0/r.jpg"))
    expect(EACCES, CAMERA, "rename into user 1", rename, p, pol.m("1/DCIM/r.jpg"))
    assert pol.read_source("0/DCIM/r.jpg") == jpg
    run_as(CAMERA, rename, p, pol.m("0/Pictures/r.jpg"))
    run_as(CAMERA, rename, pol.m("0/Pictures/r.jpg"), pol.m("0/Download/r.jpg"))
    run_as(CAMERA, rename, pol.m("0/Download/r.jpg"), pol.m("0/Download/r.txt"))
    expect(EPERM, CAMERA, "rename .txt into DCIM", rename, pol.m("0/Download/r.txt"),
           pol.m("0/DCIM/r.txt"))
    run_as(CAMERA, rename, pol.m("0/Download/r.txt"), pol.m("0/Download/r.jpg"))
    run_as(CAMERA, rename, pol.m("0/Download/r.jpg"), pol.m("0/DCIM/r.jpg"))
    # a reader (no write) may not move it; a write grantee may
    expect(EACCES, GALLERY, "rename by a reader", rename, p, pol.m("0/DCIM/moved.jpg"))
    pol.grant_file(PLAIN, "0/DCIM/r.jpg", write=True)
    run_as(PLAIN, rename, p, pol.m("0/DCIM/moved.jpg"))
    assert pol.read_source("0/DCIM/moved.jpg") == jpg
    # replacing a file the caller may not touch never clobbers it
    g = create_as(pol, GALLERY, "0/DCIM/gallery.jpg", b"gallery's own" + jpg)
    got = errno_of(CAMERA, rename, pol.m("0/DCIM/moved.jpg"), g)
    assert got != 0, "camera replaced the gallery's file by rename"
    assert pol.read_source("0/DCIM/gallery.jpg") == b"gallery's own" + jpg
    assert pol.read_source("0/DCIM/moved.jpg") == jpg


def test_directory_rename_never_hands_over_other_apps_files(pol, plain_media):
    """Moving a directory moves every file in it: an app may not use a
    directory rename to take files it may not write (let alone read), e.g. by
    moving them into its own Android/data or Android/media directory, where
    the package's own-directory rule would give them to it."""
    jpg = plain_media["jpg"]
    problems = []
    mkdir_as(pol, PLAIN, "0/Android/data/com.pol.plain")
    mkdir_as(pol, PLAIN, "0/Android/media/com.pol.plain")
    targets = ("0/Android/data/com.pol.plain/Stolen", "0/Android/media/com.pol.plain/Stolen",
               "0/Download/Moved")
    for i, target in enumerate(targets):
        album = f"0/DCIM/Album{i}"
        mkdir_as(pol, GALLERY, album)
        create_as(pol, GALLERY, f"{album}/g.jpg", b"gallery" + jpg)
        assert_hidden(PLAIN, pol.m(album, "g.jpg"))
        got = errno_of(PLAIN, rename, pol.m(album), pol.m(target))
        if got == 0:
            stolen = errno_of(PLAIN, read_file, pol.m(target, "g.jpg"))
            own = errno_of(GALLERY, read_file, pol.m(target, "g.jpg"))
            problems.append(
                f"an app with no permission renamed {album} (holding another app's photo) to "
                f"{target}: rename succeeded; it can now read the photo: "
                f"{'YES' if stolen == 0 else 'no (' + ename(stolen) + ')'}; its owner can: "
                f"{'yes' if own == 0 else 'NO (' + ename(own) + ')'}")
        elif got not in (EACCES, EPERM):
            problems.append(f"rename {album} -> {target}: expected EACCES or EPERM, "
                            f"got {ename(got)}")
        else:
            assert_readable(GALLERY, pol.m(album, "g.jpg"), b"gallery" + jpg)
    assert not problems, "\n".join(problems)
    # its own directory (only its own files inside) it may move
    mkdir_as(pol, PLAIN, "0/DCIM/Mine")
    create_as(pol, PLAIN, "0/DCIM/Mine/p.jpg", jpg)
    run_as(PLAIN, rename, pol.m("0/DCIM/Mine"), pol.m("0/Pictures/Mine"))
    assert_readable(PLAIN, pol.m("0/Pictures/Mine/p.jpg"), jpg)


def test_hidden_file_does_not_exist_for_the_caller(pol, plain_media):
    p = create_as(pol, CAMERA, "0/DCIM/h.jpg", plain_media["jpg"])
    assert_hidden(PLAIN, p)
    expect(ENOENT, PLAIN, "unlink hidden", os.unlink, p)
    expect(ENOENT, PLAIN, "rename hidden", rename, p, pol.m("0/DCIM/h2.jpg"))
    expect(ENOENT, PLAIN, "truncate hidden", truncate, p)
    expect(ENOENT, PLAIN, "utime hidden", utime, p)
    assert pol.read_source("0/DCIM/h.jpg") == plain_media["jpg"]
    # a hidden directory's contents are unreachable as well
    mkdir_as(pol, CAMERA, "0/Android/data/com.pol.camera")
    mkdir_as(pol, CAMERA, "0/Android/data/com.pol.camera/sub")
    expect(ENOENT, PLAIN, "stat below hidden dir", os.stat,
           pol.m("0/Android/data/com.pol.camera/sub"))


# ------------------------------------------------------------------ live changes under load

OPENERS = (10201, 10202, 10203, 10204, 10205, 10206, 10207, 10208)
STRESS_SECONDS = 30


def _opener(chan, own, shared, listing_dir, seconds):
    """Opens its own file (must always work) and the shared ones (0 or
    ENOENT) in a loop; returns counters and the unexpected errors."""
    deadline = time.monotonic() + seconds
    counts = {"own": 0, "shared_ok": 0, "shared_enoent": 0, "list": 0}
    errors = []
    own_data = read_file(own)
    chan.send("ready")
    i = 0
    while time.monotonic() < deadline:
        i += 1
        try:
            if read_file(own) != own_data:
                errors.append("own file content changed")
            counts["own"] += 1
            if i % 5 == 0:
                fd = os.open(own, os.O_RDWR)
                os.close(fd)
        except OSError as e:
            errors.append(f"own file: {e!r}")
        for p in shared:
            try:
                os.close(os.open(p, os.O_RDONLY))
                counts["shared_ok"] += 1
            except OSError as e:
                if e.errno == errno.ENOENT:
                    counts["shared_enoent"] += 1
                else:
                    errors.append(f"open {p}: {e!r}")
        if i % 3 == 0:
            try:
                names = os.listdir(listing_dir)
                counts["list"] += 1
                if os.path.basename(own) not in names:
                    errors.append(f"own file missing from listing: {names}")
            except OSError as e:
                errors.append(f"listdir: {e!r}")
        if len(errors) > 50:
            break
    return counts, errors[:50]


def test_mediactl_writes_while_apps_open_files(pol, plain_media):
    jpg = plain_media["jpg"]
    shared = []
    for i in range(4):
        shared.append(create_as(pol, CAMERA, f"0/DCIM/shared{i}.jpg", jpg))
    for uid in OPENERS:
        pol.add_app(uid, f"com.pol.opener{uid}")
        create_as(pol, uid, f"0/Pictures/own{uid}.jpg", jpg + str(uid).encode())
    procs = []
    try:
        for uid in OPENERS:
            procs.append(mfs.Spawned(uid, _opener, pol.m(f"0/Pictures/own{uid}.jpg"), shared,
                                     pol.m("0/Pictures"), STRESS_SECONDS))
        for s in procs:
            assert s.recv(timeout=60) == "ready"
        # mediactl in a tight loop: every command valid in sequence
        ctl_errors, n = [], 0
        state = 0
        deadline = time.monotonic() + STRESS_SECONDS
        while time.monotonic() < deadline:
            on = state % 2 == 0
            cmds = []
            for uid in OPENERS[:4]:
                cmds.append(("grant" if on else "revoke", str(uid), "READ_MEDIA_IMAGES"))
            for uid in OPENERS[4:6]:
                if on:
                    cmds.append(("grant-file", str(uid), pol.s("0/DCIM/shared0.jpg"))
                                + (("--write",) if state % 4 == 0 else ()))
                else:
                    cmds.append(("revoke-file", str(uid), pol.s("0/DCIM/shared0.jpg")))
            for uid in OPENERS[6:]:
                if on:
                    cmds.append(("app", "remove", "--uid", str(uid)))
                else:
                    cmds.append(("app", "add", "--uid", str(uid), "--package",
                                 f"com.pol.opener{uid}"))
                    cmds.append(("grant", str(uid), "READ_MEDIA_IMAGES"))
            cmds.append(("app", "add", "--uid", "10299", "--package", "com.pol.churn")
                        if on else ("app", "remove", "--package", "com.pol.churn"))
            for c in cmds:
                r = pol.ctl(*c, check=False)
                n += 1
                if r.returncode != 0 or r.stderr:
                    ctl_errors.append(f"mediactl {' '.join(c)}: rc={r.returncode} {r.stderr!r}")
            state += 1
        results = [(s.uid, s.result(timeout=120)) for s in procs]
    finally:
        for s in procs:
            s.kill()
    problems = list(ctl_errors[:20])
    for uid, (counts, errors) in results:
        problems += [f"uid {uid}: {e}" for e in errors]
        if counts["own"] == 0:
            problems.append(f"uid {uid} never opened its own file: {counts}")
        if uid in OPENERS[:4] + OPENERS[6:]:
            # the permission really flipped while it was opening
            if counts["shared_ok"] == 0 or counts["shared_enoent"] == 0:
                problems.append(f"uid {uid} never saw both outcomes: {counts}")
    log = pol.log()
    for bad in ("database is locked", "database table is locked", "SQLITE_BUSY",
                "Input/output error", "policy unavailable"):
        if bad in log:
            problems.append(f"daemon log mentions {bad!r}:\n{log[-3000:]}")
    st = pol.stats()
    if st.get("policy_errors", 0) != 0:
        problems.append(f"policy_errors = {st['policy_errors']}")
    assert not problems, f"{n} mediactl commands, {len(problems)} problems:\n" + \
        "\n".join(problems[:60])
    assert n > 100, f"only {n} mediactl commands in {STRESS_SECONDS}s"


# ------------------------------------------------------------------ listings and caches

def test_readdir_depends_on_the_caller(pol, plain_media):
    create_as(pol, CAMERA, "0/Download/c.jpg", plain_media["jpg"])
    create_as(pol, CAMERA, "0/Download/c.mp4", plain_media["mp4"])
    create_as(pol, CAMERA, "0/Download/c.mp3", plain_media["mp3"])
    create_as(pol, CAMERA, "0/Download/c.txt", b"text")
    create_as(pol, GALLERY, "0/Download/g.jpg", plain_media["jpg"])
    create_as(pol, MUSIC, "0/Download/m.mp3", plain_media["mp3"])
    mkdir_as(pol, CAMERA, "0/Download/sub")
    everything = ["c.jpg", "c.mp3", "c.mp4", "c.txt", "g.jpg", "m.mp3", "sub"]
    expected = {
        CAMERA: ["c.jpg", "c.mp3", "c.mp4", "c.txt", "sub"],
        GALLERY: ["c.jpg", "c.mp4", "g.jpg", "sub"],
        MUSIC: ["c.mp3", "m.mp3", "sub"],
        PLAIN: ["sub"],
        FILES: everything,
        0: everything,
    }
    d = pol.m("0/Download")
    # interleaved, twice, so that no listing is served from another's cache
    for _ in range(2):
        for uid, names in expected.items():
            assert run_as(uid, listdir_sorted, d) == names, f"listdir as {uid}"
            plus = run_as(uid, scandir_sorted, d)
            assert plus == sorted((n, "d" if n == "sub" else "f") for n in names), \
                f"scandir as {uid}: {plus}"
            r = setpriv(uid, ["ls", "-1a", d])
            assert r.returncode == 0, r.stderr
            assert sorted(r.stdout.split()) == sorted(names + [".", ".."]), \
                f"ls as {uid}: {r.stdout!r}"
    assert len({tuple(v) for v in expected.values()}) >= 3
    # Android/data shows the caller's own directory only
    mkdir_as(pol, CAMERA, "0/Android/data/com.pol.camera")
    mkdir_as(pol, GALLERY, "0/Android/data/com.pol.gallery")
    mkdir_as(pol, MUSIC, "0/Android/data/com.pol.music")
    for uid in (CAMERA, GALLERY, MUSIC):
        assert run_as(uid, listdir_sorted, pol.m("0/Android/data")) == [PKG[uid]]
        assert run_as(uid, scandir_sorted, pol.m("0/Android/data")) == [(PKG[uid], "d")]
    assert run_as(PLAIN, listdir_sorted, pol.m("0/Android/data")) == []


def _create_many(d, prefix, count, data):
    for i in range(count):
        write_file(os.path.join(d, f"{prefix}-{i:04d}-with-a-longish-name.jpg"), data, CREATE)


def test_readdir_of_a_large_directory_in_many_chunks(pol, plain_media):
    """Hidden entries are skipped across readdir calls without losing or
    repeating any visible one."""
    d = pol.m("0/Pictures")
    run_as(CAMERA, _create_many, d, "camera", 300, plain_media["jpg"])
    run_as(PLAIN, _create_many, d, "plain", 300, plain_media["jpg"])
    cam = [f"camera-{i:04d}-with-a-longish-name.jpg" for i in range(300)]
    pla = [f"plain-{i:04d}-with-a-longish-name.jpg" for i in range(300)]
    assert run_as(CAMERA, listdir_sorted, d) == sorted(cam)
    assert run_as(PLAIN, listdir_sorted, d) == sorted(pla)
    assert run_as(GALLERY, listdir_sorted, d) == sorted(cam + pla)
    assert run_as(MUSIC, listdir_sorted, d) == []
    names = [n for n, _ in run_as(CAMERA, scandir_sorted, d)]
    assert names == sorted(cam)


def _dentry_peer(chan, cmds):
    """Runs named path operations on command; replies with the errno (0 = ok)."""
    fds = []
    while True:
        msg = chan.recv(timeout=60)
        if msg == "quit":
            for fd in fds:
                os.close(fd)
            return "done"
        op, path = msg
        try:
            if op == "stat":
                os.stat(path)
            elif op == "open":
                fds.append(os.open(path, os.O_RDONLY))
            elif op == "read":
                read_file(path)
            elif op == "scandir":
                with os.scandir(path) as it:
                    for e in it:
                        e.stat(follow_symlinks=False)
            elif op == "statrel":       # relative to a cwd inside the mount
                os.chdir(os.path.dirname(path))
                try:
                    os.stat(os.path.basename(path))
                finally:
                    os.chdir("/")
            chan.send(0)
        except OSError as e:
            chan.send(e.errno)


def test_dentry_cache_never_shows_a_hidden_file(pol, plain_media):
    mkdir_as(pol, CAMERA, "0/Android/data/com.pol.camera")
    paths = [create_as(pol, CAMERA, "0/DCIM/mine.jpg", plain_media["jpg"]),
             create_as(pol, CAMERA, "0/Documents/mine.txt", b"text"),
             pol.m("0/Android/data/com.pol.camera")]
    a = mfs.Spawned(CAMERA, _dentry_peer, None)
    b = mfs.Spawned(PLAIN, _dentry_peer, None)
    bad = []
    try:
        for i in range(40):
            for p in paths:
                a_op = ("stat", "open", "read", "scandir")[i % 4]
                if a_op == "read" and os.path.isdir(pol.s(os.path.relpath(p, pol.mnt))):
                    a_op = "open"
                a.send((a_op, os.path.dirname(p) if a_op == "scandir" else p))
                if a.recv() != 0:
                    bad.append(f"owner {a_op} {p} failed")
                for b_op in ("stat", "statrel", "open"):
                    b.send((b_op, p))
                    got = b.recv()
                    if got != ENOENT:
                        bad.append(f"round {i}: after the owner's {a_op}, {b_op} {p} by "
                                   f"another app gave {ename(got)}, not ENOENT")
                # and the other way round: a negative lookup never hides it from its owner
                a.send(("stat", p))
                if a.recv() != 0:
                    bad.append(f"round {i}: owner's stat {p} failed after a hidden lookup")
        a.send("quit")
        b.send("quit")
        a.result()
        b.result()
    finally:
        a.kill()
        b.kill()
    assert not bad, "\n".join(bad[:20])


# ------------------------------------------------------------------ ordinary tools

def test_ordinary_tools_work_where_the_policy_allows(pol, plain_media, tmp_path):
    src = os.path.join(mfs.world_tmp_base(), f"pol_tool_src_{os.getpid()}.jpg")
    with open(src, "wb") as f:
        f.write(plain_media["jpg"])
    os.chmod(src, 0o644)
    dcim = pol.m("0/DCIM")
    try:
        def ok(uid, *argv):
            r = setpriv(uid, argv)
            assert r.returncode == 0, f"{argv} as {uid}: rc={r.returncode} {r.stderr!r}"
            return r

        def fails(uid, *argv):
            r = setpriv(uid, argv)
            assert r.returncode != 0, f"{argv} as {uid} succeeded"
            return r

        ok(CAMERA, "cp", src, f"{dcim}/a.jpg")
        assert pol.read_source("0/DCIM/a.jpg") == plain_media["jpg"]
        ok(CAMERA, "test", "-w", f"{dcim}/a.jpg")
        ok(CAMERA, "test", "-r", f"{dcim}/a.jpg")
        ok(CAMERA, "test", "-w", dcim)
        ok(CAMERA, "mkdir", "-p", f"{dcim}/Camera/2024")
        ok(CAMERA, "cp", f"{dcim}/a.jpg", f"{dcim}/Camera/2024/b.jpg")
        ok(CAMERA, "cp", "-r", f"{dcim}/Camera", pol.m("0/Pictures/Copy"))
        assert pol.read_source("0/Pictures/Copy/2024/b.jpg") == plain_media["jpg"]
        ok(CAMERA, "mv", f"{dcim}/Camera/2024/b.jpg", pol.m("0/Pictures/b.jpg"))
        ok(CAMERA, "cp", src, f"{dcim}/a.jpg")                  # overwrite own file
        ok(CAMERA, "rm", pol.m("0/Pictures/b.jpg"))
        ok(CAMERA, "rm", "-r", pol.m("0/Pictures/Copy"))
        ok(CAMERA, "sh", "-c", f"echo hello > {pol.m('0/Documents/n.txt')}")
        ok(CAMERA, "sed", "-i", "s/hello/bye/", pol.m("0/Documents/n.txt"))
        assert pol.read_source("0/Documents/n.txt") == b"bye\n"
        ok(CAMERA, "touch", pol.m("0/Documents/n.txt"))
        r = ok(CAMERA, "stat", "-c", "%u %a", f"{dcim}/a.jpg")
        assert r.stdout.split() == [str(CAMERA), "600"]
        # a reader: reads and copies out, may not write, move or delete
        ok(GALLERY, "test", "-r", f"{dcim}/a.jpg")
        fails(GALLERY, "test", "-w", f"{dcim}/a.jpg")
        # the copy goes to a directory the app may write (the test base may
        # be traversable only, as under scripts/test.sh)
        out_dir = tempfile.mkdtemp(prefix="pol_tool_out_", dir=mfs.world_tmp_base())
        os.chmod(out_dir, 0o1777)
        out = os.path.join(out_dir, "copy.jpg")
        try:
            ok(GALLERY, "cp", f"{dcim}/a.jpg", out)
            with open(out, "rb") as f:
                assert f.read() == plain_media["jpg"]
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        r = ok(GALLERY, "stat", "-c", "%u %a", f"{dcim}/a.jpg")
        assert r.stdout.split() == [str(GALLERY), "400"]
        fails(GALLERY, "mv", f"{dcim}/a.jpg", f"{dcim}/z.jpg")
        fails(GALLERY, "rm", "-f", f"{dcim}/a.jpg")
        fails(GALLERY, "sh", "-c", f"echo x >> {dcim}/a.jpg")
        # nothing at all for an app without permission
        fails(PLAIN, "test", "-e", f"{dcim}/a.jpg")
        assert pol.read_source("0/DCIM/a.jpg") == plain_media["jpg"]
        # a manager edits other apps' files with the same tools
        ok(FILES, "test", "-w", pol.m("0/Documents/n.txt"))
        ok(FILES, "sed", "-i", "s/bye/managed/", pol.m("0/Documents/n.txt"))
        assert pol.read_source("0/Documents/n.txt") == b"managed\n"
        ok(FILES, "mv", f"{dcim}/a.jpg", pol.m("0/Pictures/a.jpg"))
        ok(FILES, "rm", pol.m("0/Pictures/a.jpg"))
    finally:
        os.unlink(src)


def test_test_w_on_directories_matches_what_the_caller_may_create(pol):
    """access(W_OK) (`test -w`) on a directory says yes only where the caller
    may create something, like the mode the daemon presents to it."""
    wrong = []
    for rel, writable in (("", False), ("0", False), ("0/Android", False),
                          ("0/DCIM", True), ("0/Music", True), ("0/Download", True)):
        st = run_as(CAMERA, os.stat, pol.m(rel))
        presented = bool(st.st_mode & 0o200)
        rc = setpriv(CAMERA, ["test", "-w", pol.m(rel)]).returncode
        if presented != writable:
            wrong.append(f"{rel or '(mount root)'}: presented mode {oct(st.st_mode & 0o777)}")
        if (rc == 0) != writable:
            wrong.append(f"`test -w {rel or '(mount root)'}` as an app says "
                         f"{'writable' if rc == 0 else 'not writable'}; it may "
                         f"{'' if writable else 'not '}create there "
                         f"(presented mode {oct(st.st_mode & 0o777)})")
    assert not wrong, "\n".join(wrong)


def test_attribute_preserving_tools_do_not_fail(pol, plain_media):
    """cp -p / cp -a and a chmod that asks for the mode already presented must
    not fail for the owner: modes are the daemon's to present (changing them
    may be ignored), but the tools must not exit with an error."""
    src = os.path.join(mfs.world_tmp_base(), f"pol_tool_p_{os.getpid()}.jpg")
    with open(src, "wb") as f:
        f.write(plain_media["jpg"])
    os.chown(src, CAMERA, CAMERA)
    os.chmod(src, 0o600)
    wrong = []
    try:
        for argv in (["cp", "-p", src, pol.m("0/DCIM/p.jpg")],
                     ["cp", "-a", src, pol.m("0/DCIM/a.jpg")],
                     ["chmod", "600", pol.m("0/DCIM/p.jpg")],
                     ["chmod", "u+rw", pol.m("0/DCIM/p.jpg")]):
            r = setpriv(CAMERA, argv)
            if r.returncode != 0:
                wrong.append(f"{' '.join(argv[:2])} as the owner: rc={r.returncode} "
                             f"{r.stderr.strip()!r}")
    finally:
        os.unlink(src)
    assert pol.read_source("0/DCIM/p.jpg") == plain_media["jpg"]
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------ mediactl check

def test_mediactl_check_text_json_and_bad_input(pol, plain_media, media_dir):
    jpg = plain_media["jpg"]
    with open(os.path.join(media_dir, "exif_ii.jpg"), "rb") as f:
        gps = f.read()
    create_as(pol, CAMERA, "0/DCIM/c.jpg", jpg)
    create_as(pol, CAMERA, "0/DCIM/gps.jpg", gps)
    pol.put_source("0/DCIM/unseen.jpg", gps)     # behind the daemon's back, never seen
    mkdir_as(pol, CAMERA, "0/Android/data/com.pol.camera")

    cases = [
        # uid, path, extra, decision, errno, rule
        (CAMERA, "0/DCIM/c.jpg", (), "plain", None, "owner"),
        (CAMERA, "0/DCIM/c.jpg", ("--write",), "plain", None, "owner"),
        (GALLERY, "0/DCIM/c.jpg", (), "plain", None, "read-media-images"),
        (GALLERY, "0/DCIM/c.jpg", ("--write",), "deny", "EACCES", None),
        (PLAIN, "0/DCIM/c.jpg", (), "deny", "ENOENT", None),
        (GALLERY, "0/DCIM/gps.jpg", (), "redact", None, None),
        (LOCGAL, "0/DCIM/gps.jpg", (), "plain", None, None),
        (GALLERY, "0/DCIM/unseen.jpg", (), "redact", None, None),
        (0, "0/DCIM/gps.jpg", (), "plain", None, "system"),
        (USER1, "0/DCIM/c.jpg", (), "deny", "EACCES", None),
        (GALLERY, "0/Android/data/com.pol.camera", (), "deny", "ENOENT", None),
        (CAMERA, "0/Music/new.jpg", (), "deny", "EPERM", None),    # create
        (CAMERA, "0/DCIM/new.jpg", (), "plain", None, None),       # create
    ]
    for uid, rel, extra, decision, err, rule in cases:
        for path in (pol.m(rel), pol.s(rel)):        # through the mount or in SOURCE
            j = pol.check(uid, path, *extra)
            where = f"check {uid} {path} {' '.join(extra)}: {j}"
            assert j["uid"] == uid and j["path"] == rel, where
            assert j["decision"] == decision and j["errno"] == err, where
            assert isinstance(j["rule"], str) and j["rule"], where
            if rule:
                assert j["rule"] == rule, where
            assert j["op"] == ("create" if not os.path.exists(pol.s(rel)) else
                               "write" if extra else "read"), where
            if decision == "redact":
                rng = j.get("redaction_ranges")
                assert rng and all(len(x) == 2 and x[1] > 0 and x[0] + x[1] <= len(gps)
                                   for x in rng), where
            else:
                assert j.get("redaction_ranges", []) == [], where
            r = pol.ctl("check", str(uid), path, *extra)
            line = r.stdout.splitlines()[0]
            assert line.startswith(decision + (f" {err} " if err else " ")), (line, where)
            assert f"rule: {j['rule']}" in line and rel in line and str(uid) in line, line
            if decision == "redact":
                assert "zeroes bytes" in r.stdout, r.stdout

    # what check says is what the daemon does
    for uid, rel, extra, decision, err, _rule in cases:
        if not os.path.exists(pol.s(rel)) or os.path.isdir(pol.s(rel)):
            continue
        flags = os.O_RDWR if extra else os.O_RDONLY
        got = errno_of(uid, open_close, pol.m(rel), flags)
        want = getattr(errno, err) if err else 0
        assert got == want, \
            f"daemon: open {rel} as {uid} {extra} gave {ename(got)}; check said {decision} {err}"

    # bad input: exit status 2, one line on stderr
    bad = [
        ("check", "abc", pol.m("0/DCIM/c.jpg")),
        ("check", "-5", pol.m("0/DCIM/c.jpg")),
        ("check", str(CAMERA), "/etc/passwd"),
        ("check", str(CAMERA)),
        ("check", str(CAMERA), pol.m("0/DCIM/c.jpg"), "--frobnicate"),
        ("grant", str(GALLERY), "READ_EVERYTHING"),
        ("grant", "notanumber", "READ_MEDIA_IMAGES"),
        ("frobnicate",),
        ("app", "add", "--uid", "x", "--package", "p"),
    ]
    for args in bad:
        r = pol.ctl(*args, check=False)
        assert r.returncode == 2, f"mediactl {args}: rc={r.returncode} {r.stderr!r}"
        assert r.stdout == "", f"mediactl {args} printed {r.stdout!r}"
        lines = r.stderr.strip("\n").split("\n")
        assert len(lines) == 1 and lines[0].strip(), f"mediactl {args}: stderr {r.stderr!r}"
    r = mfs.run_mediactl("check", str(CAMERA), pol.m("0/DCIM/c.jpg"))   # no --db
    assert r.returncode == 2 and len(r.stderr.strip().split("\n")) == 1, r
    # check changed no policy
    assert pol.check(PLAIN, pol.m("0/DCIM/c.jpg"))["decision"] == "deny"


# ------------------------------------------------------------------ the database

def test_missing_database_is_created():
    pm = PolicyMount("pol", apps=(), start=False)
    try:
        pm.db = os.path.join(pm.base, "new", "absent.db")
        os.mkdir(os.path.dirname(pm.db))
        assert not os.path.exists(pm.db)
        pm.start()
        assert os.path.isfile(pm.db), f"mediafsd did not create {pm.db}"
        assert os.path.isdir(pm.s("0", "DCIM"))
        # a usable policy database: register an app live and use it
        pm.add_app(CAMERA, PKG[CAMERA])
        r = pm.ctl("app", "list", "--json")
        assert [a["uid"] for a in json.loads(r.stdout)] == [CAMERA]
        p = create_as(pm, CAMERA, "0/DCIM/x.jpg", b"jpeg")
        assert pm.check(CAMERA, p)["rule"] == "owner"
        expect(ENOENT, PLAIN, "stat", os.stat, p)
    finally:
        pm.close()


def _corrupt_variants(good_db):
    with open(good_db, "rb") as f:
        good = f.read()
    mangled = bytearray(good)
    mangled[100:4096] = b"\xff" * (4096 - 100)          # header kept, schema page gone
    return {
        "random.db": os.urandom(16384),
        "text.db": b"this is not a database\n" * 100,
        "header_only.db": b"SQLite format 3\x00" + os.urandom(200),
        "mangled.db": bytes(mangled),
    }


def test_corrupt_database_fails_with_one_clear_line():
    pm = PolicyMount("pol", apps=(CAMERA,), start=False)
    try:
        for name, data in _corrupt_variants(pm.db).items():
            bad = os.path.join(pm.base, name)
            with open(bad, "wb") as f:
                f.write(data)
            argv = [mfs.mediafsd(), "-f", "--db", bad, pm.src, pm.mnt]
            try:
                r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=30)
            finally:
                mounted = mfs.is_mounted(pm.mnt)
                mfs.lazy_umount(pm.mnt)
            assert not mounted, f"{name}: mediafsd mounted over a corrupt database"
            assert r.returncode not in (0, None) and r.returncode > 0, \
                f"{name}: mediafsd exited {r.returncode}"
            lines = [l for l in r.stderr.split("\n") if l.strip()]
            assert len(lines) == 1, f"{name}: stderr is not one line: {r.stderr!r}"
            low = lines[0].lower()
            assert "database" in low and (bad in lines[0] or name in lines[0]), lines[0]
            assert "corrupt" in low or "not a" in low or "malformed" in low, lines[0]
            assert r.stdout == "", r.stdout
            with open(bad, "rb") as f:
                assert f.read() == data, f"{name}: mediafsd modified the corrupt file"
    finally:
        pm.close()
