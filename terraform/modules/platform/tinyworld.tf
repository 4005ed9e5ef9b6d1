# TinyWorld's own chart from the working tree, with the environment's values file, once every
# operator and service it relies on is ready.

resource "helm_release" "tinyworld" {
  name      = "tinyworld"
  namespace = kubernetes_namespace_v1.this["tinyworld"].metadata[0].name
  chart     = var.chart_path
  timeout   = var.helm_timeout
  wait      = true

  values = concat(
    [for f in var.chart_values_files : file(f)],
    var.image.repository == "" ? [] : [yamlencode({ image = { for k, v in var.image : k => v if v != "" } })],
  )

  depends_on = [
    helm_release.kuberay_operator,
    helm_release.spark_operator,
    helm_release.kubeflow_trainer,
    helm_release.redis,
    helm_release.object_store,
    terraform_data.kubeflow_pipelines,
    kubernetes_secret_v1.runtime,
  ]
}
