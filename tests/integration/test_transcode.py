"""
HEVC transcoding end to end (issue 6): an app registered --no-hevc that reads
someone else's HEVC video gets an AVC copy, made by ffmpeg out of the daemon's
process and cached; owners and HEVC-capable apps get the original bytes.

Real everything: videos made here with ffmpeg (libx265, hvc1), copied in by an
owner app through the mount, read by other apps (real uids), checked with
ffprobe and exiftool; the daemon's counters come from `mediactl stats`.

Trees are named tc_* (not "mnt"): other suites kill daemons by mount name.
"""
import errno
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import mfs
from mfs import run_as

OWNER, NO_HEVC, HEVC_OK = 10001, 10002, 10003
MOVIES = "0/Movies"
TITLE = "tc title"


# ---------------------------------------------------------------- media

def _ffmpeg(*args):
    r = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
                       + list(args), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"ffmpeg {args} failed: {r.stderr}"


def _make_hevc(path, source, seconds):
    """A short HEVC (hvc1) video with AAC audio, a title and a location."""
    _ffmpeg("-f", "lavfi", "-i", f"{source}=size=128x72:rate=25", "-f", "lavfi",
            "-i", "sine=frequency=440:sample_rate=44100", "-t", str(seconds),
            "-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1",
            "-c:a", "aac", "-metadata", f"title={TITLE}",
            "-metadata", "location=+48.8577+002.2950/", path)


def _corrupt_hvcc(good, bad):
    """Same file with its HEVC decoder configuration (hvcC) garbled: the
    sample entry still says hvc1, so the index says hevc, but no decoder
    can be opened, so ffmpeg fails."""
    data = bytearray(open(good, "rb").read())
    at = data.find(b"hvcC")
    assert at > 4, "no hvcC box in the test video"
    size = int.from_bytes(data[at - 4:at], "big")
    for k in range(at + 4 + 22, at - 4 + size):
        data[k] = 0xFF
    open(bad, "wb").write(bytes(data))


@pytest.fixture(scope="module")
def videos():
    d = tempfile.mkdtemp(prefix="tc_videos_", dir=mfs.world_tmp_base())
    os.chmod(d, 0o755)
    v = {"a": (os.path.join(d, "a.mp4"), "testsrc", 1.5),
         "b": (os.path.join(d, "b.mp4"), "testsrc2", 1.0),
         "c": (os.path.join(d, "c.mp4"), "rgbtestsrc", 1.2)}
    for path, source, seconds in v.values():
        _make_hevc(path, source, seconds)
    _corrupt_hvcc(v["a"][0], os.path.join(d, "bad.mp4"))
    v["bad"] = (os.path.join(d, "bad.mp4"), None, 1.5)
    for path, _, _ in v.values():
        os.chmod(path, 0o644)
    yield {k: path for k, (path, _, _) in v.items()}
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- environment

class Env:
    def __init__(self, base):
        self.base = base
        self.src = os.path.join(base, "s", "tc_src")
        self.mnt = os.path.join(base, "m", "tc_mnt")
        self.db = os.path.join(base, "tc_policy.db")
        self.cache = os.path.join(base, "tc_cache")
        self.daemon = None

    def ctl(self, *args, ok=True):
        r = mfs.run_mediactl("--db", self.db, *args)
        if ok:
            assert r.returncode == 0, f"mediactl {args}: rc={r.returncode} {r.stderr}"
        return r

    def m(self, name):
        return os.path.join(self.mnt, MOVIES, name)

    def s(self, name):
        return os.path.join(self.src, MOVIES, name)

    def stats(self):
        return mfs.stats(self.mnt)

    def cache_stats(self):
        return json.loads(self.ctl("cache", "stats", "--json").stdout)

    def copy_in(self, video, name):
        """The owner app writes `video` to Movies/name through the mount."""
        run_as(OWNER, _write_file, self.m(name), open(video, "rb").read())


