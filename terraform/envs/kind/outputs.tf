output "kubeconfig_path" {
  description = "kubeconfig of the kind cluster: `export KUBECONFIG=$(terraform output -raw kubeconfig_path)`."
  value       = module.cluster.kubeconfig_path
}

output "kube_context" {
  description = "kubectl context of the kind cluster."
  value       = module.cluster.kube_context
}

output "cluster_name" {
  description = "Name of the kind cluster (for `kind load docker-image --name`)."
  value       = module.cluster.cluster_name
}

output "namespace" {
  description = "Namespace of TinyWorld's workloads."
  value       = module.platform.namespace
}

output "kfp_endpoint" {
  description = "In-cluster URL of the Kubeflow Pipelines API."
  value       = module.platform.kfp_endpoint
}

output "secret_names" {
  description = "Secrets TinyWorld's chart references."
  value       = module.platform.secret_names
}

output "grafana_admin_password" {
  description = "Grafana's admin password (`terraform output -raw grafana_admin_password`)."
  value       = module.platform.grafana_admin_password
  sensitive   = true
}
