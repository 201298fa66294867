"""
policy_env.py - fixtures and helpers for the policy-mode end-to-end tests
(test_policy.py, test_redaction.py).

Built on mfs.py (read-only for us): a real mediafsd started with --db on a
real SQLite file, real app uids (fork + setresuid through mfs.run_as, or
setpriv for ordinary tools), real media made by ffmpeg, exiftool and
heif-enc. A missing tool fails the test, it never skips.

Mount points are named "<prefix>_view" (prefix "pol" or "red") under a
"<prefix>_" temporary directory: never a basename ending in "mnt", which a
colleague's tests use to find (and kill) their own daemons.
"""
import atexit
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile

import pytest

import mfs

# ------------------------------------------------------------------ the apps
# All of user 0 (uid / 100000 == 0) unless said otherwise.
CAMERA = 10101      # com.pol.camera: no permission; creates files (their owner)
GALLERY = 10102     # com.pol.gallery: READ_MEDIA_IMAGES + READ_MEDIA_VIDEO
MUSIC = 10103       # com.pol.music: READ_MEDIA_AUDIO
FILES = 10104       # com.pol.files: MANAGE_EXTERNAL_STORAGE
PLAIN = 10105       # com.pol.plain: no permission (per-file grants only)
LOCGAL = 10106      # com.pol.locgallery: all READ_MEDIA_* + ACCESS_MEDIA_LOCATION
ALLMEDIA = 10107    # com.pol.allmedia: all READ_MEDIA_*, no ACCESS_MEDIA_LOCATION
USER1 = 110101      # com.pol.user1: user 1, MANAGE_EXTERNAL_STORAGE
SYSTEM = 5000       # not registered: a system uid (< 10000)

PKG = {
    CAMERA: "com.pol.camera",
    GALLERY: "com.pol.gallery",
    MUSIC: "com.pol.music",
    FILES: "com.pol.files",
    PLAIN: "com.pol.plain",
    LOCGAL: "com.pol.locgallery",
    ALLMEDIA: "com.pol.allmedia",
    USER1: "com.pol.user1",
}

PERMS = {
    CAMERA: (),
    GALLERY: ("READ_MEDIA_IMAGES", "READ_MEDIA_VIDEO"),
    MUSIC: ("READ_MEDIA_AUDIO",),
    FILES: ("MANAGE_EXTERNAL_STORAGE",),
    PLAIN: (),
    LOCGAL: ("READ_MEDIA_IMAGES", "READ_MEDIA_VIDEO", "READ_MEDIA_AUDIO",
             "ACCESS_MEDIA_LOCATION"),
    ALLMEDIA: ("READ_MEDIA_IMAGES", "READ_MEDIA_VIDEO", "READ_MEDIA_AUDIO"),
    USER1: ("MANAGE_EXTERNAL_STORAGE",),
}

STANDARD_DIRS = ("DCIM", "Pictures", "Movies", "Music", "Podcasts", "Ringtones", "Alarms",
                 "Notifications", "Audiobooks", "Recordings", "Download", "Documents",
                 "Android")


# ------------------------------------------------------------------ the mount