@pytest.fixture
def env():
    base = tempfile.mkdtemp(prefix="tc_it_", dir=mfs.world_tmp_base())
    os.chmod(base, 0o755)
    e = Env(base)
    for d in (os.path.dirname(e.src), e.src, os.path.dirname(e.mnt), e.mnt):
        os.mkdir(d)
        os.chmod(d, 0o755)
    e.ctl("app", "add", "--uid", str(OWNER), "--package", "tc.owner")
    e.ctl("app", "add", "--uid", str(NO_HEVC), "--package", "tc.nohevc", "--no-hevc")
    e.ctl("app", "add", "--uid", str(HEVC_OK), "--package", "tc.hevc")
    for uid in (NO_HEVC, HEVC_OK):
        e.ctl("grant", str(uid), "READ_MEDIA_VIDEO")
        # The test videos carry location. Without this permission the engine
        # would redact (before it transcodes): the no-HEVC app would get the
        # redacted HEVC original. With it, it gets the copy, which still
        # carries no location; the HEVC app gets the original bytes.
        e.ctl("grant", str(uid), "ACCESS_MEDIA_LOCATION")
    e.ctl("transcoder", "set", "--cache-dir", e.cache)
    e.daemon = mfs.Daemon(e.src, e.mnt, ["--db", e.db])
    try:
        e.daemon.start()
        yield e
        rc = e.daemon.stop()
        assert rc == 0, f"mediafsd exited with {rc}; log:\n{e.daemon.log()}"
    finally:
        e.daemon.cleanup()
        mfs.remove_tree(base)


# ---------------------------------------------------------------- app actions

def _write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()


