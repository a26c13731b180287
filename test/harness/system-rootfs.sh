#!/bin/bash
# The shared root filesystem of the system-scope test hosts (test/harness/system-hosts.ts):
# a minimal Debian 12 with systemd, journald, dbus, sshd and sudo, built once per machine with
# mmdebstrap and kept in /var/cache/ggn-test/rootfs-<key>. <key> is the sha256 of this file, so
# a change to the recipe below builds a new rootfs (the old one is removed when no system-host
# cluster runs). Each test host mounts an overlay on it. Root only.
#
#   system-rootfs.sh path      prints the rootfs dir for this recipe
#   system-rootfs.sh build     builds it unless it is already there (idempotent, locked)
#
# What goes in the rootfs (per-host files such as host keys, machine-id, sshd's ListenAddress and
# the sudoers variant are written by the harness into each host's overlay upper dir):
# - packages: systemd systemd-sysv dbus openssh-server sudo iproute2 procps less (minbase: no udev,
#   networkd, resolved, timesyncd, libpam-systemd)
# - user deploy (uid 1000, shell bash, password '*' = no password but not locked), NOPASSWD sudo
# - no shared ssh host keys, an empty machine-id, no timers, no console getty, a small
#   persistent journal
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
CACHE=${GGN_SYSROOT_CACHE:-/var/cache/ggn-test}
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,sudo,iproute2,procps,less
KEY=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
ROOTFS=$CACHE/rootfs-$KEY
STAMP=.ggn-rootfs-stamp

# The Debian mirror this machine's apt uses (deb822 or one-line format), for the main archive.
mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/{u=$2} /^Suites:/{ for (i=2;i<=NF;i++) if ($i=="'$SUITE'") s=1 } /^$/{ if (s&&u&&!done) {print u; done=1} u=""; s=0 } END{ if (s&&u&&!done) print u }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1=="deb" && $3=="'$SUITE'" { for (i=2;i<=NF;i++) if ($i !~ /^\[/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo "system-rootfs: no apt source for $SUITE found in /etc/apt" >&2
  return 1
}

build() {
  [ "$(id -u)" = 0 ] || { echo "system-rootfs: must run as root" >&2; exit 1; }
  mkdir -p "$CACHE"
  exec 8>"$CACHE/rootfs.lock"
  flock 8
  if [ -f "$ROOTFS/$STAMP" ]; then
    echo "system-rootfs: $ROOTFS is up to date"
    return 0
  fi
  command -v mmdebstrap >/dev/null || { echo "system-rootfs: mmdebstrap is missing (test/harness/install-deps.sh installs it)" >&2; exit 1; }
  local t0 tmp m R
  t0=$(date +%s)
  m=$(mirror)
  tmp=$CACHE/.rootfs-$KEY.tmp
  rm -rf "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  echo "system-rootfs: building $ROOTFS ($SUITE from $m)"
  # dpkg without fsync (the rootfs is rebuilt if anything goes wrong), no docs, man pages or
  # translations: half the files, and the build is I/O-bound on a busy machine
  mmdebstrap --quiet --mode=root --variant=minbase --include="$PACKAGES" \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt=force-unsafe-io \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$tmp" "$m" 8>&-
  R=$tmp
  rm -f "$R"/etc/ssh/ssh_host_*                      # generated once by the postinst: per host instead
  : > "$R/etc/machine-id"                            # per host instead
  chroot "$R" useradd --uid 1000 --create-home --shell /bin/bash --user-group --password '*' deploy
  install -d -o 1000 -g 1000 -m 0700 "$R/home/deploy/.ssh"
  echo 'deploy ALL=(ALL) NOPASSWD: ALL' > "$R/etc/sudoers.d/deploy"
  chmod 0440 "$R/etc/sudoers.d/deploy"               # sudo ignores a sudoers file with another mode
  install -d -m 0700 "$R/root/.ssh"
  rm -f "$R"/etc/systemd/system/timers.target.wants/*.timer \
        "$R/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service" \
        "$R/etc/systemd/system/sysinit.target.wants/systemd-pstore.service"
  ln -sf /dev/null "$R/etc/systemd/system/console-getty.service"
  mkdir -p "$R/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=persistent\nSystemMaxUse=16M\nSystemMaxFileSize=2M\n' > "$R/etc/systemd/journald.conf.d/ggn-test.conf"
  mkdir -p "$R/var/log/journal"
  echo "$KEY $(date -u +%FT%TZ) $SUITE $PACKAGES" > "$R/$STAMP"
  mv "$tmp" "$ROOTFS"
  trap - EXIT
  echo "system-rootfs: built $ROOTFS in $(( $(date +%s) - t0 )) s ($(du -sm "$ROOTFS" | cut -f1) MB)"
  # older recipes' rootfs, unless a system-host cluster may be using one as its lower dir
  if [ ! -e /run/ggn-syshosts/owner.json ]; then
    for old in "$CACHE"/rootfs-*; do
      [ "$old" = "$ROOTFS" ] || [ ! -d "$old" ] || rm -rf "$old"
    done
  fi
}

case "${1:-}" in
  path) echo "$ROOTFS" ;;
  build) build ;;
  *) echo "usage: $0 path|build" >&2; exit 2 ;;
esac