class PolicyMount:
    """A mediafsd in policy mode: SOURCE, MOUNTPOINT, the policy DB, the daemon."""

    def __init__(self, prefix, apps=None, start=True, extra_args=()):
        self.base = tempfile.mkdtemp(prefix=prefix + "_", dir=mfs.world_tmp_base())
        os.chmod(self.base, 0o755)
        self.src = os.path.join(self.base, "s", prefix + "_src")
        self.mnt = os.path.join(self.base, "m", prefix + "_view")
        for d in (os.path.dirname(self.src), self.src, os.path.dirname(self.mnt), self.mnt):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        self.db = os.path.join(self.base, "policy.db")
        self.daemon = None
        self.extra_args = list(extra_args)
        try:
            for uid in (apps if apps is not None else PKG):
                self.add_app(uid, PKG[uid], *PERMS[uid])
            if start:
                self.start()
        except BaseException:
            mfs.remove_tree(self.base)
            raise

    # -- daemon
    def start(self):
        self.daemon = mfs.Daemon(self.src, self.mnt, ["--db", self.db] + self.extra_args)
        try:
            self.daemon.start()
        except BaseException:
            self.daemon.cleanup()
            raise
        return self

    def stop(self):
        """SIGTERM; asserts exit status 0 and the mount gone."""
        d = self.daemon
        if d is None or d.proc is None:
            return
        try:
            rc = d.stop(signal.SIGTERM)
            assert rc == 0, f"mediafsd exited with {rc} after SIGTERM; log:\n{d.log()}"
            assert not mfs.is_mounted(self.mnt), f"{self.mnt} still mounted after exit"
        finally:
            d.cleanup()

    def log(self):
        return self.daemon.log() if self.daemon else ""

    def close(self):
        try:
            self.stop()
        finally:
            mfs.remove_tree(self.base)

    # -- paths
    def m(self, *parts):
        return os.path.join(self.mnt, *parts)

    def s(self, *parts):
        return os.path.join(self.src, *parts)

    # -- mediactl
    def ctl(self, *args, check=True, uid=None, timeout=30):
        r = mfs.run_mediactl("--db", self.db, *args, uid=uid, timeout=timeout)
        if check:
            assert r.returncode == 0, \
                f"mediactl {' '.join(args)} failed rc={r.returncode}: {r.stderr!r}"
        return r

    def add_app(self, uid, pkg, *perms):
        self.ctl("app", "add", "--uid", str(uid), "--package", pkg)
        for p in perms:
            self.ctl("grant", str(uid), p)

    def grant(self, uid, perm):
        self.ctl("grant", str(uid), perm)

    def revoke(self, uid, perm):
        self.ctl("revoke", str(uid), perm)

    def grant_file(self, uid, rel, write=False):
        self.ctl("grant-file", str(uid), self.s(rel), *(["--write"] if write else []))

    def revoke_file(self, uid, rel):
        self.ctl("revoke-file", str(uid), self.s(rel))

    def check(self, uid, path, *extra):
        """`mediactl check --json`, parsed."""
        r = self.ctl("check", str(uid), path, "--json", *extra)
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            raise AssertionError(f"mediactl check --json printed non-JSON {r.stdout!r}: {e}")

    def stats(self):
        return mfs.stats(self.mnt)

    # -- files behind the daemon's back (no owner)
    def put_source(self, rel, data):
        p = self.s(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return self.m(rel)

    def read_source(self, rel):
        with open(self.s(rel), "rb") as f:
            return f.read()


def policy_mount_fixture(prefix, apps=None):
    pm = PolicyMount(prefix, apps)
    try:
        yield pm
    finally:
        pm.close()


@pytest.fixture
def pol():
    """A fresh policy-mode mount with every app of this module registered."""
    yield from policy_mount_fixture("pol")


# ------------------------------------------------------------------ acting as an app

def run_as(uid, fn, *args, **kw):
    return mfs.run_as(uid, fn, *args, **kw)


def errno_of(uid, fn, *args):
    return mfs.errno_of(uid, fn, *args)


def ename(n):
    return mfs.ename(n)


def expect(expected, uid, what, fn, *args):
    got = errno_of(uid, fn, *args)
    assert got == expected, f"{what} as uid {uid}: expected {ename(expected)}, got {ename(got)}"


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


def open_close(path, flags=os.O_RDONLY):
    os.close(os.open(path, flags, 0o644))


def listdir_sorted(path):
    return sorted(os.listdir(path))


def scandir_sorted(path):
    """Names with their types, through readdir(plus) and the entries' stat."""
    out = []
    with os.scandir(path) as it:
        for e in it:
            out.append((e.name, "d" if e.is_dir(follow_symlinks=False) else "f"))
    return sorted(out)


def setpriv(uid, argv, **kw):
    """Runs an ordinary tool as uid with no supplementary groups."""
    full = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups"] + list(argv)
    return subprocess.run(full, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          cwd="/", timeout=kw.pop("timeout", 60), **kw)


# ------------------------------------------------------------------ media generation

def require_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    assert not missing, (f"required tools missing: {missing} (apt-get install ffmpeg "
                         f"libimage-exiftool-perl libheif-examples)")


def sh(cmd, cwd):
    r = subprocess.run(cmd, shell=True, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"`{cmd}` failed rc={r.returncode}: {r.stderr[-2000:]}"
    return r.stdout


GPS_ARGS = ("-GPSLatitude=48.8566 -GPSLatitudeRef=N -GPSLongitude=2.3522 -GPSLongitudeRef=E "
            "-GPSAltitude=35")
XMP_GPS_ARGS = "-XMP:GPSLatitude=48.8566 -XMP:GPSLongitude=2.3522"
ET = "exiftool -q -q -m -overwrite_original"
STILL = "ffmpeg -v error -y -f lavfi -i testsrc=size=320x240 -frames:v 1"
CLIP = "ffmpeg -v error -y -f lavfi -i testsrc=size=176x144:rate=10 -t 1 -pix_fmt yuv420p"

# name -> (shell recipe making it in cwd, top-level dir it goes to, has GPS)
MEDIA_RECIPES = {
    "exif_ii.jpg": (f"{STILL} exif_ii.jpg && {ET} -ExifByteOrder=Little-endian {GPS_ARGS} "
                    "-Artist=keepme exif_ii.jpg", "DCIM", True),
    "exif_mm.jpg": (f"{STILL} exif_mm.jpg && {ET} -ExifByteOrder=Big-endian {GPS_ARGS} "
                    "exif_mm.jpg", "DCIM", True),
    "xmp.jpg": (f"{STILL} xmp.jpg && {ET} {XMP_GPS_ARGS} xmp.jpg", "Pictures", True),
    "gps.png": (f"{STILL} gps.png && {ET} {GPS_ARGS} {XMP_GPS_ARGS} gps.png", "Pictures", True),
    "gps.webp": (f"{STILL} gps.webp && {ET} {GPS_ARGS} {XMP_GPS_ARGS} gps.webp", "Pictures",
                 True),
    "gps.tif": (f"{STILL} -pix_fmt rgb24 gps.tif && {ET} {GPS_ARGS} {XMP_GPS_ARGS} gps.tif",
                "Pictures", True),
    "gps.heic": (f"{STILL} heic_src.png && heif-enc -q 50 heic_src.png -o gps.heic >/dev/null "
                 f"&& {ET} {GPS_ARGS} {XMP_GPS_ARGS} gps.heic", "DCIM", True),
    "xmp.mp4": (f"{CLIP} xmp.mp4 && {ET} {XMP_GPS_ARGS} xmp.mp4", "Movies", True),
    "loci.mp4": (f"{CLIP} -metadata location=+48.8566+002.3522/ loci.mp4", "Movies", True),
    "keys.mov": (f"{CLIP} keys.mov && {ET} -n '-Keys:GPSCoordinates=48.8566 2.3522 35' "
                 "keys.mov", "Movies", True),
    "udta.mov": (f"{CLIP} udta.mov && {ET} -n '-UserData:GPSCoordinates=48.8566 2.3522 35' "
                 "udta.mov", "DCIM", True),
    "loci.3gp": ("ffmpeg -v error -y -f lavfi -i testsrc=size=176x144:rate=10 -t 1 -c:v h263 "
                 "-metadata location=+48.8566+002.3522/ -f 3gp loci.3gp", "Movies", True),
    "loci.m4a": ("ffmpeg -v error -y -f lavfi -i sine=duration=1 -b:a 32k "
                 "-metadata location=+48.8566+002.3522/ loci.m4a", "Music", True),
    "plain.jpg": (f"{STILL} plain.jpg", "DCIM", False),
}

# Formats whose location the policy redacts: images and videos. Audio files
# are not redacted (the policy redacts "someone else's image/video").
REDACTED_TYPES = {".jpg", ".png", ".webp", ".tif", ".heic", ".mp4", ".mov", ".3gp"}

EXIFTOOL_LEAK_ARGS = ["exiftool", "-a", "-G1", "-n", "-gps:all", "-xmp:all", "-UserData:all",
                      "-Keys:all", "-ItemList:all"]

# What a coordinate looks like in exiftool's -n output (48.8566, 2.3522 in
# any of the encodings above: decimal degrees, ISO 6709, 3GPP loci).
_COORD_RE = re.compile(r"48[.,]85|\b2[.,]352|\+48\.85|\+002\.35")


def shows_coordinates(exiftool_output):
    return _COORD_RE.search(exiftool_output) is not None


# The same position as raw bytes, in every encoding the generators use, so
# that a leak is caught even where a damaged block makes exiftool give up:
# EXIF rationals 48/1 51/1 (either byte order), XMP "48,51.39N"/"2,21.13E",
# QuickTime ISO 6709 text, 3GPP loci 16.16 fixed point (longitude, latitude).
RAW_LOCATION_SIGNATURES = (
    struct.pack("<IIII", 48, 1, 51, 1), struct.pack(">IIII", 48, 1, 51, 1),
    b"48,51", b"2,21.", b"48.8566", b"+48.8566", b"+002.3522",
    struct.pack(">ii", round(2.3522 * 65536) - 1, round(48.8566 * 65536)),
)


def raw_location_signatures(data):
    return [sig for sig in RAW_LOCATION_SIGNATURES if sig in data]


def make_media(dest_dir):
    """Generates every MEDIA_RECIPES file into dest_dir (0755, files 0644)."""
    require_tools("ffmpeg", "exiftool", "heif-enc")
    os.makedirs(dest_dir, exist_ok=True)
    os.chmod(dest_dir, 0o755)
    for name, (recipe, _top, has_gps) in MEDIA_RECIPES.items():
        sh(recipe, dest_dir)
        p = os.path.join(dest_dir, name)
        os.chmod(p, 0o644)
        out = sh(" ".join(EXIFTOOL_LEAK_ARGS) + f" '{name}'", dest_dir)
        assert shows_coordinates(out) == has_gps, \
            f"generator for {name}: exiftool shows location={not has_gps}: {out!r}"
        with open(p, "rb") as f:
            raw = raw_location_signatures(f.read())
        assert bool(raw) == has_gps, f"generator for {name}: raw location bytes {raw}"
    return dest_dir


PLAIN_RECIPES = {
    "jpg": "ffmpeg -v error -y -f lavfi -i testsrc=size=96x64 -frames:v 1 p.jpg",
    "png": "ffmpeg -v error -y -f lavfi -i testsrc=size=96x64 -frames:v 1 p.png",
    "mp4": ("ffmpeg -v error -y -f lavfi -i testsrc=size=96x64:rate=5 -t 0.4 -pix_fmt yuv420p "
            "p.mp4"),
    "mp3": "ffmpeg -v error -y -f lavfi -i sine=duration=0.3 -b:a 32k p.mp3",
}


# Made once per test process: both test modules import these fixtures, and
# pytest would otherwise run a session fixture once per importing module.
_made = {}


@pytest.fixture(scope="session")
def plain_media():
    """{extension: bytes} of small real media files without any location."""
    if "plain" not in _made:
        require_tools("ffmpeg", "exiftool")
        d = tempfile.mkdtemp(prefix="pol_media_", dir=mfs.world_tmp_base())
        try:
            out = {}
            for ext, recipe in PLAIN_RECIPES.items():
                sh(recipe, d)
                with open(os.path.join(d, "p." + ext), "rb") as f:
                    out[ext] = f.read()
                assert out[ext], f"ffmpeg made an empty .{ext}"
            _made["plain"] = out
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return _made["plain"]


@pytest.fixture(scope="session")
def media_dir():
    """A directory (0755, files 0644) with every MEDIA_RECIPES file."""
    if "media" not in _made:
        d = tempfile.mkdtemp(prefix="red_media_", dir=mfs.world_tmp_base())
        os.chmod(d, 0o755)
        atexit.register(shutil.rmtree, d, True)
        _made["media"] = make_media(d)
    return _made["media"]



# ------------------------------------------------------------------ two apps in lock step

def run_in_lock_step(first_uid, first_step, second_uid, second_step, rounds, daemon):
    """For each round i: app `first_uid` runs first_step(i) (an action), then
    app `second_uid` runs second_step(i) right after, woken by a pipe, nothing
    else in between; second_step returns None when what it saw is right, or a
    description of what is wrong. Returns None, or (round, description) for the
    first wrong round (an OSError in either step counts as wrong)."""
    r, w = os.pipe()

    def first(chan):
        for i in range(rounds):
            err = None
            try:
                first_step(i)
            except OSError as e:
                err = f"the first app's step failed: {e!r}"
            os.write(w, b"x")
            if err:
                return err
            if chan.recv(timeout=120) == "stop":
                return None
        return None

    def second(chan):
        for i in range(rounds):
            os.read(r, 1)
            try:
                chan.send(second_step(i))
            except OSError as e:
                chan.send(f"{ename(e.errno)} ({e})")
        return None

    a = mfs.Spawned(first_uid, first)
    b = mfs.Spawned(second_uid, second)
    wrong = None
    try:
        for i in range(rounds):
            try:
                problem = b.recv(timeout=30)
            except (TimeoutError, EOFError, AssertionError, OSError) as e:
                problem = f"no answer ({e!r}); mediafsd alive: {daemon.alive()}"
            if problem:
                wrong = (i, problem)
                break
            try:
                a.send("next")
            except OSError:
                wrong = (i, "the first app stopped")
                break
        try:
            a.send("stop")
        except OSError:
            pass
        try:
            first_error = a.result(timeout=30)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            first_error = repr(e)
        if first_error and wrong:
            wrong = (wrong[0], f"{wrong[1]}; {first_error}")
    finally:
        a.kill()
        b.kill()
        os.close(r)
        os.close(w)
    return wrong
