#!/usr/bin/env bash
# install-deps.sh - installs what mediafs needs to build and test on Debian 12.
# Idempotent and non-interactive: asks apt only for packages that are missing
# (no apt-get update at all when nothing is). Run as root.
set -euo pipefail

PACKAGES=(
	bazel-bootstrap
	libfuse3-dev fuse3
	libsqlite3-dev sqlite3
	libcap-dev libselinux1-dev
	libcmocka-dev
	python3-pytest
	fio bindfs
	ffmpeg libimage-exiftool-perl libheif-examples
	clang libclang-rt-14-dev build-essential
	util-linux
)

export DEBIAN_FRONTEND=noninteractive
exec </dev/null

if [[ "$(id -u)" != 0 ]]; then
	echo "install-deps.sh: must run as root" >&2
	exit 1
fi
command -v apt-get >/dev/null || { echo "install-deps.sh: apt-get not found (Debian 12 expected)" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
	status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
	[[ "$status" == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "install-deps.sh: all ${#PACKAGES[@]} packages present"
	exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
