#!/usr/bin/env bash
# Runs the end-to-end suite as //tests:integration (see tests/BUILD.bazel):
# mediafsd and mediactl come from the runfiles, the suite from the source
# tree (reached through the runfiles symlink of tests/bench/bench.sh).
set -uo pipefail

runfiles="${TEST_SRCDIR:?must run under bazel test}/${TEST_WORKSPACE:-mediafs}"
export MEDIAFSD="$runfiles/daemon/mediafsd"
export MEDIACTL="$runfiles/policy/mediactl"
export PYTHONDONTWRITEBYTECODE=1
for b in "$MEDIAFSD" "$MEDIACTL"; do
	[[ -x "$b" ]] || { echo "run_under_bazel.sh: $b missing from runfiles" >&2; exit 1; }
done
anchor="$(readlink -f "$runfiles/tests/bench/bench.sh")"
suite="$(dirname "$(dirname "$anchor")")/integration"
[[ -f "$suite/conftest.py" ]] || { echo "run_under_bazel.sh: suite not found at $suite" >&2; exit 1; }

# Trees and mount points must be traversable by the test uids; TEST_TMPDIR
# lives under /root (0700), so this run gets its own directory in /tmp, and
# only mounts below it are cleaned up afterwards.
MEDIAFS_IT_TMP="$(mktemp -d /tmp/mfs-bazel-e2e.XXXXXX)" || exit 1
chmod 755 "$MEDIAFS_IT_TMP"
export MEDIAFS_IT_TMP
cleanup() {
	awk -v p="$MEDIAFS_IT_TMP/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r mp; do umount -l "$mp" 2>/dev/null || true; done
	rm -rf "$MEDIAFS_IT_TMP"
}
trap cleanup EXIT
cd "$suite" || exit 1
/usr/bin/python3 -m pytest -v -p no:cacheprovider \
	--junitxml="${XML_OUTPUT_FILE:-$TEST_TMPDIR/junit.xml}" .
