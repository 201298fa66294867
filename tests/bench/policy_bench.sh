#!/usr/bin/env bash
# policy_bench.sh - what mediafs's policy costs, and how fast redacted reads
# are. Run as root (part of tests/bench/bench.sh, or alone):
#
#   tests/bench/policy_bench.sh                 (~10 minutes)
#   BENCH_QUICK=1 tests/bench/policy_bench.sh   (~1 minute)
#
# 1. Per-open cost: 100,000 indexed images and 1,000 registered apps; a
#    gallery app (READ_MEDIA_IMAGES) opens+closes and stats random files
#    through mediafsd with the policy, and through the same daemon with
#    --bench-allow-all (every check short-circuited, same cache timeouts).
#    Posix mode (no database, kernel-cached names) is shown for reference:
#    the difference is what uncached names cost.
# 2. Redacted reads: a large JPEG with a GPS position (above the default
#    --redact-copy-max: the view passes through to a redacted copy on disk;
#    and again through a daemon with --redact-disk-budget 0, which serves
#    the view itself: "big/daemon") and a photo-size one (8 MiB: the view
#    passes through to an in-memory redacted copy), read by that gallery app
#    with fio, next to native, bindfs and mediafsd --no-passthrough reading
#    the same files unredacted. Each row says which path served it, from the
#    daemon's counters. The first open of the large file, which makes its
#    disk copy, is timed on its own.
# A benchmark, not a test: it fails only when it cannot run.
set -euo pipefail
exec </dev/null

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
	DIRS=10 APPS=100 SECS=1 BIG=96M RUNTIME=2
else
	DIRS=100 APPS=1000 SECS=3 BIG=256M RUNTIME=5
fi
PHOTO_BYTES=$((8 * 1024 * 1024))
FILES=1000
GALLERY=10001
# mediafsd holds one descriptor per inode the kernel caches. It raises its
# own open-file limit to fs.nr_open when it may (CAP_SYS_RESOURCE); where it
# may not, a timed run touching all the files at random would run it out of
# descriptors. Then the files are measured in chunks of directories that
# fit the limit, with the kernel's caches dropped between runs (which makes
# it FORGET every inode, so the daemon closes their descriptors): every one
# of the indexed files is still looked up, decided on and opened.
CHUNK=$DIRS
fd_limit="$(ulimit -Hn)"
if [[ "$fd_limit" != unlimited ]] && ! prlimit --pid $$ --nofile="$((DIRS * FILES * 3 / 2)):$((DIRS * FILES * 3 / 2))" 2>/dev/null; then
	CHUNK=$(((fd_limit - 2000) * 2 / 3 / FILES))
	((CHUNK >= 1)) || { echo "policy_bench.sh: open-file hard limit $fd_limit is too low" >&2; exit 1; }
	((CHUNK < DIRS)) || CHUNK=$DIRS
	while ((DIRS % CHUNK)); do CHUNK=$((CHUNK - 1)); done
	((CHUNK == DIRS)) || echo "policy_bench.sh: open-file hard limit $fd_limit and no CAP_SYS_RESOURCE" \
		"to raise it: measuring $((DIRS / CHUNK)) chunks of $((CHUNK * FILES)) files, caches dropped between runs"
fi
BENCH_DIR="${BENCH_DIR:-/var/tmp}"

