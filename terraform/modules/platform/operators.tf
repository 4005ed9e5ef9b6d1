# The operators TinyWorld's workloads are custom resources of: KubeRay (the recommender's
# RayService), the Spark Operator (the nightly ETL's SparkApplication) and Kubeflow Trainer (the
# training TrainJob). Each watches TinyWorld's namespace.

resource "helm_release" "kuberay_operator" {
  name       = "kuberay-operator"
  namespace  = kubernetes_namespace_v1.this["ray"].metadata[0].name
  repository = var.charts.kuberay_operator.repository
  chart      = var.charts.kuberay_operator.chart
  version    = var.charts.kuberay_operator.version
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode({
    resources = local.res.kuberay_operator
    metrics = {
      enabled        = true
      serviceMonitor = { enabled = true }
    }
  })]

  depends_on = [helm_release.kube_prometheus_stack]
}

resource "helm_release" "spark_operator" {
  name       = "spark-operator"
  namespace  = kubernetes_namespace_v1.this["spark"].metadata[0].name
  repository = var.charts.spark_operator.repository
  chart      = var.charts.spark_operator.chart
  version    = var.charts.spark_operator.version
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode({
    controller = {
      resources = local.res.spark_operator_controller
      securityContext = {
        runAsNonRoot             = true
        allowPrivilegeEscalation = false
        capabilities             = { drop = ["ALL"] }
        seccompProfile           = { type = "RuntimeDefault" }
      }
    }
    webhook = {
      resources = local.res.spark_operator_webhook
      securityContext = {
        runAsNonRoot             = true
        allowPrivilegeEscalation = false
        capabilities             = { drop = ["ALL"] }
        seccompProfile           = { type = "RuntimeDefault" }
      }
    }
    spark = {
      # SparkApplications run in TinyWorld's namespace only; the chart creates the driver's
      # ServiceAccount and RBAC there.
      jobNamespaces = [local.namespace]
    }
    prometheus = {
      podMonitor = { create = true }
    }
  })]

  depends_on = [helm_release.kube_prometheus_stack, kubernetes_namespace_v1.this]
}

resource "helm_release" "kubeflow_trainer" {
  name       = "kubeflow-trainer"
  namespace  = kubernetes_namespace_v1.this["trainer"].metadata[0].name
  repository = var.charts.kubeflow_trainer.repository
  chart      = var.charts.kubeflow_trainer.chart
  version    = var.charts.kubeflow_trainer.version
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode({
    manager = {
      resources = local.res.trainer_manager
    }
    runtimes = {
      # torch-distributed: the runtime the training step's TrainJob refers to (torchrun, one
      # code path with the local run).
      torchDistributed = { enabled = true }
    }
  })]

  depends_on = [helm_release.kube_prometheus_stack]
}
