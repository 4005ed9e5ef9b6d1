#!/usr/bin/env bash
# The image's entrypoint. Any command runs as given, except the two Spark on Kubernetes starts its
# pods with (a SparkApplication's driver and executors, see tinyworld/launch/sparkapp.py):
#   driver ARGS...   spark-submit in client mode inside the driver pod, bound to the pod's address
#   executor         Spark's Kubernetes executor backend, configured by the SPARK_* variables Spark sets
# Spark's own images ship this logic as /opt/entrypoint.sh; this image has pyspark from PyPI instead,
# which brings spark-submit and the jars, so SPARK_HOME is the installed pyspark package.
set -euo pipefail

spark_home() {
  if [[ -n "${SPARK_HOME:-}" ]]; then
    printf '%s\n' "${SPARK_HOME}"
  else
    python -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("pyspark").origin))'
  fi
}

case "${1:-}" in
  driver)
    shift
    SPARK_HOME="$(spark_home)"
    export SPARK_HOME
    exec "${SPARK_HOME}/bin/spark-submit" \
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS}" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=${SPARK_DRIVER_BIND_ADDRESS}" \
      --deploy-mode client \
      "$@"
    ;;
  executor)
    shift
    SPARK_HOME="$(spark_home)"
    export SPARK_HOME
    # Spark passes the executor's JVM options as SPARK_JAVA_OPT_0, SPARK_JAVA_OPT_1, ... in order
    java_options=()
    while IFS='=' read -r _ value; do
      java_options+=("${value}")
    done < <(env | grep '^SPARK_JAVA_OPT_' | sort -t_ -k4 -n || true)
    classpath="${SPARK_HOME}/jars/*"
    if [[ -n "${SPARK_CONF_DIR:-}" ]]; then
      classpath="${SPARK_CONF_DIR}:${classpath}"
    fi
    if [[ -n "${SPARK_CLASSPATH:-}" ]]; then
      classpath="${SPARK_CLASSPATH}:${classpath}"
    fi
    exec java "${java_options[@]}" \
      -Xms"${SPARK_EXECUTOR_MEMORY}" -Xmx"${SPARK_EXECUTOR_MEMORY}" \
      -cp "${classpath}" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "${SPARK_DRIVER_URL}" \
      --executor-id "${SPARK_EXECUTOR_ID}" \
      --cores "${SPARK_EXECUTOR_CORES}" \
      --app-id "${SPARK_APPLICATION_ID}" \
      --hostname "${SPARK_EXECUTOR_POD_IP}" \
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID}" \
      --podName "${SPARK_EXECUTOR_POD_NAME}"
    ;;
  *)
    exec "$@"
    ;;
esac
