#!/usr/bin/env bash
# Host firewall (ufw): deny every inbound connection except SSH and the Kubernetes API from the
# operators' networks, and the cluster's own pod and service ranges.
# Inputs (environment): ADMIN_CIDRS (space-separated), SSH_PORT, POD_CIDR, SERVICE_CIDR.
set -euo pipefail
: "${ADMIN_CIDRS:?}" "${SSH_PORT:?}" "${POD_CIDR:?}" "${SERVICE_CIDR:?}"

ufw --force reset >/dev/null
ufw default deny incoming
ufw default allow outgoing
ufw default allow routed   # pod-to-pod traffic forwarded by flannel
for cidr in ${ADMIN_CIDRS}; do
  ufw allow proto tcp from "${cidr}" to any port "${SSH_PORT}" comment 'ssh (operators)'
  ufw allow proto tcp from "${cidr}" to any port 6443 comment 'kubernetes api (operators)'
done
ufw allow from "${POD_CIDR}" comment 'k3s pods'
ufw allow from "${SERVICE_CIDR}" comment 'k3s services'
ufw --force enable
ufw status verbose
