#!/usr/bin/env bash
# sanitize.sh - builds mediafsd, mediactl and every cmocka unit test with
# -fsanitize=address,undefined (the compiler directly, not Bazel, into a
# temporary directory), runs the unit tests, then one short real mount test
# against the sanitized binaries. Any sanitizer report fails its test.
#
# The last line is "N passed, N failed" (each cmocka case, or a whole test
# binary when it prints no cmocka summary, plus the mount test); the exit
# status is non-zero when anything failed. Needs root for the mount test.
#
#   CC=clang scripts/sanitize.sh        (default: gcc)
#   KEEP=1 scripts/sanitize.sh          (keep the build directory)
set -uo pipefail
exec </dev/null

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CC="${CC:-gcc}"
OUT="$(mktemp -d /tmp/mediafs-sanitize.XXXXXX)"
REPORTS="$OUT/reports"
mkdir -p "$OUT/obj" "$OUT/bin" "$REPORTS"
chmod 755 "$OUT" "$OUT/bin"
passed=0
failed=0

cleanup() { [[ "${KEEP:-0}" == 1 ]] || rm -rf "$OUT"; }
trap cleanup EXIT
finish() {
	echo "sanitize.sh: build in $OUT${KEEP:+ (kept)}"
	echo "$passed passed, $failed failed"
	((failed == 0))
	exit $?
}

CFLAGS=(-std=gnu11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
	-Wall -Wextra -Werror=implicit-function-declaration -I"$ROOT")
LIBS=(-lfuse3 -lsqlite3 -lcap -lselinux -lpthread)
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
export LSAN_OPTIONS="log_path=$REPORTS/lsan:suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"

# Library sources: every non-test .c of the libraries, and daemon/ but main.c.
mapfile -t lib_srcs < <(cd "$ROOT" && ls common/*.c db/*.c index/*.c media/*.c policy/*.c \
	transcode/*.c daemon/*.c 2>/dev/null | grep -v -E '_test\.c$|^policy/mediactl|^daemon/main\.c$')
mapfile -t tests < <(cd "$ROOT" && ls common/*_test.c db/*_test.c index/*_test.c media/*_test.c \
	policy/*_test.c transcode/*_test.c daemon/*_test.c tests/unit/*_test.c 2>/dev/null)

echo "== compiling ${#lib_srcs[@]} library sources with $CC"
objs=()
for src in "${lib_srcs[@]}"; do
	obj="$OUT/obj/${src//\//_}.o"
	if ! "$CC" "${CFLAGS[@]}" -c "$ROOT/$src" -o "$obj" 2>"$obj.log"; then
		echo "sanitize.sh: COMPILE FAILED: $src" >&2
		cat "$obj.log" >&2
		failed=$((failed + 1))
		finish
	fi
	objs+=("$obj")
done
ar rcs "$OUT/libmediafs.a" "${objs[@]}"

link() { # link OUTPUT SOURCES... [-- EXTRA LIBS]
	local out=$1
	shift
	"$CC" "${CFLAGS[@]}" "$@" "$OUT/libmediafs.a" "${LIBS[@]}" -o "$out" 2>"$out.log"
}
if ! link "$OUT/bin/mediafsd" "$ROOT/daemon/main.c"; then
	echo "sanitize.sh: LINK FAILED: mediafsd" >&2
	cat "$OUT/bin/mediafsd.log" >&2
	failed=$((failed + 1))
	finish
fi
mapfile -t ctl_srcs < <(ls "$ROOT"/policy/mediactl*.c)
if ! link "$OUT/bin/mediactl" "${ctl_srcs[@]}"; then
	echo "sanitize.sh: LINK FAILED: mediactl" >&2
	cat "$OUT/bin/mediactl.log" >&2
	failed=$((failed + 1))
	finish
fi

# True when a sanitizer wrote a report since the marker file was touched.
new_reports() {
	find "$REPORTS" -type f -newer "$OUT/marker" 2>/dev/null | grep -q .
}

echo "== unit tests"
for t in "${tests[@]}"; do
	name="$(basename "$t" .c)"
	bin="$OUT/bin/$name"
	if ! link "$bin" "$ROOT/$t" -lcmocka; then
		echo "  $t: LINK FAILED"
		cat "$bin.log"
		failed=$((failed + 1))
		continue
	fi
	tmp="$(mktemp -d "$OUT/tmp.$name.XXXXXX")"
	touch "$OUT/marker"
	(cd "$tmp" && TEST_TMPDIR="$tmp" timeout 600 "$bin") >"$bin.out" 2>&1
	rc=$?
	p="$(sed -n -E 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' "$bin.out" | tail -n1)"
	f="$(sed -n -E 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' "$bin.out" | tail -n1)"
	p=${p:-0}
	f=${f:-0}
	if [[ $p == 0 && $f == 0 ]]; then
		if [[ $rc == 0 ]]; then p=1; else f=1; fi
	elif [[ $rc != 0 && $f == 0 ]]; then
		f=1 # crashed or leaked after its cases passed
	fi
	if new_reports; then
		echo "  $t: sanitizer report:"
		find "$REPORTS" -type f -newer "$OUT/marker" -exec cat {} + | head -60
		((f > 0)) || f=1
	fi
	printf '  %-32s %3d passed, %3d failed (exit %d)\n' "$t" "$p" "$f" "$rc"
	((f == 0)) || tail -n 40 "$bin.out"
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "== mount test (sanitized mediafsd, real FUSE mount)"
if [[ "$(id -u)" != 0 ]]; then
	echo "  mount test needs root"
	failed=$((failed + 1))
	finish
fi
touch "$OUT/marker"
MEDIAFSD="$OUT/bin/mediafsd" MEDIACTL="$OUT/bin/mediactl" MEDIAFS_IT_TMP=/tmp \
	PYTHONDONTWRITEBYTECODE=1 timeout 300 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	"$ROOT/tests/integration/test_hostile.py::test_sanitizer_smoke" >"$OUT/mount-test.out" 2>&1
rc=$?
if [[ $rc == 0 ]] && ! new_reports; then
	echo "  test_hostile.py::test_sanitizer_smoke passed"
	passed=$((passed + 1))
else
	echo "  test_hostile.py::test_sanitizer_smoke FAILED (exit $rc)"
	tail -n 60 "$OUT/mount-test.out"
	find "$REPORTS" -type f -newer "$OUT/marker" -exec cat {} + | head -80
	failed=$((failed + 1))
fi
finish
