# Credentials are generated here and stored only as Kubernetes Secrets (and in Terraform's state,
# which stays on the operator's machine): no values file and no chart holds them.

resource "random_password" "redis" {
  length  = 32
  special = false
}

resource "random_password" "object_store" {
  length  = 40
  special = false
}

resource "random_password" "grafana" {
  length  = 24
  special = false
}

# Read by TinyWorld's workloads with envFrom: TINYWORLD_REDIS_URL overrides the environment file's
# password-less URL; the AWS_* pair is what s3fs and botocore read for the object store.
resource "kubernetes_secret_v1" "runtime" {
  metadata {
    name      = local.secret_names.runtime
    namespace = kubernetes_namespace_v1.this["tinyworld"].metadata[0].name
  }
  data = {
    TINYWORLD_REDIS_URL   = replace(local.environment.redis_url, "redis://", "redis://default:${random_password.redis.result}@")
    AWS_ACCESS_KEY_ID     = "tinyworld"
    AWS_SECRET_ACCESS_KEY = random_password.object_store.result
  }
}

# Valkey's ACL users: the key is the user name (the chart's usersExistingSecret convention).
resource "kubernetes_secret_v1" "redis_users" {
  metadata {
    name      = local.secret_names.redis_users
    namespace = kubernetes_namespace_v1.this["tinyworld"].metadata[0].name
  }
  data = {
    default = random_password.redis.result
  }
}

# MinIO's root credentials (the chart's existingSecret keys); the platform uses the same pair.
resource "kubernetes_secret_v1" "object_store" {
  metadata {
    name      = local.secret_names.object_store
    namespace = kubernetes_namespace_v1.this["tinyworld"].metadata[0].name
  }
  data = {
    rootUser     = "tinyworld"
    rootPassword = random_password.object_store.result
  }
}

resource "kubernetes_secret_v1" "grafana_admin" {
  metadata {
    name      = local.secret_names.grafana_admin
    namespace = kubernetes_namespace_v1.this["monitoring"].metadata[0].name
  }
  data = {
    (local.grafana_admin_fields.user)  = "admin"
    (local.grafana_admin_fields.login) = random_password.grafana.result
  }
}

# The same runtime Secret for the pipelines' pods: KFP runs them in its own namespace (created by
# its manifests), a pod reads only its namespace's Secrets, and every pipeline task asks for this
# one by name (platform/tinyworld/pipelines/cluster.py).
resource "kubernetes_secret_v1" "runtime_pipelines" {
  metadata {
    name      = local.secret_names.runtime
    namespace = "kubeflow"
  }
  data = kubernetes_secret_v1.runtime.data

  depends_on = [terraform_data.kubeflow_pipelines]
}
