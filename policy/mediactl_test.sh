#!/bin/bash
# mediactl_test.sh - the CLI end to end on a real SQLite file: exit codes,
# one-line errors, output formats, PATH resolution against --source.
set -u
M="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
T="${TEST_TMPDIR:-$(mktemp -d)}/cli"
rm -rf "$T" && mkdir -p "$T/src/0/DCIM" "$T/src/0/Download" && cd "$T" || exit 1
echo x > src/0/DCIM/a.jpg
echo y > src/0/Download/n.txt
failures=0

# expect CODE CMD...: runs CMD, checks its exit code and that stderr is at most one line.
expect() {
	local want="$1"; shift
	"$@" >out.txt 2>err.txt
	local got=$?
	if [ "$got" != "$want" ] || [ "$(wc -l <err.txt)" -gt 1 ]; then
		echo "FAIL: $* -> exit $got (want $want): $(cat err.txt)"
		failures=$((failures + 1))
	fi
}
expect_out() {
	if ! grep -q -- "$1" out.txt; then
		echo "FAIL: output lacks '$1': $(cat out.txt)"
		failures=$((failures + 1))
	fi
}

D="--db $T/p.db"
expect 0 "$M" $D app add --uid 10010 --package com.cam
expect 0 "$M" $D app add --uid 10020 --package com.gallery --no-hevc
expect 1 "$M" $D app add --uid 10020 --package com.other
expect 2 "$M" $D app add --uid 500 --package com.sys
expect 2 "$M" $D app add --uid 10030 --package 'bad/pkg'
expect 2 "$M" $D app add --uid x10 --package com.x
expect 0 "$M" $D grant 10020 READ_MEDIA_IMAGES
expect 2 "$M" $D grant 10020 CAMERA
expect 2 "$M" $D grant 1e4 READ_MEDIA_IMAGES
expect 1 "$M" $D grant 10099 READ_MEDIA_IMAGES
expect 1 "$M" $D revoke 10020 READ_MEDIA_AUDIO
expect 0 "$M" $D app list --json
expect_out '"permissions": \["READ_MEDIA_IMAGES"\]'
expect 0 "$M" $D app list
expect_out 'com.gallery *no-hevc *READ_MEDIA_IMAGES'
expect 2 "$M" $D check 10020 src/0/DCIM/a.jpg          # SOURCE unknown yet
expect 0 "$M" $D --source src check 10020 src/0/DCIM/a.jpg
expect_out '^plain (rule: read-media-images'
expect 0 "$M" $D --source src check 10020 "$T/src/0/DCIM/../DCIM/a.jpg" --write --json
expect_out '"decision": "deny", "errno": "EACCES", "rule": "read-only-access"'
expect 0 "$M" $D --source src check 10010 src/0/DCIM/new.txt
expect_out '^deny EPERM (rule: create-type-mismatch'
expect 2 "$M" $D --source src check 10020 /etc/passwd
expect 2 "$M" $D --source src check 10020 src/../outside
expect 0 "$M" $D --source src grant-file 10020 src/0/Download/n.txt --write
expect 1 "$M" $D --source src grant-file 10020 src/0/Download/missing.txt
expect 0 "$M" $D --source src check 10020 src/0/Download/n.txt
expect_out '^deny ENOENT (rule: non-media-private'
expect 0 "$M" $D --source src revoke-file 10020 src/0/Download/n.txt
expect 1 "$M" $D --source src revoke-file 10020 src/0/Download/n.txt
expect 0 "$M" $D --source src scan --json
# check and grant-file index what they look at, as the daemon would: both
# files have records by now, so scan adds none.
expect_out '"files": 2, "added": 0'
rm src/0/DCIM/a.jpg
expect 0 "$M" $D --source src scan src/0
expect_out '1 stale records removed'
expect 0 "$M" $D app set --package com.gallery --hevc
expect 2 "$M" $D app set --uid 10020
expect 0 "$M" $D app remove --uid 10020
expect 1 "$M" $D app remove --uid 10020
expect 2 "$M" $D frobnicate
expect 2 "$M" $D app list --write
expect 2 "$M" --bogus
expect 2 "$M"
expect 2 "$M" stats /nonexistent
expect 2 "$M" stats "$T"
expect 2 "$M" app list                                   # no --db
echo garbage garbage garbage garbage garbage garbage garbage garbage > bad.db
expect 1 "$M" --db "$T/bad.db" app list
expect 0 "$M" --help
expect_out 'EXIT STATUS'
[ "$failures" = 0 ] && echo "all passed"
exit "$failures"
