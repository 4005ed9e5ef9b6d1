variable "server_address" {
  description = "Public IPv4 address (or DNS name) of the existing Hetzner dedicated server."
  type        = string
}

variable "ssh_user" {
  description = "SSH user on the server; commands run through sudo unless it is root."
  type        = string
  default     = "root"
}

variable "ssh_port" {
  description = "SSH port of the server."
  type        = number
  default     = 22
}

variable "ssh_private_key_path" {
  description = "Path of the SSH private key that logs in as ssh_user."
  type        = string
}

variable "ssh_host_key" {
  description = "The server's SSH host public key (one line of `ssh-keyscan -t ed25519 <address>`, without the host name), so that no connection trusts an unknown host."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+$", var.ssh_host_key))
    error_message = "ssh_host_key must be '<key type> <base64 key>'."
  }
}

variable "admin_cidrs" {
  description = "Networks (CIDR) allowed to reach SSH and the Kubernetes API through the host firewall; every other inbound connection is dropped."
  type        = list(string)

  validation {
    condition     = length(var.admin_cidrs) > 0 && alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0))])
    error_message = "admin_cidrs must be a non-empty list of CIDR blocks."
  }
}

variable "k3s_version" {
  description = "k3s release to install (terraform/versions.json k3s)."
  type        = string
}

variable "nvidia_driver_branch" {
  description = "NVIDIA driver branch installed from Ubuntu's packages (terraform/versions.json nvidia.driver_branch)."
  type        = string
}

variable "nvidia_container_toolkit_version" {
  description = "Debian package version of the NVIDIA Container Toolkit (terraform/versions.json nvidia.container_toolkit)."
  type        = string
}

variable "device_plugin_chart" {
  description = "Helm chart of the NVIDIA device plugin that k3s installs (terraform/versions.json charts.nvidia_device_plugin)."
  type = object({
    repository = string
    chart      = string
    version    = string
  })
}

variable "pod_cidr" {
  description = "Pod network of the k3s cluster (also opened in the host firewall)."
  type        = string
  default     = "10.42.0.0/16"
}

variable "service_cidr" {
  description = "Service network of the k3s cluster (also opened in the host firewall)."
  type        = string
  default     = "10.43.0.0/16"
}

variable "kubeconfig_path" {
  description = "Local file the cluster's kubeconfig is written to, its server set to server_address."
  type        = string
}
