# The online store (Redis protocol, served by Valkey) and the S3-compatible object store (MinIO)
# in TinyWorld's namespace, named after the hosts in the environment file.

resource "helm_release" "redis" {
  name       = "redis"
  namespace  = kubernetes_namespace_v1.this["tinyworld"].metadata[0].name
  repository = var.charts.valkey.repository
  chart      = var.charts.valkey.chart
  version    = var.charts.valkey.version
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode({
    fullnameOverride = local.redis_name
    service          = { port = local.redis_port }
    auth = {
      enabled             = true
      usersExistingSecret = kubernetes_secret_v1.redis_users.metadata[0].name
      aclUsers = {
        default = { permissions = "~* &* +@all" }
      }
    }
    # Feast's online store is a cache of the offline tables: bounded memory, LRU eviction, and an
    # append-only file so a restart does not wait for a full materialisation.
    valkeyConfig = <<-EOT
      maxmemory ${var.profile.redis_maxmemory}
      maxmemory-policy allkeys-lru
      appendonly yes
    EOT
    dataStorage = {
      enabled       = true
      requestedSize = var.profile.redis_storage_size
    }
    resources = local.res.redis
    metrics = {
      enabled        = true
      serviceMonitor = { enabled = true }
    }
  })]

  depends_on = [helm_release.kube_prometheus_stack]
}

resource "helm_release" "object_store" {
  name       = "object-store"
  namespace  = kubernetes_namespace_v1.this["tinyworld"].metadata[0].name
  repository = var.charts.minio.repository
  chart      = var.charts.minio.chart
  version    = var.charts.minio.version
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode({
    fullnameOverride = local.s3_name
    mode             = "standalone"
    replicas         = 1
    existingSecret   = kubernetes_secret_v1.object_store.metadata[0].name
    service          = { port = local.s3_port }
    persistence      = { enabled = true, size = var.profile.object_store_size }
    resources        = local.res.object_store
    buckets = [
      { name = local.bucket, policy = "none", purge = false },
    ]
  })]
}
