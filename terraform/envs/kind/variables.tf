variable "kubeconfig_path" {
  description = "Where the kind cluster's kubeconfig is written (kept apart from ~/.kube/config)."
  type        = string
  default     = "~/.kube/tinyworld-kind.yaml"
}

variable "image" {
  description = "TinyWorld's image, as `make image` built and loaded it into kind; an empty tag keeps the chart's default."
  type = object({
    repository = string
    tag        = string
  })
  default = {
    repository = ""
    tag        = ""
  }
}