def _probe(path):
    """ffprobe's codec of the video stream and the duration, as the app."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "stream=codec_type,codec_name:format=duration", "-of", "json", path],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise OSError(errno.EIO, f"ffprobe {path}: {r.stderr.strip()}")
    d = json.loads(r.stdout)
    video = [s["codec_name"] for s in d["streams"] if s["codec_type"] == "video"]
    return video[0], float(d["format"]["duration"])


def _size(path):
    return os.stat(path).st_size


def _open_rw(path):
    os.close(os.open(path, os.O_RDWR))


def _copy_range_to(src, dst):
    """copy_file_range from src into a new file dst (both on the mount)."""
    fd_in = os.open(src, os.O_RDONLY)
    fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        while os.copy_file_range(fd_in, fd_out, 1 << 20) > 0:
            pass
    finally:
        os.close(fd_in)
        os.close(fd_out)
    return _read_file(dst)


def _read_on_go(chan, path):
    chan.send("ready")
    chan.recv(timeout=60)
    return hashlib.sha256(_read_file(path)).hexdigest()


def _hold_then_read(chan, path):
    with open(path, "rb") as f:
        f.read(16)
        chan.send("open")
        chan.recv(timeout=60)
        f.seek(0)
        return hashlib.sha256(f.read()).hexdigest()


def _probe_source(path):
    return _probe(path)


def _delta(after, before, *keys):
    return {k: after[k] - before[k] for k in keys}


COUNTERS = ("opens_transcoded", "transcodes_started", "transcodes_failed",
            "transcode_cache_hits")


# ---------------------------------------------------------------- tests

def test_no_hevc_app_reads_an_avc_copy_without_location(env, videos):
    env.copy_in(videos["a"], "a.mp4")
    check = json.loads(env.ctl("check", str(NO_HEVC), env.s("a.mp4"), "--json").stdout)
    assert check["decision"] == "transcode", check
    src_codec, src_duration = _probe_source(videos["a"])
    assert src_codec == "hevc"
    before = env.stats()

    codec, duration = run_as(NO_HEVC, _probe, env.m("a.mp4"))
    assert codec == "h264"
    assert abs(duration - src_duration) <= 0.1, (duration, src_duration)
    copy = run_as(NO_HEVC, _read_file, env.m("a.mp4"))
    assert copy[4:8] == b"ftyp" and copy != open(videos["a"], "rb").read()
    d = _delta(env.stats(), before, *COUNTERS)
    assert d["transcodes_started"] == 1 and d["transcodes_failed"] == 0, d
    assert d["opens_transcoded"] >= 2 and d["transcode_cache_hits"] >= 1, d

    # stat through the view reports the copy's size; others see the original's.
    assert run_as(NO_HEVC, _size, env.m("a.mp4")) == len(copy)
    assert run_as(HEVC_OK, _size, env.m("a.mp4")) == os.path.getsize(videos["a"])

    # Container metadata kept, location gone (exiftool on the served bytes).
    out = os.path.join(env.base, "served.mp4")
    open(out, "wb").write(copy)
    tags = json.loads(subprocess.run(["exiftool", "-j", "-a", "-G1", out], capture_output=True,
                                     text=True, check=True).stdout)[0]
    assert any(k.endswith(":Title") and v == TITLE for k, v in tags.items()), tags
    assert not [k for k in tags if "GPS" in k or "Location" in k], tags
    src_tags = subprocess.run(["exiftool", "-a", videos["a"]], capture_output=True,
                              text=True, check=True).stdout
    assert "GPS Position" in src_tags  # the test would prove nothing otherwise

    # Read-only view; copy_file_range goes through the view, never the original.
    mfs.assert_errno(errno.EACCES, NO_HEVC, _open_rw, env.m("a.mp4"))
    copied = run_as(NO_HEVC, _copy_range_to, env.m("a.mp4"),
                    os.path.join(env.mnt, "0/Download/tc_copy.bin"))
    assert copied == copy
    # The cache holds exactly that copy, outside the presented tree.
    cs = env.cache_stats()
    assert cs["dir"] == env.cache and cs["entries"] == 1 and cs["bytes"] == len(copy), cs
    assert oct(os.stat(env.cache).st_mode & 0o777) == "0o700"


def test_owner_and_hevc_app_get_the_original(env, videos):
    env.copy_in(videos["a"], "a.mp4")
    original = open(videos["a"], "rb").read()
    before = env.stats()
    for uid in (OWNER, HEVC_OK):
        assert run_as(uid, _probe, env.m("a.mp4"))[0] == "hevc"
        assert run_as(uid, _read_file, env.m("a.mp4")) == original
    d = _delta(env.stats(), before, *COUNTERS)
    assert d == dict.fromkeys(COUNTERS, 0), d


def test_concurrent_opens_start_one_transcode(env, videos):
    env.copy_in(videos["b"], "b.mp4")
    before = env.stats()
    readers = [mfs.Spawned(NO_HEVC, _read_on_go, env.m("b.mp4")) for _ in range(8)]
    try:
        for r in readers:
            assert r.recv(timeout=30) == "ready"
        for r in readers:
            r.send("go")
        digests = {r.result(timeout=120) for r in readers}
    finally:
        for r in readers:
            r.kill()
    assert len(digests) == 1
    mid = env.stats()
    d = _delta(mid, before, *COUNTERS)
    assert d["transcodes_started"] == 1 and d["opens_transcoded"] == 8, d
    # A later open is a cache hit.
    assert hashlib.sha256(run_as(NO_HEVC, _read_file, env.m("b.mp4"))).hexdigest() in digests
    d = _delta(env.stats(), mid, *COUNTERS)
    assert d["transcode_cache_hits"] == 1 and d["transcodes_started"] == 0, d


def test_failed_transcode_is_eio_once_and_not_retried(env, videos):
    env.copy_in(videos["bad"], "bad.mp4")
    env.copy_in(videos["a"], "a.mp4")
    check = json.loads(env.ctl("check", str(NO_HEVC), env.s("bad.mp4"), "--json").stdout)
    assert check["decision"] == "transcode", check  # the index still says hevc
    before = env.stats()
    for _ in range(4):
        mfs.assert_errno(errno.EIO, NO_HEVC, _read_file, env.m("bad.mp4"))
    d = _delta(env.stats(), before, *COUNTERS)
    assert d["transcodes_started"] == 1 and d["transcodes_failed"] == 1, d
    assert "transcoding '0/Movies/bad.mp4' failed" in env.daemon.log()
    # The daemon keeps serving everyone else.
    assert run_as(NO_HEVC, _probe, env.m("a.mp4"))[0] == "h264"
    assert run_as(HEVC_OK, _read_file, env.m("bad.mp4")) == open(videos["bad"], "rb").read()
    assert env.daemon.alive()


def test_transcoder_command_is_configurable(env, videos):
    env.copy_in(videos["b"], "b.mp4")
    shown = json.loads(env.ctl("transcoder", "show", "--json").stdout)
    assert shown["command_is_default"] and shown["command"].startswith("ffmpeg ")
    assert shown["cache_dir"] == env.cache and not shown["cache_dir_is_default"]
    r = env.ctl("transcoder", "set", "--command", "ffmpeg -i {input}", ok=False)
    assert r.returncode == 2 and "{output}" in r.stderr, r.stderr

    env.ctl("transcoder", "set", "--command", "sh -c 'echo tc-broken >&2; exit 3' sh "
            "{input} {output}")
    mfs.assert_errno(errno.EIO, NO_HEVC, _read_file, env.m("b.mp4"))
    assert "exit status 3: tc-broken" in env.daemon.log()
    # A new command is a new attempt, even for the same source version.
    env.ctl("transcoder", "set", "--command",
            shown["command"].replace("{output}", "-metadata comment=tc-custom {output}"))
    copy = run_as(NO_HEVC, _read_file, env.m("b.mp4"))
    out = os.path.join(env.base, "custom.mp4")
    open(out, "wb").write(copy)
    tags = subprocess.run(["exiftool", "-Comment", out], capture_output=True, text=True,
                          check=True).stdout
    assert "tc-custom" in tags, tags
    env.ctl("transcoder", "reset")
    assert json.loads(env.ctl("transcoder", "show", "--json", "--source", env.src)
                      .stdout)["cache_dir"].startswith("/var/cache/mediafs/")


def test_changed_source_gets_a_new_copy(env, videos):
    env.copy_in(videos["a"], "v.mp4")
    first = run_as(NO_HEVC, _read_file, env.m("v.mp4"))
    before = env.stats()
    env.copy_in(videos["b"], "v.mp4")  # the owner rewrites it
    codec, duration = run_as(NO_HEVC, _probe, env.m("v.mp4"))
    assert codec == "h264"
    assert abs(duration - _probe_source(videos["b"])[1]) <= 0.1
    second = run_as(NO_HEVC, _read_file, env.m("v.mp4"))
    assert second != first
    d = _delta(env.stats(), before, *COUNTERS)
    assert d["transcodes_started"] == 1, d
    assert env.cache_stats()["entries"] == 1  # the stale copy went


def test_cache_limit_evicts_least_recently_used(env, videos):
    names = ("a", "b", "c")
    for n in names:
        env.copy_in(videos[n], n + ".mp4")
    digests = {n: hashlib.sha256(run_as(NO_HEVC, _read_file, env.m(n + ".mp4"))).hexdigest()
               for n in names}
    sizes = {n: run_as(NO_HEVC, _size, env.m(n + ".mp4")) for n in names}
    assert env.cache_stats()["bytes"] == sum(sizes.values())

    # Clearing while the daemon runs spares a reader that has a copy open.
    holder = mfs.Spawned(NO_HEVC, _hold_then_read, env.m("a.mp4"))
    try:
        assert holder.recv(timeout=30) == "open"
        assert "removed 3 entries" in env.ctl("cache", "clear").stdout
        holder.send("go")
        assert holder.result(timeout=60) == digests["a"]
    finally:
        holder.kill()
    assert env.cache_stats()["entries"] == 0

    # Room for two copies, not three.
    limit = max(sizes["a"] + sizes["b"], sizes["b"] + sizes["c"]) + min(sizes.values()) // 2
    assert limit < sum(sizes.values())
    env.ctl("transcoder", "set", "--cache-max-bytes", str(limit))
    for n in names:  # a, then b, then c: a is the least recently used
        run_as(NO_HEVC, _read_file, env.m(n + ".mp4"))
    cs = env.cache_stats()
    assert cs["limit"] == limit and cs["bytes"] <= limit and cs["entries"] == 2, cs
    before = env.stats()
    for n in ("c", "b"):
        run_as(NO_HEVC, _read_file, env.m(n + ".mp4"))
    d = _delta(env.stats(), before, *COUNTERS)
    assert d["transcode_cache_hits"] == 2 and d["transcodes_started"] == 0, d
    assert hashlib.sha256(run_as(NO_HEVC, _read_file, env.m("a.mp4"))).hexdigest() == digests["a"]
    d = _delta(env.stats(), before, *COUNTERS)
    assert d["transcodes_started"] == 1, d  # a had been evicted
    assert env.cache_stats()["bytes"] <= limit
