# kube-prometheus-stack: the Prometheus Operator and its CRDs (ServiceMonitor, PrometheusRule),
# Prometheus, Alertmanager, Grafana, kube-state-metrics and node-exporter. Installed first: the
# other releases create ServiceMonitors. Prometheus selects every ServiceMonitor, PodMonitor and
# PrometheusRule in the cluster (not only this release's), so TinyWorld's chart needs no label
# of this release; Grafana's sidecar loads dashboards from ConfigMaps labelled
# grafana_dashboard=1 in any namespace.

resource "helm_release" "kube_prometheus_stack" {
  name       = "kube-prometheus-stack"
  namespace  = kubernetes_namespace_v1.this["monitoring"].metadata[0].name
  repository = var.charts.kube_prometheus_stack.repository
  chart      = var.charts.kube_prometheus_stack.chart
  version    = var.charts.kube_prometheus_stack.version
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode({
    fullnameOverride = "kps"
    # kind and k3s run etcd, the scheduler, the controller manager and kube-proxy where
    # Prometheus cannot scrape them; their targets would only raise TargetDown alerts.
    kubeEtcd              = { enabled = false }
    kubeScheduler         = { enabled = false }
    kubeControllerManager = { enabled = false }
    kubeProxy             = { enabled = false }
    prometheusOperator = {
      resources = local.res.prometheus_operator
    }
    prometheus = {
      prometheusSpec = {
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
        ruleSelectorNilUsesHelmValues           = false
        retention                               = var.profile.prometheus_retention
        resources                               = local.res.prometheus
        storageSpec = {
          volumeClaimTemplate = {
            spec = {
              accessModes = ["ReadWriteOnce"]
              resources   = { requests = { storage = var.profile.prometheus_storage_size } }
            }
          }
        }
      }
    }
    alertmanager = {
      alertmanagerSpec = { resources = local.res.alertmanager }
    }
    grafana = {
      admin = {
        existingSecret = kubernetes_secret_v1.grafana_admin.metadata[0].name
        userKey        = local.grafana_admin_fields.user
        passwordKey    = local.grafana_admin_fields.login
      }
      resources = local.res.grafana
      sidecar = {
        dashboards = {
          enabled         = true
          label           = local.dashboard_label.key
          labelValue      = local.dashboard_label.value
          searchNamespace = "ALL"
        }
      }
    }
    kube-state-metrics = {
      resources = local.res.kube_state_metrics
    }
    prometheus-node-exporter = {
      resources = local.res.node_exporter
    }
  })]
}
