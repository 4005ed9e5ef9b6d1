#!/usr/bin/env bash
# NVIDIA driver (a pinned server branch, open kernel modules: the RTX A6000 is Ampere) and the
# NVIDIA Container Toolkit, pinned. k3s finds nvidia-container-runtime when it starts and adds it
# to its containerd as the `nvidia` runtime, so this runs before k3s.sh.
# Inputs (environment): DRIVER_BRANCH (e.g. 580), TOOLKIT_VERSION (e.g. 1.17.8-1).
set -euo pipefail
: "${DRIVER_BRANCH:?}" "${TOOLKIT_VERSION:?}"
export DEBIAN_FRONTEND=noninteractive

if ! lspci | grep -qi nvidia; then
  echo "no NVIDIA device on this host" >&2
  exit 1
fi

apt-get install -y -q --no-install-recommends \
  "nvidia-headless-${DRIVER_BRANCH}-server-open" "nvidia-utils-${DRIVER_BRANCH}-server"

keyring=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
if [ ! -s "${keyring}" ]; then
  curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor -o "${keyring}"
fi
curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \
  | sed "s#deb https://#deb [signed-by=${keyring}] https://#g" \
  > /etc/apt/sources.list.d/nvidia-container-toolkit.list
apt-get update -q
apt-get install -y -q --no-install-recommends --allow-downgrades \
  "nvidia-container-toolkit=${TOOLKIT_VERSION}" \
  "nvidia-container-toolkit-base=${TOOLKIT_VERSION}" \
  "libnvidia-container-tools=${TOOLKIT_VERSION}" \
  "libnvidia-container1=${TOOLKIT_VERSION}"
apt-mark hold nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1

# The driver's kernel module loads after a reboot; the module's reboot step checks this file.
if [ -e /proc/driver/nvidia/version ]; then
  echo "driver loaded: $(head -n1 /proc/driver/nvidia/version)"
else
  echo "driver installed; a reboot loads it"
fi
