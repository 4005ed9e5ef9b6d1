variable "config_path" {
  description = "Path of the kind cluster configuration (platform/kind/cluster.yaml); the cluster takes its name from it."
  type        = string

  validation {
    condition     = fileexists(var.config_path)
    error_message = "config_path must name an existing kind configuration file."
  }
}

variable "node_image" {
  description = "kindest/node image, pinned by digest to one built for the kind release in use (terraform/versions.json kind.node_image)."
  type        = string

  validation {
    condition     = can(regex("^kindest/node:v[0-9.]+@sha256:[0-9a-f]{64}$", var.node_image))
    error_message = "node_image must be kindest/node:<version>@sha256:<digest>."
  }
}

variable "kind_version" {
  description = "Release of the kind CLI the node image is built for (terraform/versions.json kind.cli); creating the cluster fails with another."
  type        = string
}

variable "kubeconfig_path" {
  description = "File the cluster's kubeconfig is written to (kept apart from ~/.kube/config)."
  type        = string
}

variable "wait" {
  description = "How long `kind create cluster` waits for the control plane to be ready (a Go duration)."
  type        = string
  default     = "300s"
}
