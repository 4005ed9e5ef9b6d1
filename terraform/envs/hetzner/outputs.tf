output "kubeconfig_path" {
  description = "kubeconfig of the k3s cluster: `export KUBECONFIG=$(terraform output -raw kubeconfig_path)`."
  value       = module.cluster.kubeconfig_path
}

output "kube_context" {
  description = "kubectl context of the k3s cluster."
  value       = module.cluster.kube_context
}

output "api_server" {
  description = "URL of the cluster's Kubernetes API (reachable from admin_cidrs only)."
  value       = module.cluster.api_server
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
