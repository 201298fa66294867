#!/bin/sh
# Builds each libFuzzer target with clang (ASan + UBSan, not Bazel) and runs
# it for FUZZ_SECONDS (default 20) from its checked-in seed corpus. The seeds
# are only read; new inputs go to a scratch directory, crashes to
# $FUZZ_OUT (default: a temp dir, printed). Exits non-zero if any target
# fails to build or finds a crash.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-20}
clang=${CLANG:-clang}
out=${FUZZ_OUT:-$(mktemp -d /tmp/mediafs_fuzz.XXXXXX)}
targets=${FUZZ_TARGETS:-"jpeg png webp tiff heif isobmff xmp"}
sources=$(ls "$repo"/media/*.c | grep -v '_test\.c$')
passed=0
failed=0

mkdir -p "$out"
echo "fuzz output in $out, ${seconds}s per target"
for target in $targets; do
	binary="$out/fuzz_$target"
	scratch="$out/corpus_$target"
	mkdir -p "$scratch" "$out/crashes_$target"
	# shellcheck disable=SC2086 # word splitting of the source list is wanted
	if ! "$clang" -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I"$repo" "$here/fuzz_$target.c" $sources -o "$binary"; then
		echo "FAIL $target: build"
		failed=$((failed + 1))
		continue
	fi
	if "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$out/crashes_$target/" "$scratch" "$here/corpus/$target" \
		>"$out/log_$target.txt" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$out/log_$target.txt" | tail -1)
		echo "PASS $target ($runs)"
		passed=$((passed + 1))
	else
		echo "FAIL $target: see $out/log_$target.txt and $out/crashes_$target/"
		tail -30 "$out/log_$target.txt"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
