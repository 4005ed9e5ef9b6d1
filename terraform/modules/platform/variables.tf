variable "environment_file" {
  description = "The cluster environment's settings (platform/environments/<env>.yaml): the in-cluster hosts of Redis and the object store, and the bucket, are read from it so they are written once."
  type        = string

  validation {
    condition     = fileexists(var.environment_file)
    error_message = "environment_file must name an existing platform/environments/<env>.yaml."
  }
}

variable "kubeconfig_path" {
  description = "kubeconfig of the cluster, for the kubectl commands that install Kubeflow Pipelines."
  type        = string
}

variable "kube_context" {
  description = "kubectl context in kubeconfig_path."
  type        = string
}

variable "cluster_ready" {
  description = "Any value known only once the cluster exists (its module's kubeconfig output): the releases wait for it."
  type        = string
}

variable "charts" {
  description = "Pinned upstream Helm charts by component (terraform/versions.json charts)."
  type = map(object({
    repository = string
    chart      = string
    version    = string
  }))

  validation {
    condition = alltrue([
      for k in ["kuberay_operator", "spark_operator", "kubeflow_trainer", "valkey", "minio", "kube_prometheus_stack"] :
      contains(keys(var.charts), k)
    ])
    error_message = "charts must pin kuberay_operator, spark_operator, kubeflow_trainer, valkey, minio and kube_prometheus_stack."
  }
}

variable "kfp_version" {
  description = "Kubeflow Pipelines release whose standalone kustomize manifests are applied (terraform/versions.json kfp)."
  type        = string
}

variable "profile" {
  description = "Sizes and resources of the upstream components for this environment (terraform/profiles/<env>.json)."
  type = object({
    object_store_size       = string
    redis_storage_size      = string
    redis_maxmemory         = string
    prometheus_retention    = string
    prometheus_storage_size = string
    resources = map(object({
      requests = object({ cpu = string, memory = string })
      limits   = object({ cpu = string, memory = string })
    }))
  })
}

variable "chart_path" {
  description = "Path of TinyWorld's own chart (charts/tinyworld), installed from the working tree."
  type        = string
}

variable "chart_values_files" {
  description = "Values files of TinyWorld's chart for this environment, in order (charts/tinyworld/ci/<env>-values.yaml)."
  type        = list(string)
}

variable "image" {
  description = "TinyWorld's image for the chart; an empty tag keeps the chart's default."
  type = object({
    repository = string
    tag        = string
  })
  default = {
    repository = ""
    tag        = ""
  }
}

variable "helm_timeout" {
  description = "Seconds each Helm release may take to become ready."
  type        = number
  default     = 900
}
