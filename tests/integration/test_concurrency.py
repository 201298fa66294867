"""
Many app processes (several uids, started with setpriv) hammer the same and
different files at once for a bounded time. No process may ever see EIO or
any other unexpected error, reads of a process's own files must match its
model, and the daemon must survive and stay consistent with SOURCE.
"""
import json
import os
import subprocess
import time

import mfs

WORKERS = 16
SECONDS = 10
SHARED_FILES = 4
SHARED_SIZE = 1 << 20
UIDS = (0,) + mfs.APP_UIDS


def test_concurrent_apps_never_see_errors(mount):
    t = mount
    t.dir("shared", uid=0, mode=0o777)
    shared = []
    for i in range(SHARED_FILES):
        t.file(f"shared/s{i}", os.urandom(SHARED_SIZE), uid=mfs.APP_UIDS[i % 2], mode=0o666)
        shared.append(t.m("shared", f"s{i}"))
    procs = []
    worker = mfs.app_copy(str(mfs.HERE / "stress_worker.py"))
    for w in range(WORKERS):
        uid = UIDS[w % len(UIDS)]
        t.dir(f"w{w}", uid=uid, mode=0o755)
        cfg = {"shared": shared, "own_dir": t.m(f"w{w}"), "seconds": SECONDS,
               "seed": 1000 + w, "shared_size": SHARED_SIZE}
        argv = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups",
                mfs.PYTHON, worker, json.dumps(cfg)]
        procs.append((w, uid, subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True, cwd="/")))
    results = []
    deadline = time.monotonic() + SECONDS + 120
    for w, uid, p in procs:
        try:
            out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            results.append((w, uid, None, f"worker hung (killed); stderr: {err[-2000:]}"))
            continue
        if p.returncode != 0:
            results.append((w, uid, None, f"worker exited {p.returncode}: {err[-2000:]}"))
            continue
        results.append((w, uid, json.loads(out), None))

    problems = []
    total_ops = 0
    for w, uid, res, failure in results:
        if failure:
            problems.append(f"worker {w} (uid {uid}): {failure}")
            continue
        n = sum(res["ops"].values())
        total_ops += n
        if n < 50:
            problems.append(f"worker {w} (uid {uid}) did only {n} operations")
        if res["error_count"]:
            problems.append(f"worker {w} (uid {uid}): {res['error_count']} errors, first: "
                            + json.dumps(res["errors"][:5]))
    assert t.daemon.alive(), f"mediafsd died under load; log:\n{t.daemon.log()[-4000:]}"
    assert not problems, f"{len(problems)} workers saw problems ({total_ops} ops total):\n" \
        + "\n".join(problems)

    # the mount and SOURCE agree afterwards
    for w in range(WORKERS):
        assert sorted(os.listdir(t.m(f"w{w}"))) == sorted(os.listdir(t.s(f"w{w}")))
        for name in os.listdir(t.s(f"w{w}")):
            with open(t.m(f"w{w}", name), "rb") as a, open(t.s(f"w{w}", name), "rb") as b:
                assert a.read() == b.read(), f"w{w}/{name}: mount and SOURCE differ"
    for i in range(SHARED_FILES):
        with open(t.m("shared", f"s{i}"), "rb") as a, open(t.s("shared", f"s{i}"), "rb") as b:
            assert a.read() == b.read(), f"shared/s{i}: mount and SOURCE differ"

    # nothing stays open in the daemon once every app is gone
    if t.passthrough:
        files = sum(len(fs) for _, _, fs in os.walk(t.src))
        mfs.drop_caches()
        mfs.wait_for(lambda: t.stats()["backing_ids_open"] <= files, 10,
                     what=f"backing_ids_open <= {files} regular files after all apps exited")
