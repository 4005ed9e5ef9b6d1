output "namespace" {
  description = "Namespace of TinyWorld's workloads, Redis and the object store."
  value       = local.namespace
}

output "namespaces" {
  description = "Every namespace the platform created, by role."
  value       = local.namespaces
}

output "secret_names" {
  description = "Secrets TinyWorld's chart references (runtime: TINYWORLD_REDIS_URL and the AWS_* pair, for envFrom)."
  value       = local.secret_names
}

output "redis_url" {
  description = "In-cluster URL of the online store, without credentials (those are in the runtime Secret)."
  value       = local.environment.redis_url
}

output "s3_endpoint_url" {
  description = "In-cluster URL of the object store."
  value       = local.environment.s3_endpoint_url
}

output "bucket" {
  description = "Bucket holding the lake, the artifacts and the registry."
  value       = local.bucket
}

output "kfp_endpoint" {
  description = "In-cluster URL of the Kubeflow Pipelines API, where the chart's job uploads the pipelines."
  value       = "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
}

output "grafana_dashboard_label" {
  description = "Label (key and value) that makes Grafana load a dashboard ConfigMap."
  value       = local.dashboard_label
}

output "grafana_admin_password" {
  description = "Grafana's admin password (also in the grafana-admin Secret of the monitoring namespace)."
  value       = random_password.grafana.result
  sensitive   = true
}
