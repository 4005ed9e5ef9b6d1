# The platform's upstream services on any Kubernetes cluster, then TinyWorld's own chart.
#
# Upstream services are pinned Helm releases (versions from terraform/versions.json, sizes from
# terraform/profiles/<env>.json); Kubeflow Pipelines, which ships as kustomize manifests, is
# applied with kubectl at a pinned release. In-cluster names that TinyWorld's settings use (Redis,
# the object store, the bucket) are read from the environment file, never written here again.

locals {
  environment = yamldecode(file(var.environment_file))

  # redis://<service>.<namespace>.svc.cluster.local:<port>/<db>
  redis_host  = regex("^redis://([^:/]+)", local.environment.redis_url)[0]
  redis_port  = tonumber(regex(":([0-9]+)", local.environment.redis_url)[0])
  redis_name  = split(".", local.redis_host)[0]
  redis_space = split(".", local.redis_host)[1]

  # http://<service>.<namespace>.svc.cluster.local:<port>
  s3_host  = regex("^https?://([^:/]+)", local.environment.s3_endpoint_url)[0]
  s3_port  = tonumber(regex(":([0-9]+)$", local.environment.s3_endpoint_url)[0])
  s3_name  = split(".", local.s3_host)[0]
  s3_space = split(".", local.s3_host)[1]

  # s3://<bucket>/lake
  bucket = regex("^s3://([^/]+)", local.environment.lake_root)[0]

  namespace = local.redis_space
  namespaces = {
    tinyworld  = local.namespace
    ray        = "ray-system"
    spark      = "spark-operator"
    trainer    = "kubeflow-system"
    monitoring = "monitoring"
  }

  # Secrets TinyWorld's chart references by name (it never holds their values).
  secret_names = {
    runtime       = "tinyworld-runtime"
    redis_users   = "tinyworld-redis-users"
    object_store  = "tinyworld-object-store-root"
    grafana_admin = "grafana-admin"
  }

  # Keys of the Grafana admin Secret (kube-prometheus-stack's grafana.admin.userKey and passwordKey).
  grafana_admin_fields = { user = "admin-user", login = "admin-password" }

  # The label kube-prometheus-stack's Grafana sidecar watches for dashboard ConfigMaps.
  dashboard_label = { key = "grafana_dashboard", value = "1" }

  res = var.profile.resources
}

resource "kubernetes_namespace_v1" "this" {
  for_each = local.namespaces

  metadata {
    name = each.value
    labels = {
      "app.kubernetes.io/part-of" = "tinyworld"
      # Pod Security Admission: baseline enforced everywhere but monitoring (node-exporter reads
      # the host), and a warning for anything short of restricted.
      "pod-security.kubernetes.io/enforce" = each.key == "monitoring" ? "privileged" : "baseline"
      "pod-security.kubernetes.io/warn"    = "restricted"
      "pod-security.kubernetes.io/audit"   = "restricted"
    }
  }

  # The namespaces wait for the cluster.
  depends_on = [terraform_data.cluster_ready]
}

resource "terraform_data" "cluster_ready" {
  input = var.cluster_ready
}
