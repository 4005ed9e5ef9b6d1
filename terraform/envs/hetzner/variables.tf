variable "server_address" {
  description = "Public IPv4 address (or DNS name) of the Hetzner dedicated GPU server."
  type        = string
}

variable "ssh_user" {
  description = "SSH user on the server (root on a fresh Hetzner installimage)."
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
  default     = "~/.ssh/id_ed25519"
}

variable "ssh_host_key" {
  description = "The server's SSH host public key ('ssh-ed25519 AAAA...'), from `ssh-keyscan -t ed25519 <address>`."
  type        = string
}

variable "admin_cidrs" {
  description = "Networks (CIDR) allowed to reach SSH and the Kubernetes API; everything else inbound is dropped."
  type        = list(string)
}

variable "kubeconfig_path" {
  description = "Where the k3s cluster's kubeconfig is written on this machine."
  type        = string
  default     = "~/.kube/tinyworld-hetzner.yaml"
}

variable "image" {
  description = "TinyWorld's image in a registry the server can pull from (the CUDA variant); an empty tag keeps the chart's default."
  type = object({
    repository = string
    tag        = string
  })
  default = {
    repository = ""
    tag        = ""
  }
}
