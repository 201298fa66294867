#!/usr/bin/env bash
# install.sh [PREFIX] - builds mediafs and installs it (default PREFIX /usr/local):
#
#   PREFIX/sbin/mediafsd                          the daemon
#   PREFIX/bin/mediactl                           the policy tool
#   PREFIX/sbin/mount.fuse.mediafs                mount(8)/fstab helper
#   PREFIX/lib/systemd/system/mediafsd@.service   the unit (ExecStart points at PREFIX)
#   PREFIX/share/man/man8/mediafsd.8, man1/mediactl.1
#
# DESTDIR is honoured (staged installs, packaging). When installing to the
# live system (no DESTDIR) with a PREFIX whose sbin mount(8) does not search,
# /sbin/mount.fuse.mediafs is linked to the installed helper; with a PREFIX
# other than /usr, the unit is also linked into /etc/systemd/system.
# MEDIAFS_SKIP_BUILD=1 installs what is already built: bazel-bin, or the
# binaries named by $MEDIAFSD and $MEDIACTL. MEDIAFS_NO_SYSTEM_LINKS=1 skips
# the links into /sbin and /etc (tests, staged trees).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${1:-/usr/local}"
DESTDIR="${DESTDIR:-}"
case "$PREFIX" in
/*) ;;
*) echo "install.sh: PREFIX must be absolute, not '$PREFIX'" >&2; exit 2 ;;
esac

if [[ "${MEDIAFS_SKIP_BUILD:-0}" != 1 ]]; then
	(cd "$ROOT" && bazel build --color=no --curses=no --noshow_progress \
		//daemon:mediafsd //policy:mediactl)
fi
daemon_bin="${MEDIAFSD:-$ROOT/bazel-bin/daemon/mediafsd}"
ctl_bin="${MEDIACTL:-$ROOT/bazel-bin/policy/mediactl}"
for b in "$daemon_bin" "$ctl_bin"; do
	[[ -x "$b" ]] || { echo "install.sh: $b not built" >&2; exit 1; }
done

dest="$DESTDIR$PREFIX"
install -d -m 0755 "$dest/sbin" "$dest/bin" "$dest/lib/systemd/system" \
	"$dest/share/man/man8" "$dest/share/man/man1"
install -m 0755 "$daemon_bin" "$dest/sbin/mediafsd"
install -m 0755 "$ctl_bin" "$dest/bin/mediactl"
install -m 0755 "$ROOT/packaging/mount.fuse.mediafs" "$dest/sbin/mount.fuse.mediafs"
sed "s|@SBINDIR@|$PREFIX/sbin|g" "$ROOT/packaging/mediafsd@.service" \
	>"$dest/lib/systemd/system/mediafsd@.service"
chmod 0644 "$dest/lib/systemd/system/mediafsd@.service"
install -m 0644 "$ROOT/docs/mediafsd.8" "$dest/share/man/man8/mediafsd.8"
install -m 0644 "$ROOT/docs/mediactl.1" "$dest/share/man/man1/mediactl.1"

if [[ -z "$DESTDIR" && "${MEDIAFS_NO_SYSTEM_LINKS:-0}" != 1 ]]; then
	if [[ "$PREFIX" != /usr && "$PREFIX" != / ]]; then
		ln -sfn "$PREFIX/sbin/mount.fuse.mediafs" /sbin/mount.fuse.mediafs
		if [[ -d /etc/systemd/system ]]; then
			ln -sfn "$PREFIX/lib/systemd/system/mediafsd@.service" \
				/etc/systemd/system/mediafsd@.service
		fi
	fi
	if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
		systemctl daemon-reload || true
	fi
	command -v mandb >/dev/null && mandb -q >/dev/null 2>&1 || true
fi
echo "installed mediafs into $dest"
