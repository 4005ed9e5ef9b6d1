# An existing Hetzner dedicated GPU server, made a one-node k3s cluster over SSH.
#
# Steps, each a terraform_data whose provisioners run the scripts in scripts/ (kept as plain files,
# readable and runnable by hand): base packages and updates; the host firewall; the NVIDIA driver
# and container toolkit; a reboot when the driver is not loaded yet; k3s; the `nvidia`
# RuntimeClass and device plugin (manifests k3s applies itself); the kubeconfig, fetched back.
# A step runs again when its script or inputs change (triggers_replace). Only Terraform's built-in
# terraform_data is used, so this module plans and validates with no provider.

locals {
  sudo            = var.ssh_user == "root" ? "" : "sudo "
  remote_dir      = "/tmp/tinyworld-bootstrap"
  kubeconfig      = pathexpand(var.kubeconfig_path)
  scripts_sha256  = sha256(join("", [for f in sort(fileset("${path.module}/scripts", "*.sh")) : filesha256("${path.module}/scripts/${f}")]))
  known_hosts     = "${var.server_address} ${var.ssh_host_key}"
  device_plugin   = templatefile("${path.module}/manifests/nvidia.yaml.tftpl", var.device_plugin_chart)
  ssh_private_key = file(pathexpand(var.ssh_private_key_path))
}

resource "terraform_data" "base" {
  triggers_replace = {
    scripts     = local.scripts_sha256
    admin_cidrs = join(" ", var.admin_cidrs)
    networks    = "${var.pod_cidr} ${var.service_cidr}"
  }

  connection {
    type        = "ssh"
    host        = var.server_address
    port        = var.ssh_port
    user        = var.ssh_user
    private_key = local.ssh_private_key
    host_key    = var.ssh_host_key
    timeout     = "5m"
  }

  provisioner "remote-exec" {
    inline = ["mkdir -p ${local.remote_dir}"]
  }

  provisioner "file" {
    source      = "${path.module}/scripts/"
    destination = local.remote_dir
  }

  provisioner "remote-exec" {
    inline = [
      "${local.sudo}bash ${local.remote_dir}/base.sh",
      "${local.sudo}env ADMIN_CIDRS='${join(" ", var.admin_cidrs)}' SSH_PORT='${var.ssh_port}' POD_CIDR='${var.pod_cidr}' SERVICE_CIDR='${var.service_cidr}' bash ${local.remote_dir}/firewall.sh",
    ]
  }
}

resource "terraform_data" "nvidia" {
  triggers_replace = {
    base    = terraform_data.base.id
    driver  = var.nvidia_driver_branch
    toolkit = var.nvidia_container_toolkit_version
  }

  connection {
    type        = "ssh"
    host        = var.server_address
    port        = var.ssh_port
    user        = var.ssh_user
    private_key = local.ssh_private_key
    host_key    = var.ssh_host_key
    timeout     = "5m"
  }

  provisioner "remote-exec" {
    inline = [
      "${local.sudo}env DRIVER_BRANCH='${var.nvidia_driver_branch}' TOOLKIT_VERSION='${var.nvidia_container_toolkit_version}' bash ${local.remote_dir}/nvidia.sh",
    ]
  }
}

# A new driver's kernel module loads after a reboot. This step reboots only when the module is not
# loaded, waits for SSH to come back, and fails unless nvidia-smi then sees the GPU.
resource "terraform_data" "driver_loaded" {
  triggers_replace = {
    nvidia = terraform_data.nvidia.id
  }

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-euo", "pipefail", "-c"]
    command     = <<-EOT
      known_hosts=$(mktemp); trap 'rm -f "$known_hosts"' EXIT
      printf '%s\n' "$KNOWN_HOSTS" > "$known_hosts"
      ssh_() { ssh -i "$KEY" -p "$PORT" -o BatchMode=yes -o ConnectTimeout=10 \
        -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$known_hosts" "$USER_AT" "$@"; }
      if ! ssh_ test -e /proc/driver/nvidia/version; then
        echo "rebooting $HOST to load the NVIDIA driver"
        ssh_ "$SUDO systemctl reboot" || true
        sleep 30
        for _ in $(seq 1 60); do ssh_ true && break; sleep 10; done
      fi
      ssh_ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    EOT
    environment = {
      HOST        = var.server_address
      USER_AT     = "${var.ssh_user}@${var.server_address}"
      PORT        = tostring(var.ssh_port)
      KEY         = pathexpand(var.ssh_private_key_path)
      KNOWN_HOSTS = local.known_hosts
      SUDO        = local.sudo
    }
  }
}

resource "terraform_data" "k3s" {
  triggers_replace = {
    driver  = terraform_data.driver_loaded.id
    version = var.k3s_version
    plugin  = sha256(local.device_plugin)
  }

  connection {
    type        = "ssh"
    host        = var.server_address
    port        = var.ssh_port
    user        = var.ssh_user
    private_key = local.ssh_private_key
    host_key    = var.ssh_host_key
    timeout     = "5m"
  }

  provisioner "remote-exec" {
    inline = [
      "${local.sudo}env K3S_VERSION='${var.k3s_version}' TLS_SAN='${var.server_address}' POD_CIDR='${var.pod_cidr}' SERVICE_CIDR='${var.service_cidr}' bash ${local.remote_dir}/k3s.sh",
    ]
  }

  provisioner "file" {
    content     = local.device_plugin
    destination = "${local.remote_dir}/nvidia.yaml"
  }

  provisioner "remote-exec" {
    inline = [
      "${local.sudo}install -m 0600 ${local.remote_dir}/nvidia.yaml /var/lib/rancher/k3s/server/manifests/nvidia.yaml",
    ]
  }
}

# The kubeconfig k3s wrote on the server, fetched to this machine with its server address set to
# the public one (which the API certificate names through --tls-san).
resource "terraform_data" "kubeconfig" {
  triggers_replace = {
    k3s = terraform_data.k3s.id
  }

  input = {
    path = local.kubeconfig
  }

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-euo", "pipefail", "-c"]
    command     = <<-EOT
      known_hosts=$(mktemp); trap 'rm -f "$known_hosts"' EXIT
      printf '%s\n' "$KNOWN_HOSTS" > "$known_hosts"
      mkdir -p "$(dirname "$KUBECONFIG_PATH")"
      umask 077
      ssh -i "$KEY" -p "$PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="$known_hosts" "$USER_AT" "$SUDO cat /etc/rancher/k3s/k3s.yaml" \
        | sed "s#https://127.0.0.1:6443#https://$HOST:6443#" > "$KUBECONFIG_PATH"
    EOT
    environment = {
      HOST            = var.server_address
      USER_AT         = "${var.ssh_user}@${var.server_address}"
      PORT            = tostring(var.ssh_port)
      KEY             = pathexpand(var.ssh_private_key_path)
      KNOWN_HOSTS     = local.known_hosts
      SUDO            = local.sudo
      KUBECONFIG_PATH = local.kubeconfig
    }
  }
}
