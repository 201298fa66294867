#!/usr/bin/env bash
# bench.sh - mediafsd performance next to native access and bindfs. Run as root:
#
#   tests/bench/bench.sh                 (~9-11 minutes, with policy_bench.sh)
#   BENCH_QUICK=1 tests/bench/bench.sh   (~1 minute smoke run)
#
# Builds mediafsd if needed, creates one SOURCE tree (BENCH_DIR, default
# /var/tmp) and reaches it four ways at once: natively, through mediafsd
# (passthrough), through mediafsd --no-passthrough, and through Debian's
# bindfs. Then prints ONE table: fio sequential 1M / random 4k reads and
# writes (O_DIRECT, warm buffered, cold buffered after drop_caches), and
# metadata rates (open+close, stat, readdir+stat of a 10,000-entry
# directory) from tests/bench/metabench.c. Every cell shows the absolute
# number and its ratio to native. This is a benchmark, not a test: it only
# fails when it cannot run.
set -euo pipefail
exec </dev/null

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
QUICK="${BENCH_QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then
	SIZE=64M RUNTIME=1 META_SECONDS=0.5 CACHE_MODES=(direct warm)
else
	SIZE=256M RUNTIME=5 META_SECONDS=2 CACHE_MODES=(direct warm cold)
fi
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
PY=/usr/bin/python3

die() { echo "bench.sh: $*" >&2; exit 1; }
[[ "$(id -u)" == 0 ]] || die "run as root (mounts, drop_caches)"
for tool in fio bindfs cc fusermount3 "$PY"; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done

# ---------------------------------------------------------------- build
MEDIAFSD="${MEDIAFSD:-$ROOT/bazel-bin/daemon/mediafsd}"
if [[ -z "${MEDIAFSD_PREBUILT:-}" ]]; then
	echo "bench.sh: bazel build //daemon:mediafsd"
	(cd "$ROOT" && bazel build --color=no --curses=no --noshow_progress //daemon:mediafsd) ||
		die "build failed"
fi
[[ -x "$MEDIAFSD" ]] || die "$MEDIAFSD not built"

# ---------------------------------------------------------------- tree
WORK="$(mktemp -d "$BENCH_DIR/mediafs-bench.XXXXXX")"
chmod 755 "$WORK"
SRC="$WORK/src"
mkdir -p "$SRC/small" "$SRC/big"
declare -a PIDS=()
declare -a MOUNTS=()

cleanup() {
	local pid mp
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for mp in "${MOUNTS[@]}"; do
		if grep -q " $mp " /proc/self/mountinfo; then
			fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
		fi
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -Wall -o "$WORK/metabench" "$ROOT/tests/bench/metabench.c"
echo "bench.sh: creating SOURCE in $SRC ($SIZE data file, 1,000 + 10,000 small files)"
head -c "$SIZE" /dev/urandom >"$SRC/data.bin"
(cd "$SRC/small" && touch f{0..999})
(cd "$SRC/big" && touch e{0..9999})
sync

wait_mounted() { # MOUNTPOINT PID
	local i
	for ((i = 0; i < 500; i++)); do
		if awk -v mp="$1" '$5 == mp {found=1} END {exit !found}' /proc/self/mountinfo; then
			return 0
		fi
		[[ -z "$2" ]] || kill -0 "$2" 2>/dev/null || die "daemon for $1 exited before mounting"
		sleep 0.02
	done
	die "$1 did not mount"
}

declare -A PATH_OF
PATH_OF[native]="$SRC"
TARGETS=(native passthrough nopassthrough bindfs)
for t in passthrough nopassthrough bindfs; do
	mp="$WORK/mnt-$t"
	mkdir "$mp"
	MOUNTS+=("$mp")
	case $t in
	passthrough) "$MEDIAFSD" -f "$SRC" "$mp" 2>"$WORK/$t.log" & PIDS+=($!) ;;
	nopassthrough) "$MEDIAFSD" -f --no-passthrough "$SRC" "$mp" 2>"$WORK/$t.log" & PIDS+=($!) ;;
	bindfs) bindfs -f "$SRC" "$mp" 2>"$WORK/$t.log" & PIDS+=($!) ;;
	esac
	wait_mounted "$mp" "${PIDS[-1]}"
	PATH_OF[$t]="$mp"
done

# ---------------------------------------------------------------- runs
RESULTS="$WORK/results.tsv"   # row \t target \t value (or "err")
: >"$RESULTS"

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

