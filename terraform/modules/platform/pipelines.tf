# Kubeflow Pipelines, standalone. KFP ships as kustomize manifests, not as a Helm chart: the
# cluster-scoped resources (CRDs), then the platform-agnostic environment, applied with kubectl at
# the pinned release and deleted the same way on destroy.

locals {
  kfp_manifests = "github.com/kubeflow/pipelines/manifests/kustomize"
}

resource "terraform_data" "kubeflow_pipelines" {
  input = {
    version    = var.kfp_version
    kubeconfig = var.kubeconfig_path
    context    = var.kube_context
    cluster    = "${local.kfp_manifests}/cluster-scoped-resources?ref=${var.kfp_version}"
    env        = "${local.kfp_manifests}/env/platform-agnostic?ref=${var.kfp_version}"
  }

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-euo", "pipefail", "-c"]
    command     = <<-EOT
      k() { kubectl --kubeconfig "$KUBECONFIG_PATH" --context "$CONTEXT" "$@"; }
      k apply -k "$CLUSTER_SCOPED"
      k wait --for condition=established --timeout=120s crd/applications.app.k8s.io
      k apply -k "$ENVIRONMENT"
      k -n kubeflow wait deployment --all --for=condition=Available --timeout=900s
    EOT
    environment = {
      KUBECONFIG_PATH = self.input.kubeconfig
      CONTEXT         = self.input.context
      CLUSTER_SCOPED  = self.input.cluster
      ENVIRONMENT     = self.input.env
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/bash", "-euo", "pipefail", "-c"]
    command     = <<-EOT
      k() { kubectl --kubeconfig "$KUBECONFIG_PATH" --context "$CONTEXT" "$@"; }
      k delete --ignore-not-found -k "$ENVIRONMENT" || true
      k delete --ignore-not-found -k "$CLUSTER_SCOPED" || true
    EOT
    environment = {
      KUBECONFIG_PATH = self.input.kubeconfig
      CONTEXT         = self.input.context
      CLUSTER_SCOPED  = self.input.cluster
      ENVIRONMENT     = self.input.env
    }
  }

  depends_on = [terraform_data.cluster_ready]
}