die() { echo "policy_bench.sh: $*" >&2; exit 1; }
[[ "$(id -u)" == 0 ]] || die "run as root"
for tool in fio bindfs cc ffmpeg exiftool setpriv; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
if [[ -z "${MEDIAFSD_PREBUILT:-}" ]]; then
	(cd "$ROOT" && bazel build --color=no --curses=no --noshow_progress \
		//daemon:mediafsd //policy:mediactl) || die "build failed"
fi
MEDIAFSD="${MEDIAFSD:-$ROOT/bazel-bin/daemon/mediafsd}"
MEDIACTL="${MEDIACTL:-$ROOT/bazel-bin/policy/mediactl}"

WORK="$(mktemp -d "$BENCH_DIR/mediafs-policy-bench.XXXXXX")"
chmod 755 "$WORK"
SRC="$WORK/src" DB="$WORK/policy.db"
declare -a MOUNTS=() PIDS=()
cleanup() {
	for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
	for m in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
		grep -q " $m " /proc/self/mounts && umount -l "$m" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
[[ -n "${BENCH_KEEP_LOG:-}" ]] && trap 'cp "$WORK/daemons.log" "$BENCH_KEEP_LOG" 2>/dev/null; cleanup' EXIT

as_gallery() { setpriv --reuid "$GALLERY" --regid "$GALLERY" --clear-groups "$@"; }
mounted() { grep -q " $1 fuse" /proc/self/mounts; }
start_daemon() { # start_daemon MOUNTPOINT ARGS...
	local mnt=$1; shift
	mkdir -p "$mnt"
	"$MEDIAFSD" -f "$@" "$SRC" "$mnt" 2>>"$WORK/daemons.log" &
	PIDS+=($!)
	MOUNTS+=("$mnt")
	for _ in $(seq 200); do mounted "$mnt" && return 0; sleep 0.05; done
	die "mediafsd did not mount $mnt ($*): $(tail -3 "$WORK/daemons.log")"
}

echo "policy_bench.sh: $((DIRS * FILES)) files, $APPS apps, in $WORK"
cc -O2 -Wall -o "$WORK/policybench" "$ROOT/tests/bench/policybench.c"
/usr/bin/python3 - "$SRC/0/DCIM/bench" "$DIRS" "$FILES" <<'PY'
import os, sys
base, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    p = os.path.join(base, "d%02d" % d)
    os.makedirs(p, exist_ok=True)
    for f in range(files):
        open(os.path.join(p, "f%05d.jpg" % f), "wb").close()
PY
chmod -R a+rX "$SRC"
for ((i = 0; i < APPS; i++)); do
	echo "INSERT INTO apps(uid, package) VALUES($((10000 + i)), 'com.bench.app$i');"
done > "$WORK/apps.sql"
"$MEDIACTL" --db "$DB" app list >/dev/null   # creates and migrates the database
sqlite3 "$DB" "BEGIN; $(cat "$WORK/apps.sql") COMMIT;"
"$MEDIACTL" --db "$DB" grant "$GALLERY" READ_MEDIA_IMAGES
"$MEDIACTL" --db "$DB" --source "$SRC" scan >/dev/null

start_daemon "$WORK/m_posix"
start_daemon "$WORK/m_policy" --db "$DB"
start_daemon "$WORK/m_allow" --db "$DB" --bench-allow-all

# Every rate is the median of REPS runs taken in turn (posix, policy, allow,
# posix, ...), so that a passing disturbance does not decide a ratio.
REPS=3
# chunked_rate OP DIR -> operations/s over all DIRS directories: the same
# time for each chunk (at least 1 s; SECS in all when that allows), so the
# mean of the chunks' rates is the total's.
chunked_rate() {
	local first sum=0 rate secs
	secs="$(awk -v s="$SECS" -v c="$CHUNK" -v d="$DIRS" 'BEGIN { t = s * c / d; print (t < 1 ? 1 : t) }')"
	for ((first = 0; first < DIRS; first += CHUNK)); do
		if ((CHUNK < DIRS)); then
			# Forget the last chunk; then an untimed pass, so that what is
			# timed is the steady state (every file known), not first sights.
			echo 2 > /proc/sys/vm/drop_caches
			as_gallery "$WORK/policybench" "$1" "$2" "$CHUNK" "$FILES" "$secs" "$first" \
				>/dev/null || return 1
		fi
		rate="$(as_gallery "$WORK/policybench" "$1" "$2" "$CHUNK" "$FILES" "$secs" "$first")" ||
			return 1
		sum=$((sum + rate))
	done
	echo $((sum / (DIRS / CHUNK)))
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A RATE
for op in openclose stat; do
	declare -A RUNS=()
	for ((rep = 0; rep < REPS; rep++)); do
		for t in posix policy allow; do
			RUNS[$t]+=" $(chunked_rate "$op" "$WORK/m_$t/0/DCIM/bench")" ||
				die "policybench $op on $t failed"
		done
	done
	for t in posix policy allow; do
		RATE[$op.$t]="$(median ${RUNS[$t]})"
	done
	unset RUNS
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "Policy cost per request ($((DIRS * FILES)) indexed files, $APPS apps, as an app with READ_MEDIA_IMAGES; median of $REPS)"
printf '%-12s %14s %16s %16s %14s %14s\n' workload "posix mode/s" "policy off/s" "policy on/s" "on/off" "on/posix"
for op in openclose stat; do
	printf '%-12s %14s %16s %16s %14s %14s\n' "$op" "${RATE[$op.posix]}" "${RATE[$op.allow]}" \
		"${RATE[$op.policy]}" "$(ratio "${RATE[$op.policy]}" "${RATE[$op.allow]}")" \
		"$(ratio "${RATE[$op.policy]}" "${RATE[$op.posix]}")"
done

"$MEDIACTL" stats "$WORK/m_policy" --json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
print("policy on: %d decisions answered from memory, %d read the database"
      % (s["decisions_from_memory"], s["decisions_from_db"]))'

# ---------------------------------------------------------------- redacted reads
mkdir -p "$SRC/0/Pictures"
ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240 -frames:v 1 "$WORK/geo.jpg"
exiftool -q -overwrite_original -GPSLatitude=48.8584 -GPSLatitudeRef=N -GPSLongitude=2.2945 \
	-GPSLongitudeRef=E "$WORK/geo.jpg"
# A large image: the JPEG, then filler after its end marker (readers ignore it).
cp "$WORK/geo.jpg" "$SRC/0/Pictures/big.jpg"
head -c "$BIG" /dev/urandom >> "$SRC/0/Pictures/big.jpg"
# A photo-size image, made the same way: within --redact-copy-max.
cp "$WORK/geo.jpg" "$SRC/0/Pictures/photo.jpg"
head -c $((PHOTO_BYTES - $(stat -c %s "$WORK/geo.jpg"))) /dev/urandom >> "$SRC/0/Pictures/photo.jpg"
chmod 644 "$SRC/0/Pictures/big.jpg" "$SRC/0/Pictures/photo.jpg"
start_daemon "$WORK/m_server" --no-passthrough
start_daemon "$WORK/m_nodisk" --db "$DB" --redact-disk-budget 0
mkdir -p "$WORK/m_bindfs"
bindfs --no-allow-other -o allow_other "$SRC" "$WORK/m_bindfs"
MOUNTS+=("$WORK/m_bindfs")
as_gallery "$MEDIACTL" --help >/dev/null 2>&1 || true
"$MEDIACTL" --db "$DB" check "$GALLERY" "$SRC/0/Pictures/big.jpg" | head -1
"$MEDIACTL" --db "$DB" check "$GALLERY" "$SRC/0/Pictures/photo.jpg" | head -1

fio_bw() { # fio_bw FILE RW BS DIRECT -> MiB/s
	as_gallery fio --name=r --filename="$1" --readonly --rw="$2" --bs="$3" --direct="$4" \
		--ioengine=psync --runtime="$RUNTIME" --time_based --output-format=terse \
		--terse-version=3 2>>"$WORK/fio.log" | awk -F';' '{ printf "%.1f", $7 / 1024 }'
}
redacted_opens() { # redacted_opens MOUNT -> its daemon's "opens_redacted opens_redacted_copy"
	"$MEDIACTL" stats "$1" --json | /usr/bin/python3 -c \
		'import json, sys; s = json.load(sys.stdin); print(s["opens_redacted"], s["opens_redacted_copy"])'
}
served_by() { # served_by "BEFORE" "AFTER" -> copy | daemon | mixed
	set -- $1 $2
	local redacted=$(($3 - $1)) copies=$(($4 - $2))
	if ((redacted > 0 && copies == redacted)); then echo copy
	elif ((copies == 0)); then echo daemon
	else echo mixed; fi
}
declare -A BW SERVED_BY
declare -A PATH_OF=([native]="$SRC" [server]="$WORK/m_server" [bindfs]="$WORK/m_bindfs")
# Rows: big (disk copy), big/daemon (same file, --redact-disk-budget 0), photo.
declare -A FILE_OF=([big]=big [big/daemon]=big [photo]=photo)
declare -A REDACTED_MOUNT=([big]="$WORK/m_policy" [big/daemon]="$WORK/m_nodisk"
	[photo]="$WORK/m_policy")
ROWS=(big big/daemon photo)
cat "$SRC/0/Pictures/big.jpg" >/dev/null
first_open="$( { TIMEFORMAT=%R; time as_gallery dd if="$WORK/m_policy/0/Pictures/big.jpg" \
	of=/dev/null bs=4k count=1 status=none; } 2>&1)"
WORKLOADS=("read 1M 1" "randread 4k 1" "read 1M 0" "randread 4k 0")
for f in "${ROWS[@]}"; do
	file="${FILE_OF[$f]}.jpg"
	for w in "${WORKLOADS[@]}"; do
		set -- $w
		for t in native redacted server bindfs; do
			# Daemon-served rows read the backing file's page cache: warm it for
			# every row alike, so that the order of the rows does not decide.
			cat "$SRC/0/Pictures/$file" >/dev/null
			mnt="${PATH_OF[$t]:-${REDACTED_MOUNT[$f]}}"
			[[ $t == redacted ]] && before="$(redacted_opens "$mnt")"
			BW[$f.$w.$t]="$(fio_bw "$mnt/0/Pictures/$file" "$1" "$2" "$3")"
			[[ $t == redacted ]] && SERVED_BY[$f.$w]="$(served_by "$before" "$(redacted_opens "$mnt")")"
		done
	done
done
echo
echo "Redacted reads (JPEGs with GPS, as the gallery app: MiB/s and ratio to native)"
echo "  big.jpg: $BIG of filler, above --redact-copy-max: its view passes through to a redacted"
echo "    copy on disk, made at the first open (${first_open} s, shared by later opens);"
echo "    big/daemon: the same file through a daemon with --redact-disk-budget 0 (daemon-served)"
echo "  photo.jpg: 8 MiB, an in-memory redacted copy (kernel passthrough)"
echo "  O_DIRECT: native and passthrough to a disk copy read the disk; bindfs and daemon-served"
echo "    views answer from the daemon's page cache"
printf '%-40s %12s %18s %22s %16s %12s\n' workload native "redacted view" "--no-passthrough" bindfs "red/bindfs"
for f in "${ROWS[@]}"; do
	for w in "${WORKLOADS[@]}"; do
		set -- $w
		label="$f $1 $2 $([[ $3 == 1 ]] && echo O_DIRECT || echo warm) [${SERVED_BY[$f.$w]}]"
		printf '%-40s %12s %11s (%4s) %15s (%4s) %9s (%4s) %12s\n' "$label" \
			"${BW[$f.$w.native]}" \
			"${BW[$f.$w.redacted]}" "$(ratio "${BW[$f.$w.redacted]}" "${BW[$f.$w.native]}")" \
			"${BW[$f.$w.server]}" "$(ratio "${BW[$f.$w.server]}" "${BW[$f.$w.native]}")" \
			"${BW[$f.$w.bindfs]}" "$(ratio "${BW[$f.$w.bindfs]}" "${BW[$f.$w.native]}")" \
			"$(ratio "${BW[$f.$w.redacted]}" "${BW[$f.$w.bindfs]}")"
	done
done
