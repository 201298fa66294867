#!/usr/bin/env bash
# Runs the end-to-end suite as //tests:integration: finds mediafsd and
# mediactl in the runfiles tree and hands them to pytest.
set -euo pipefail

runfiles="${TEST_SRCDIR:?must run under bazel test}/${TEST_WORKSPACE:-mediafs}"
export MEDIAFSD="$runfiles/daemon/mediafsd"
export MEDIACTL="$runfiles/policy/mediactl"
export PYTHONDONTWRITEBYTECODE=1
for b in "$MEDIAFSD" "$MEDIACTL"; do
	[[ -x "$b" ]] || { echo "run_under_bazel.sh: $b missing from runfiles" >&2; exit 1; }
done
# Mount points and trees must be traversable by the test uids; TEST_TMPDIR
# lives under /root, so the suite uses /tmp (MEDIAFS_IT_TMP).
export MEDIAFS_IT_TMP="${MEDIAFS_IT_TMP:-/tmp}"
cd "$runfiles/tests/integration"
exec /usr/bin/python3 -m pytest -v -p no:cacheprovider \
	--junitxml="${XML_OUTPUT_FILE:-$TEST_TMPDIR/junit.xml}" .
