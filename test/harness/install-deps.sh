#!/bin/sh
# Installs what the integration-test harnesses (test/harness) need. Idempotent; run as root.
# Debian 12: openssh-server/-client (sshd + ssh), systemd (systemd --user, systemctl; openssh-server
# only recommends it), nftables (nft, for partition()), etcd-server/-client (etcd, etcdctl),
# systemd-container (systemd-nspawn) and mmdebstrap for the system-scope hosts (system-hosts.ts),
# whose shared root filesystem it then builds once (system-rootfs.sh; cached in /var/cache/ggn-test).
# haproxy and socat for the zero-downtime rollout tests and bench (test/support/zdt.ts: one HAProxy
# per test host, run as a user unit, driven through its runtime API with socat).
# util-linux (unshare, setpriv, nsenter), iproute2 (ss) and passwd (useradd) are in the base system.
set -eu
PKGS="openssh-server openssh-client systemd nftables etcd-server etcd-client systemd-container mmdebstrap haproxy socat"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all present ($PKGS)"
else
  echo "install-deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  # --no-install-recommends: systemd-container recommends libnss-mymachines, which would add
  # `mymachines` to this machine's /etc/nsswitch.conf; mmdebstrap's recommends are not needed
  # in root mode.
  apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 $PKGS
fi
# the system-scope hosts' rootfs (once per machine; GGN_SKIP_SYSTEM_ROOTFS=1 for callers that only
# need the user-scope cluster, such as `npm run demo`)
if [ -z "${GGN_SKIP_SYSTEM_ROOTFS:-}" ]; then
  bash "$(dirname "$0")/system-rootfs.sh" build
fi
