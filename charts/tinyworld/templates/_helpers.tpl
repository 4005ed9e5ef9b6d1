{{/*
Names, labels and the pieces every workload shares, defined once.
*/}}

{{/* The chart's name. */}}
{{- define "tinyworld.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name. It does not carry the release name: the environment files
(platform/environments/<name>.yaml, generated from this chart) name the services.
*/}}
{{- define "tinyworld.fullname" -}}
{{- default (include "tinyworld.name" .) .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "tinyworld.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "tinyworld.labels" -}}
helm.sh/chart: {{ include "tinyworld.chart" . }}
{{ include "tinyworld.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tinyworld
{{- end }}

{{/* Labels that select this release's pods. */}}
{{- define "tinyworld.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tinyworld.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the pods the pipelines launch (tinyworld.launch.pod.PART_OF). */}}
{{- define "tinyworld.launchedSelector" -}}
app.kubernetes.io/part-of: tinyworld
app.kubernetes.io/managed-by: tinyworld-launcher
{{- end }}

{{/* Labels of one component: (dict "root" $ "component" "feast"). */}}
{{- define "tinyworld.componentLabels" -}}
{{ include "tinyworld.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of one component's pods: (dict "root" $ "component" "feast"). */}}
{{- define "tinyworld.componentSelector" -}}
{{ include "tinyworld.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The name of one component's resources: (dict "root" $ "component" "feast"). */}}
{{- define "tinyworld.componentName" -}}
{{- printf "%s-%s" (include "tinyworld.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image every workload runs: the package version unless a tag is given. */}}
{{- define "tinyworld.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The namespace, after checking the release is installed where the environment says. */}}
{{- define "tinyworld.namespace" -}}
{{- if ne .Release.Namespace .Values.environment.namespace }}
{{- fail (printf "install into namespace %q (environment.namespace): the environment's service names are built with it, not %q" .Values.environment.namespace .Release.Namespace) }}
{{- end }}
{{- .Release.Namespace }}
{{- end }}

{{/* An in-cluster host: (dict "root" $ "service" "minio" "namespace" ""). */}}
{{- define "tinyworld.host" -}}
{{- printf "%s.%s.svc.%s" .service (.namespace | default .root.Values.environment.namespace) .root.Values.environment.clusterDomain }}
{{- end }}

{{/* The recommender's RayService name; KubeRay names its Services after it. */}}
{{- define "tinyworld.recommender" -}}
{{- include "tinyworld.componentName" (dict "root" . "component" "recommender") }}
{{- end }}

{{/* Ray's client port on the head (ray://). */}}
{{- define "tinyworld.rayClientPort" -}}10001{{- end }}

{{/* The Ray dashboard's port on the head (KubeRay reads the Serve status there). */}}
{{- define "tinyworld.rayDashboardPort" -}}8265{{- end }}

{{/* The Ray dashboard agent's port (KubeRay's Serve health checks). */}}
{{- define "tinyworld.rayAgentPort" -}}52365{{- end }}

{{/* Ray's GCS port on the head. */}}
{{- define "tinyworld.rayGcsPort" -}}6379{{- end }}

{{/* The recommendation API inside the cluster (KubeRay's serve Service). */}}
{{- define "tinyworld.recommenderUrl" -}}
{{- printf "http://%s:%v" (include "tinyworld.host" (dict "root" . "service" (printf "%s-serve-svc" (include "tinyworld.recommender" .)))) .Values.environment.servePort }}
{{- end }}

{{/* The KFP API inside the cluster. */}}
{{- define "tinyworld.kfpUrl" -}}
{{- printf "http://%s:%v" (include "tinyworld.host" (dict "root" . "service" .Values.kfp.apiService "namespace" .Values.kfp.namespace)) .Values.kfp.apiPort }}
{{- end }}

{{/*
The environment's settings (tinyworld.settings.Settings), as platform/environments/<name>.yaml
holds them: `make environments` writes that file from this ConfigMap's rendering.
*/}}
{{- define "tinyworld.settings" -}}
{{- $bucket := .Values.objectStore.bucket -}}
# Generated from charts/tinyworld (values.yaml and ci/{{ .Values.environment.name }}-values.yaml) by `make environments`: do not edit.
# Values are for pods inside the cluster: services by their in-cluster DNS names, data in the object store.
# Each key is a field of tinyworld.settings.Settings; TINYWORLD_<KEY> overrides it.
name: {{ .Values.environment.name }}
lake_root: s3://{{ $bucket }}/lake
artifacts_root: s3://{{ $bucket }}/artifacts
registry_root: s3://{{ $bucket }}/registry
s3_endpoint_url: http://{{ include "tinyworld.host" (dict "root" . "service" .Values.objectStore.service "namespace" .Values.objectStore.namespace) }}:{{ .Values.objectStore.port }}
feature_repo: feature_repo
spark_master: {{ .Values.environment.sparkMaster }}
ray_address: ray://{{ include "tinyworld.host" (dict "root" . "service" (printf "%s-head-svc" (include "tinyworld.recommender" .))) }}:{{ include "tinyworld.rayClientPort" . }}
serve_host: 0.0.0.0
serve_port: {{ .Values.environment.servePort }}
ingest_port: {{ .Values.environment.ingestPort }}
online_store: redis
redis_url: redis://{{ include "tinyworld.host" (dict "root" . "service" .Values.redis.service "namespace" .Values.redis.namespace) }}:{{ .Values.redis.port }}/{{ .Values.redis.db }}
log_level: {{ .Values.environment.logLevel }}
{{- include "tinyworld.launchSettings" . }}
{{- end }}

{{/*
Where the pipelines' ETL and training run (tinyworld.launch), as settings: the launchers, the
namespace, Secret and ServiceAccounts their jobs use, and the jobs' sizes. Refuses a launcher
without the RBAC its steps need.
*/}}
{{- define "tinyworld.launchSettings" -}}
{{- $p := .Values.pipelines -}}
{{- $trainjob := eq $p.launch.train "trainjob" -}}
{{- $sparkapp := eq $p.launch.etl "spark-operator" -}}
{{- if and (or $trainjob $sparkapp) (not $p.runner.enabled) }}
{{- fail "pipelines.launch launches jobs (trainjob or spark-operator), which needs pipelines.runner.enabled" }}
{{- end }}
{{- if and $sparkapp (not $p.spark.enabled) }}
{{- fail "pipelines.launch.etl is spark-operator, which needs pipelines.spark.enabled (the drivers' ServiceAccount)" }}
{{- end }}
train_launcher: {{ $p.launch.train }}
etl_launcher: {{ $p.launch.etl }}
namespace: {{ .Values.environment.namespace }}
runtime_secret: {{ .Values.runtimeSecret }}
spark_service_account: {{ if $p.spark.enabled }}{{ include "tinyworld.componentName" (dict "root" . "component" "spark") }}{{ else }}null{{ end }}
train_service_account: {{ if $trainjob }}{{ include "tinyworld.componentName" (dict "root" . "component" "trainer") }}{{ else }}null{{ end }}
train_runtime: {{ $p.trainer.runtime }}
train_cpu: {{ $p.trainer.cpu | quote }}
train_memory: {{ $p.trainer.memory | quote }}
train_gpus: {{ $p.trainer.gpus }}
spark_driver_cores: {{ $p.spark.driver.cores }}
spark_driver_memory: {{ $p.spark.driver.memory | quote }}
spark_executor_instances: {{ $p.spark.executor.instances }}
spark_executor_cores: {{ $p.spark.executor.cores }}
spark_executor_memory: {{ $p.spark.executor.memory | quote }}
launch_timeout_s: {{ $p.launch.timeoutSeconds }}
{{- end }}

{{/* The pod-level security context of every TinyWorld pod (restricted Pod Security). */}}
{{- define "tinyworld.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The container-level security context of every TinyWorld container. */}}
{{- define "tinyworld.securityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* What every TinyWorld container's environment holds: HOME on the scratch volume. */}}
{{- define "tinyworld.env" -}}
- name: HOME
  value: /tmp
{{- end }}

{{/* The runtime Secret (object-store keys, Redis URL with its password), referenced by name. */}}
{{- define "tinyworld.envFrom" -}}
- secretRef:
    name: {{ .Values.runtimeSecret }}
{{- end }}

{{/* Image pull secrets, if any. */}}
{{- define "tinyworld.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* Egress to the cluster DNS (UDP and TCP 53). */}}
{{- define "tinyworld.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.networkPolicy.dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podLabels | nindent 10 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}

{{/* Egress to a service's port in a namespace: (dict "root" $ "namespace" "" "port" 9000). */}}
{{- define "tinyworld.serviceEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .namespace | default .root.Values.environment.namespace }}
  ports:
    - protocol: TCP
      port: {{ .port }}
{{- end }}
