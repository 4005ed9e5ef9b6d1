#!/usr/bin/env bash
# The host's base: packages the later steps need and unattended security updates.
# Idempotent: run again on every apply whose inputs changed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

. /etc/os-release
if [ "${ID}" != "ubuntu" ]; then
  echo "TinyWorld's Hetzner profile expects Ubuntu (found ${ID} ${VERSION_ID})" >&2
  exit 1
fi

apt-get update -q
apt-get install -y -q --no-install-recommends \
  ca-certificates curl gnupg pciutils ufw unattended-upgrades apt-transport-https
# Security updates only; a kernel update waits for a reboot the operator chooses.
dpkg-reconfigure -f noninteractive unattended-upgrades

# The kubelet refuses to start with swap on unless told otherwise; k3s on a 64 GB host needs none.
swapoff -a
sed -i.bak -E 's@^([^#].*[[:space:]]swap[[:space:]].*)$@# \1@' /etc/fstab