fio_one() { # TARGET RW BS DIRECT -> prints MiB/s (seq) or IOPS (rand), or "err"
	local json="$WORK/fio.json"
	if fio --name=bench --filename="${PATH_OF[$1]}/data.bin" --size="$SIZE" \
		--rw="$2" --bs="$3" --direct="$4" --ioengine=psync --invalidate=0 \
		--runtime="$RUNTIME" --time_based --output-format=json --output="$json" \
		>>"$WORK/fio-errors.log" 2>&1; then
		"$PY" - "$2" "$json" <<'PYEOF' 2>>"$WORK/fio-errors.log" || echo err
import json, sys
rw, path = sys.argv[1], sys.argv[2]
text = open(path).read()
job = json.loads(text[text.find("{"):])["jobs"][0]
side = job["write"] if "write" in rw else job["read"]
if job.get("error") or side.get("io_bytes", 0) == 0:
    print("err")
elif rw in ("read", "write"):
    print("%.1f" % (side["bw_bytes"] / 1048576))
else:
    print("%.0f" % side["iops"])
PYEOF
	else
		echo "fio failed: target $1 rw $2 bs $3 direct $4" >>"$WORK/fio-errors.log"
		echo err
	fi
}

declare -a ROWS=()
add_row() { ROWS+=("$1"); }

WORKLOADS=("seq read 1M|read|1M" "seq write 1M|write|1M" "rand read 4k|randread|4k"
	"rand write 4k|randwrite|4k")
for cache in "${CACHE_MODES[@]}"; do
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r label rw bs <<<"$w"
		case $cache in
		direct) row="$label O_DIRECT" direct=1 ;;
		warm) row="$label warm" direct=0 ;;
		cold) row="$label cold" direct=0 ;;
		esac
		unit="MiB/s"
		[[ $rw == rand* ]] && unit="IOPS"
		add_row "$row ($unit)"
		for t in "${TARGETS[@]}"; do
			case $cache in
			warm) cat "${PATH_OF[$t]}/data.bin" >/dev/null ;;
			cold) drop_caches ;;
			esac
			v="$(fio_one "$t" "$rw" "$bs" "$direct")"
			[[ $rw == *write ]] && sync
			printf '%s\t%s\t%s\n' "$row ($unit)" "$t" "$v" >>"$RESULTS"
			printf 'bench.sh: %-34s %-14s %s\n' "$row ($unit)" "$t" "$v"
		done
	done
done

META=("open+close (ops/s)|openclose|small" "stat (ops/s)|stat|small"
	"readdir+stat 10k dir (entries/s)|readdirstat|big")
for m in "${META[@]}"; do
	IFS='|' read -r row mode dir <<<"$m"
	add_row "$row"
	for t in "${TARGETS[@]}"; do
		v="$("$WORK/metabench" "$mode" "${PATH_OF[$t]}/$dir" "$META_SECONDS" 2>>"$WORK/meta-errors.log" || echo err)"
		printf '%s\t%s\t%s\n' "$row" "$t" "$v" >>"$RESULTS"
		printf 'bench.sh: %-34s %-14s %s\n' "$row" "$t" "$v"
	done
done

for f in fio-errors.log meta-errors.log; do
	if [[ -s "$WORK/$f" ]]; then
		echo "bench.sh: errors ($f):"
		sed 's/^/  /' "$WORK/$f" | tail -n 20
	fi
done

# ---------------------------------------------------------------- table
echo
echo "mediafs benchmark: $(uname -r), $(nproc) cpus, file $SIZE, ${RUNTIME}s per fio job," \
	"SOURCE on $(findmnt -n -o FSTYPE -T "$SRC")$([[ $QUICK == 1 ]] && echo ', QUICK')"
"$PY" - "$RESULTS" "${TARGETS[@]}" <<'PYEOF'
import sys
results, targets = sys.argv[1], sys.argv[2:]
names = {"native": "native", "passthrough": "mediafsd", "nopassthrough": "mediafsd --no-pt",
         "bindfs": "bindfs"}
vals, rows = {}, []
for line in open(results):
    row, t, v = line.rstrip("\n").split("\t")
    if row not in rows:
        rows.append(row)
    vals[row, t] = v

def cell(row, t):
    v = vals.get((row, t), "err")
    try:
        x = float(v)
    except ValueError:
        return "err"
    if t == "native":
        return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"
    try:
        base = float(vals[row, "native"])
        ratio = f"{x / base:.2f}x" if base > 0 else "-"
    except (KeyError, ValueError):
        ratio = "-"
    num = f"{x:,.1f}" if x < 100 else f"{x:,.0f}"
    return f"{num} ({ratio})"

w0 = max(len(r) for r in rows + ["workload"])
cols = [[names[t]] + [cell(r, t) for r in rows] for t in targets]
widths = [max(len(c) for c in col) for col in cols]
print(f"{'workload':<{w0}}  " + "  ".join(f"{col[0]:>{w}}" for col, w in zip(cols, widths)))
print("-" * (w0 + sum(w + 2 for w in widths)))
for i, r in enumerate(rows, 1):
    print(f"{r:<{w0}}  " + "  ".join(f"{col[i]:>{w}}" for col, w in zip(cols, widths)))
PYEOF

# The policy's per-request cost and redacted reads, in tables of their own
# (same daemon binary; BENCH_POLICY=0 skips them).
if [[ "${BENCH_POLICY:-1}" != 0 ]]; then
	echo
	MEDIAFSD_PREBUILT=1 bash "$ROOT/tests/bench/policy_bench.sh"
fi
