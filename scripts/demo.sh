#!/usr/bin/env bash
# demo.sh - installs what is missing, builds, creates a demo storage directory
# and policy database, and runs mediafsd on them in the foreground.
#
#   sudo ./scripts/demo.sh            # Ctrl-C unmounts and exits
#
# Environment: DEMO_DIR (default /var/lib/mediafs-demo), DEMO_MNT (default
# /mnt/mediafs-demo).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
demo_dir="${DEMO_DIR:-/var/lib/mediafs-demo}"
mnt="${DEMO_MNT:-/mnt/mediafs-demo}"
storage="$demo_dir/storage"
db="$demo_dir/policy.db"
camera=10010 gallery=10020 notes=10030 maps=10040

die() { echo "demo.sh: $*" >&2; exit 1; }
[[ "$(id -u)" == 0 ]] || die "must run as root (it mounts)"

"$repo/scripts/install-deps.sh"
echo "demo.sh: building mediafsd and mediactl"
(cd "$repo" && bazel build //daemon:mediafsd //policy:mediactl >/dev/null 2>&1) ||
	(cd "$repo" && bazel build //daemon:mediafsd //policy:mediactl) || die "build failed"
mediafsd="$repo/bazel-bin/daemon/mediafsd"
mediactl="$repo/bazel-bin/policy/mediactl"

# A previous demo that was killed leaves a dead mount behind.
if grep -q " $mnt fuse" /proc/self/mounts 2>/dev/null; then umount -l "$mnt"; fi
mkdir -p "$storage" "$mnt"
as_app() { local uid=$1; shift; setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@"; }
ctl() { "$mediactl" --db "$db" "$@" >/dev/null; }

fresh=0
if [[ ! -e "$db" ]]; then
	fresh=1
	ctl app add --uid "$camera" --package com.example.camera
	ctl app add --uid "$gallery" --package com.example.gallery
	ctl grant "$gallery" READ_MEDIA_IMAGES
	ctl app add --uid "$notes" --package com.example.notes
	ctl app add --uid "$maps" --package com.example.maps
	ctl grant "$maps" READ_MEDIA_IMAGES
	ctl grant "$maps" ACCESS_MEDIA_LOCATION
fi

"$mediafsd" -f --db "$db" "$storage" "$mnt" &
daemon=$!
trap 'kill -TERM "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; exit 0' INT TERM
for _ in $(seq 100); do
	grep -q " $mnt fuse" /proc/self/mounts && break
	kill -0 "$daemon" 2>/dev/null || die "mediafsd did not start"
	sleep 0.1
done

if ((fresh)); then
	# The camera takes two photos (one with a GPS position) and the notes app
	# writes a document, all through the mount, so each app owns its files.
	work="$(mktemp -d)"
	chmod 755 "$work"
	ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240 -frames:v 1 "$work/IMG_0001.jpg"
	ffmpeg -loglevel error -f lavfi -i smptebars=size=320x240 -frames:v 1 "$work/IMG_0002.jpg"
	exiftool -q -overwrite_original -GPSLatitude=48.8584 -GPSLatitudeRef=N \
		-GPSLongitude=2.2945 -GPSLongitudeRef=E "$work/IMG_0001.jpg"
	chmod 644 "$work"/*.jpg
	as_app "$camera" mkdir -p "$mnt/0/DCIM/Camera"
	as_app "$camera" cp "$work/IMG_0001.jpg" "$work/IMG_0002.jpg" "$mnt/0/DCIM/Camera/"
	as_app "$notes" sh -c "echo 'shopping: milk, eggs' > '$mnt/0/Documents/notes.txt'"
	rm -rf "$work"
fi

cat <<TXT

mediafs demo: $storage is served at $mnt (policy: $db)
apps: $camera camera (took the photos), $gallery gallery (READ_MEDIA_IMAGES),
      $notes notes (no permission), $maps maps (READ_MEDIA_IMAGES + ACCESS_MEDIA_LOCATION)

Try, in another shell (as root):
  ls -l $mnt/0/DCIM/Camera                          # root: everything
  setpriv --reuid $gallery --regid $gallery --clear-groups ls -l $mnt/0/DCIM/Camera
  setpriv --reuid $notes --regid $notes --clear-groups ls -l $mnt/0/DCIM/Camera   # nothing
  setpriv --reuid $gallery --regid $gallery --clear-groups exiftool -GPSPosition $mnt/0/DCIM/Camera/IMG_0001.jpg   # redacted: none
  setpriv --reuid $camera --regid $camera --clear-groups exiftool -GPSPosition $mnt/0/DCIM/Camera/IMG_0001.jpg     # owner: the Eiffel tower
  setpriv --reuid $maps --regid $maps --clear-groups exiftool -GPSPosition $mnt/0/DCIM/Camera/IMG_0001.jpg         # location permission
  $mediactl --db $db check $gallery $mnt/0/DCIM/Camera/IMG_0001.jpg
  $mediactl --db $db grant $notes READ_MEDIA_IMAGES    # takes effect on the next open
  $mediactl stats $mnt

Ctrl-C unmounts and stops the daemon.
TXT
wait "$daemon"
