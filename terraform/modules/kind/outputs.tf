output "cluster_name" {
  description = "Name of the kind cluster (from the configuration file)."
  value       = terraform_data.cluster.output.name
}

output "kubeconfig_path" {
  description = "Path of the kubeconfig written for the cluster; the helm and kubernetes providers read it."
  value       = terraform_data.cluster.output.kubeconfig
}

output "kube_context" {
  description = "kubectl context of the cluster in that kubeconfig."
  value       = local.context
}
