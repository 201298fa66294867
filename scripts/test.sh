#!/usr/bin/env bash
# test.sh - the one command that builds mediafs and runs every test, on a
# fresh Debian 12 machine, as root, with no stdin (CI runs it via .ci/run):
#
#   1. scripts/install-deps.sh          (only what is missing)
#   2. bazel build //...
#   3. bazel test //... except the "integration" tag  (cmocka unit tests)
#   4. the pytest end-to-end suite in tests/integration/, directly, verbose
#   5. media/fuzz/run_fuzzers.sh (bounded libFuzzer runs) and
#      scripts/sanitize.sh (unit tests and a mount test under ASan+UBSan)
#
# The very last line is "N passed, N failed": every cmocka test case (or a
# whole test target when its log has no cmocka summary), every pytest test,
# and the fuzzers' own count. Build failures and steps that crash count as
# failures. Exit status is non-zero when anything failed.
set -uo pipefail
exec </dev/null
export CI="${CI:-true}"
export DEBIAN_FRONTEND=noninteractive
export PYTHONDONTWRITEBYTECODE=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3
BAZEL_FLAGS=(--color=no --curses=no --noshow_progress)
PYTEST_TIMEOUT="${PYTEST_TIMEOUT:-900}"   # seconds; a hung suite fails, never blocks CI

passed=0
failed=0
declare -a report=()

step() { printf '\n======== %s\n' "$*"; }
add() { # add PASSED FAILED LABEL
	passed=$((passed + $1))
	failed=$((failed + $2))
	report+=("$(printf '%-28s %5d passed, %5d failed' "$3" "$1" "$2")")
}
finish() {
	step "summary"
	local line
	for line in "${report[@]}"; do echo "  $line"; done
	echo "$passed passed, $failed failed"
	((failed == 0))
	exit $?
}

if [[ "$(id -u)" != 0 ]]; then
	echo "test.sh: must run as root (FUSE mounts, uid switching, apt)" >&2
	add 0 1 "environment"
	finish
fi

LOGDIR="$(mktemp -d /tmp/mediafs-test.XXXXXX)"
chmod 755 "$LOGDIR"
echo "test.sh: logs in $LOGDIR"
# The end-to-end trees and mount points of this run, traversable by the
# test uids; only mounts below it are ever cleaned up by this script.
export MEDIAFS_IT_TMP="$LOGDIR/e2e"
mkdir -m 755 "$MEDIAFS_IT_TMP"

# ---------------------------------------------------------------- 1. deps
step "install dependencies"
if ! bash "$ROOT/scripts/install-deps.sh"; then
	echo "test.sh: installing dependencies failed" >&2
	add 0 1 "install-deps"
	finish
fi

# ---------------------------------------------------------------- 2. build
step "bazel build //..."
if bazel build "${BAZEL_FLAGS[@]}" --keep_going //...; then
	add 0 0 "bazel build"
else
	echo "test.sh: BUILD FAILED" >&2
	add 0 1 "bazel build"
fi

# ---------------------------------------------------------------- 3. unit tests
step "bazel test //... (unit tests, -integration)"
bazel test "${BAZEL_FLAGS[@]}" --keep_going --test_output=errors --test_summary=short \
	--test_tag_filters=-integration //... 2>&1 | tee "$LOGDIR/bazel-test.log"
bazel_rc=${PIPESTATUS[0]}
read -r up uf < <("$PY" - "$LOGDIR/bazel-test.log" "$bazel_rc" "$ROOT/bazel-testlogs" <<'PYEOF'
import os, re, sys
log, rc, testlogs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
status_re = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?"
                       r"(FAILED TO BUILD|NO STATUS|PASSED|FAILED|TIMEOUT|FLAKY|INCOMPLETE|"
                       r"REMOTE FAILURE|SKIPPED)\b")
pass_re = re.compile(r"^\[  PASSED  \] (\d+) test\(s\)\.")
fail_re = re.compile(r"^\[  FAILED  \] (\d+) test\(s\)")
targets = {}
for line in open(log, errors="replace"):
    m = status_re.match(line.strip())
    if m:
        targets[m.group(1)] = m.group(2)
