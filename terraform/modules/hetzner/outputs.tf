output "kubeconfig_path" {
  description = "Path of the kubeconfig fetched from the server; the helm and kubernetes providers read it."
  value       = terraform_data.kubeconfig.output.path
}

output "kube_context" {
  description = "kubectl context in that kubeconfig (k3s names it `default`)."
  value       = "default"
}

output "api_server" {
  description = "URL of the cluster's Kubernetes API, reachable from admin_cidrs only."
  value       = "https://${var.server_address}:6443"
}
