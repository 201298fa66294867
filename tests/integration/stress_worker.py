"""
stress_worker.py - one app process of the concurrency test, started as an
unprivileged uid with setpriv (or as root).

Usage: stress_worker.py JSON  where JSON has
  shared:   list of paths every worker reads and writes (fixed size, 0666)
  own_dir:  a directory this worker owns; its files are modelled exactly
  seconds:  how long to run
  seed:     for the random choice of operations
  shared_size: size of each shared file (writes stay inside it)

For `seconds` it opens, reads, writes, appends, truncates, mmaps, O_DIRECT
reads, fsyncs, stats, lists, renames, creates and unlinks, keeping a model of
its own files' contents and checking every read of them against it. Any
error (an errno, a short read, a content mismatch) is recorded. Prints one
JSON object: {"ops": {name: count}, "errors": [..first 50..], "error_count": N}.
"""
import errno
import json
import mmap
import os
import random
import sys
import time

PAGE = 4096


def main():
    cfg = json.loads(sys.argv[1])
    rnd = random.Random(cfg["seed"])
    shared = cfg["shared"]
    shared_size = cfg["shared_size"]
    own_dir = cfg["own_dir"]
    deadline = time.monotonic() + cfg["seconds"]
    ops = {}
    errors = []
    error_count = 0
    model = {}          # name -> bytearray, this worker's own files
    held = []           # (fd, path, name or None) kept open across iterations
    direct_buf = mmap.mmap(-1, 64 * 1024)  # page aligned, for O_DIRECT
    serial = 0

    def err(op, path, e):
        nonlocal error_count
        error_count += 1
        if len(errors) < 50:
            errors.append({"op": op, "path": path,
                           "errno": errno.errorcode.get(getattr(e, "errno", None) or 0, None),
                           "msg": str(e)})

    def own(name):
        return os.path.join(own_dir, name)

    def new_name():
        nonlocal serial
        serial += 1
        return f"f{serial}"

    def check_own(op, name, off, got):
        want = bytes(model[name][off:off + len(got)])
        if got != want or (off < len(model[name]) and len(got) == 0):
            err(op, own(name), AssertionError(
                f"content mismatch at {off}: got {len(got)} bytes, model has "
                f"{len(model[name])}"))

    def op_read_shared():
        p = rnd.choice(shared)
        fd = os.open(p, os.O_RDONLY)
        try:
            for _ in range(rnd.randint(1, 4)):
                off = rnd.randrange(0, shared_size)
                n = rnd.randint(1, 256 * 1024)
                b = os.pread(fd, n, off)
                if len(b) != min(n, shared_size - off):
                    raise AssertionError(f"short read {len(b)} of {n} at {off}")
        finally:
            os.close(fd)

    def op_write_shared():
        p = rnd.choice(shared)
        fd = os.open(p, rnd.choice([os.O_WRONLY, os.O_RDWR]))
        try:
            n = rnd.randint(1, 128 * 1024)
            off = rnd.randrange(0, shared_size - n)
            w = os.pwrite(fd, os.urandom(n), off)
            if w != n:
                raise AssertionError(f"short write {w} of {n}")
            if rnd.random() < 0.1:
                os.fsync(fd)
        finally:
            os.close(fd)

    def op_mmap_shared():
        p = rnd.choice(shared)
        fd = os.open(p, os.O_RDONLY)
        try:
            with mmap.mmap(fd, shared_size, prot=mmap.PROT_READ) as m:
                off = rnd.randrange(0, shared_size - PAGE)
                _ = m[off:off + PAGE]
        finally:
            os.close(fd)

    def op_direct_read_shared():
        p = rnd.choice(shared)
        fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
        try:
            off = rnd.randrange(0, shared_size // PAGE) * PAGE
            n = min(len(direct_buf), shared_size - off)
            got = os.preadv(fd, [memoryview(direct_buf)[:n]], off)
            if got != n:
                raise AssertionError(f"short O_DIRECT read {got} of {n}")
        finally:
            os.close(fd)

    def op_create_own():
        name = new_name()
        data = os.urandom(rnd.randint(0, 200 * 1024))
        fd = os.open(own(name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            if data:
                os.write(fd, data)
        finally:
            os.close(fd)
        model[name] = bytearray(data)

    def op_write_own():
        if not model:
            return op_create_own()
        name = rnd.choice(list(model))
        fd = os.open(own(name), os.O_RDWR)
        try:
            n = rnd.randint(1, 64 * 1024)
            off = rnd.randrange(0, len(model[name]) + 4096)
            data = os.urandom(n)
            os.pwrite(fd, data, off)
            m = model[name]
            if off > len(m):
                m.extend(b"\0" * (off - len(m)))
            m[off:off + n] = data
            rb = rnd.randrange(0, len(m))
            check_own("read-after-write", name, rb, os.pread(fd, 8192, rb))
        finally:
            os.close(fd)

    def op_append_own():
        if not model:
            return op_create_own()
        name = rnd.choice(list(model))
        data = os.urandom(rnd.randint(1, 8192))
        fd = os.open(own(name), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        model[name].extend(data)

    def op_truncate_own():
        if not model:
            return op_create_own()
        name = rnd.choice(list(model))
        size = rnd.randrange(0, len(model[name]) + 10000)
        if rnd.random() < 0.5:
            os.truncate(own(name), size)
        else:
            fd = os.open(own(name), os.O_WRONLY | os.O_TRUNC)
            os.close(fd)
            size = 0
        m = model[name]
        if size <= len(m):
            del m[size:]
        else:
            m.extend(b"\0" * (size - len(m)))

    def op_read_own():
        if not model:
            return op_create_own()
        name = rnd.choice(list(model))
        how = rnd.random()
        fd = os.open(own(name), os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if size != len(model[name]):
                raise AssertionError(f"size {size} != model {len(model[name])}")
            if how < 0.5:
                data = b""
                while True:
                    b = os.read(fd, 65536)
                    if not b:
                        break
                    data += b
                if data != bytes(model[name]):
                    raise AssertionError("whole-file read differs from model")
            elif size > 0:
                with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mm:
                    off = rnd.randrange(0, size)
                    check_own("mmap-read", name, off, mm[off:off + 4096])
        finally:
            os.close(fd)

    def op_rename_own():
        if not model:
            return op_create_own()
        name = rnd.choice(list(model))
        new = new_name()
        os.rename(own(name), own(new))
        model[new] = model.pop(name)
        for i, (fd, p, n) in enumerate(held):
            if n == name:
                held[i] = (fd, own(new), new)

    def op_unlink_own():
        if not model:
            return op_create_own()
        name = rnd.choice(list(model))
        os.unlink(own(name))
        del model[name]
        for i, (fd, p, n) in enumerate(held):
            if n == name:
                held[i] = (fd, p, None)   # still open, no longer modelled

    def op_stat():
        for p in shared:
            st = os.stat(p)
            if st.st_size != shared_size:
                raise AssertionError(f"shared file size {st.st_size} != {shared_size}")
        names = sorted(os.listdir(own_dir))
        if names != sorted(model):
            raise AssertionError(f"own dir lists {names[:5]}... != model {sorted(model)[:5]}...")

    def op_hold():
        if len(held) < 4:
            if rnd.random() < 0.5 or not model:
                p = rnd.choice(shared)
                held.append((os.open(p, os.O_RDWR), p, None))
            else:
                name = rnd.choice(list(model))
                held.append((os.open(own(name), os.O_RDONLY), own(name), name))
        else:
            fd, p, name = held.pop(rnd.randrange(len(held)))
            try:
                if name is not None and name in model and len(model[name]) > 0:
                    off = rnd.randrange(0, len(model[name]))
                    check_own("held-read", name, off, os.pread(fd, 4096, off))
                elif name is None and p in shared:
                    os.pread(fd, 4096, rnd.randrange(0, shared_size))
            finally:
                os.close(fd)

    table = [
        (op_read_shared, 14), (op_write_shared, 10), (op_mmap_shared, 4),
        (op_direct_read_shared, 4), (op_create_own, 6), (op_write_own, 10),
        (op_append_own, 5), (op_truncate_own, 4), (op_read_own, 10), (op_rename_own, 4),
        (op_unlink_own, 3), (op_stat, 5), (op_hold, 6),
    ]
    funcs = [f for f, _ in table]
    weights = [w for _, w in table]
    while time.monotonic() < deadline:
        f = rnd.choices(funcs, weights)[0]
        ops[f.__name__] = ops.get(f.__name__, 0) + 1
        try:
            f()
        except (OSError, AssertionError) as e:
            err(f.__name__, "", e)
        if len(model) > 20:
            try:
                op_unlink_own()
            except OSError as e:
                err("op_unlink_own", "", e)
    for fd, _, _ in held:
        try:
            os.close(fd)
        except OSError as e:
            err("close", "", e)
    # final check of every own file against the model
    for name, m in model.items():
        try:
            with open(own(name), "rb") as f:
                if f.read() != bytes(m):
                    raise AssertionError(f"final content of {name} differs from model")
        except (OSError, AssertionError) as e:
            err("final-check", own(name), e)
    print(json.dumps({"ops": ops, "errors": errors, "error_count": error_count}))


if __name__ == "__main__":
    main()
