#!/bin/sh
# Installs what the integration-test cluster harness (test/harness) needs. Idempotent; run as root.
# Debian 12: openssh-server/-client (sshd + ssh), systemd (systemd --user, systemctl; openssh-server
# only recommends it), nftables (nft, for partition()), etcd-server/-client (etcd, etcdctl).
# util-linux (unshare, setpriv, nsenter), iproute2 (ss) and passwd (useradd) are in the base system.
set -eu
PKGS="openssh-server openssh-client systemd nftables etcd-server etcd-client"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all present ($PKGS)"
  exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y $PKGS
