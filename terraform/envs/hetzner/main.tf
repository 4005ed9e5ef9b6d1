# TinyWorld on an existing Hetzner dedicated GPU server (64 GB, RTX A6000): `make deploy
# CLUSTER=hetzner`. The server is made a one-node k3s cluster with the GPU visible to
# Kubernetes, then the platform is installed on it. Versions come from terraform/versions.json,
# component sizes from terraform/profiles/hetzner.json, in-cluster names from
# platform/environments/hetzner.yaml. Server-specific inputs go in terraform.tfvars
# (terraform.tfvars.example lists them).

locals {
  repo_root = abspath("${path.root}/../../..")
  versions  = jsondecode(file("${path.root}/../../versions.json"))
  profile   = jsondecode(file("${path.root}/../../profiles/hetzner.json"))
}

module "cluster" {
  source = "../../modules/hetzner"

  server_address                   = var.server_address
  ssh_user                         = var.ssh_user
  ssh_port                         = var.ssh_port
  ssh_private_key_path             = var.ssh_private_key_path
  ssh_host_key                     = var.ssh_host_key
  admin_cidrs                      = var.admin_cidrs
  k3s_version                      = local.versions.k3s
  nvidia_driver_branch             = local.versions.nvidia.driver_branch
  nvidia_container_toolkit_version = local.versions.nvidia.container_toolkit
  device_plugin_chart              = local.versions.charts.nvidia_device_plugin
  kubeconfig_path                  = var.kubeconfig_path
}

provider "kubernetes" {
  config_path    = module.cluster.kubeconfig_path
  config_context = module.cluster.kube_context
}

provider "helm" {
  kubernetes = {
    config_path    = module.cluster.kubeconfig_path
    config_context = module.cluster.kube_context
  }
}

module "platform" {
  source = "../../modules/platform"

  environment_file   = "${local.repo_root}/platform/environments/hetzner.yaml"
  kubeconfig_path    = module.cluster.kubeconfig_path
  kube_context       = module.cluster.kube_context
  cluster_ready      = module.cluster.kubeconfig_path
  charts             = local.versions.charts
  kfp_version        = local.versions.kfp
  profile            = local.profile
  chart_path         = "${local.repo_root}/charts/tinyworld"
  chart_values_files = ["${local.repo_root}/charts/tinyworld/ci/hetzner-values.yaml"]
  image              = var.image
}
