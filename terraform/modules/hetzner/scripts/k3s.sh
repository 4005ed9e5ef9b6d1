#!/usr/bin/env bash
# k3s, a single-node server at a pinned version, from the install script of that same release.
# Traefik is left out (the platform is reached with kubectl port-forward); Secrets are encrypted at
# rest; the kubeconfig is readable by root only.
# Inputs (environment): K3S_VERSION (e.g. v1.35.5+k3s1), TLS_SAN (the address kubectl uses),
# POD_CIDR, SERVICE_CIDR.
set -euo pipefail
: "${K3S_VERSION:?}" "${TLS_SAN:?}" "${POD_CIDR:?}" "${SERVICE_CIDR:?}"

if command -v k3s >/dev/null && k3s --version | grep -q "${K3S_VERSION}"; then
  echo "k3s ${K3S_VERSION} is installed"
else
  installer=$(mktemp)
  curl -fsSL "https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION}/install.sh" -o "${installer}"
  INSTALL_K3S_VERSION="${K3S_VERSION}" sh "${installer}" server \
    --disable traefik \
    --secrets-encryption \
    --write-kubeconfig-mode 0600 \
    --tls-san "${TLS_SAN}" \
    --cluster-cidr "${POD_CIDR}" \
    --service-cidr "${SERVICE_CIDR}"
  rm -f "${installer}"
fi

# Wait for the node to be Ready before anything is applied to it.
for _ in $(seq 1 60); do
  if k3s kubectl get nodes 2>/dev/null | grep -q ' Ready'; then
    k3s kubectl get nodes -o wide
    exit 0
  fi
  sleep 5
done
echo "k3s node not Ready after 5 minutes" >&2
exit 1
