# TinyWorld on a kind cluster on this machine: `make deploy CLUSTER=kind`.
# Versions come from terraform/versions.json, component sizes from terraform/profiles/kind.json,
# the cluster from platform/kind/cluster.yaml and in-cluster names from
# platform/environments/kind.yaml: this file only wires them together.

locals {
  repo_root = abspath("${path.root}/../../..")
  versions  = jsondecode(file("${path.root}/../../versions.json"))
  profile   = jsondecode(file("${path.root}/../../profiles/kind.json"))
}

module "cluster" {
  source = "../../modules/kind"

  config_path     = "${local.repo_root}/platform/kind/cluster.yaml"
  node_image      = local.versions.kind.node_image
  kind_version    = local.versions.kind.cli
  kubeconfig_path = var.kubeconfig_path
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

  environment_file   = "${local.repo_root}/platform/environments/kind.yaml"
  kubeconfig_path    = module.cluster.kubeconfig_path
  kube_context       = module.cluster.kube_context
  cluster_ready      = module.cluster.kubeconfig_path
  charts             = local.versions.charts
  kfp_version        = local.versions.kfp
  profile            = local.profile
  chart_path         = "${local.repo_root}/charts/tinyworld"
  chart_values_files = ["${local.repo_root}/charts/tinyworld/ci/kind-values.yaml"]
  image              = var.image
}