p = f = 0
for target, status in sorted(targets.items()):
    pkg, _, name = target[2:].partition(":")
    tl = os.path.join(testlogs, pkg, name, "test.log")
    cp = cf = 0
    seen = False
    if status not in ("FAILED TO BUILD", "NO STATUS") and os.path.exists(tl):
        for line in open(tl, errors="replace"):
            a, b = pass_re.match(line), fail_re.match(line)
            if a:
                cp += int(a.group(1)); seen = True
            if b:
                cf += int(b.group(1)); seen = True
    ok = status in ("PASSED", "FLAKY")
    if not seen:
        cp, cf = (1, 0) if ok else (0, 1)
    elif not ok and cf == 0:
        cf = 1  # crashed, timed out or leaked after its cases passed
    print(f"  {target:50s} {status:16s} {cp} passed, {cf} failed", file=sys.stderr)
    p += cp
    f += cf
# 0: all passed, 3: some failed (counted above), 4: no test targets at all
if rc not in (0, 3, 4) and f == 0:
    print(f"  bazel test exited {rc} without a failing target: counting one failure",
          file=sys.stderr)
    f += 1
if rc == 3 and f == 0:
    f += 1
print(p, f)
PYEOF
)
add "${up:-0}" "${uf:-1}" "unit tests (cmocka)"

# ---------------------------------------------------------------- 4. integration
step "pytest tests/integration (end-to-end, real mounts)"
export MEDIAFSD="$ROOT/bazel-bin/daemon/mediafsd"
export MEDIACTL="$ROOT/bazel-bin/policy/mediactl"
junit="$LOGDIR/pytest.xml"
timeout --signal=TERM --kill-after=30 "$PYTEST_TIMEOUT" \
	"$PY" -m pytest -v -p no:cacheprovider -rfEs --junitxml="$junit" "$ROOT/tests/integration"
pytest_rc=$?
[[ $pytest_rc == 124 ]] && echo "test.sh: pytest killed after ${PYTEST_TIMEOUT}s" >&2
read -r ip if_ < <("$PY" - "$junit" "$pytest_rc" <<'PYEOF'
import os, sys
import xml.etree.ElementTree as ET
path, rc = sys.argv[1], int(sys.argv[2])
p = f = 0
if os.path.exists(path):
    try:
        # One test is one count, even when pytest reports its call and its
        # teardown separately; a skip counts as a failure (tests never skip).
        status = {}
        for tc in ET.parse(path).getroot().iter("testcase"):
            key = (tc.get("classname"), tc.get("name"))
            bad = any(c.tag in ("failure", "error", "skipped") for c in tc)
            status[key] = status.get(key, False) or bad
        f += sum(status.values())
        p += len(status) - sum(status.values())
    except ET.ParseError:
        f += 1
if rc not in (0, 1) or (rc == 1 and f == 0) or not os.path.exists(path):
    f += 1  # pytest itself failed (usage error, collection crash, killed)
print(p, f)
PYEOF
)
add "${ip:-0}" "${if_:-1}" "integration (pytest)"
# never leave a mount of this run behind, whatever happened
awk -v p="$MEDIAFS_IT_TMP/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r |
	while read -r mp; do umount -l "$mp" 2>/dev/null || true; done

# ---------------------------------------------------------------- 5. scripts with their own count
# counted_step LABEL SCRIPT: runs a script that ends with "N passed, N failed"
# and adds its count; a missing count line or a failing exit is a failure.
counted_step() {
	local label=$1 script=$2 log="$LOGDIR/$1.log" counts rc cp cf
	step "$script"
	bash "$script" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	counts="$(grep -E '^[[:space:]]*[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)"
	if [[ -n "$counts" ]]; then
		cp="$(sed -E 's/^[[:space:]]*([0-9]+) passed.*/\1/' <<<"$counts")"
		cf="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$counts")"
	else
		echo "test.sh: $script printed no 'N passed, N failed' line" >&2
		cp=0
		cf=1
	fi
	if [[ $rc != 0 && $cf == 0 ]]; then
		echo "test.sh: $script exited $rc" >&2
		cf=1
	fi
	add "$cp" "$cf" "$label"
}
counted_step fuzzers "$ROOT/media/fuzz/run_fuzzers.sh"
counted_step sanitizers "$ROOT/scripts/sanitize.sh"

finish
