"""The image's entrypoint: any command as given; `driver` and `executor` as Spark on Kubernetes starts them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyworld.pipelines.image import IMAGE_SOURCE_ROOT
from tinyworld.settings import SOURCE_ROOT

ENTRYPOINT = SOURCE_ROOT / "platform" / "image" / "entrypoint.sh"
DOCKERFILE = SOURCE_ROOT / "platform" / "image" / "Dockerfile"

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None, reason="the entrypoint is a bash script and bash is missing"
)


def echoing(path: Path) -> Path:
    """A script at ``path`` that prints each argument on its own line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$(basename "$0")" "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return path


def run(args: list[str], env: dict[str, str]) -> list[str]:
    done = subprocess.run(["bash", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_the_dockerfile_runs_the_entrypoint_from_the_source_tree_it_copies() -> None:
    """ENTRYPOINT is this script inside WORKDIR, which is IMAGE_SOURCE_ROOT (where SparkApplications find entry.py)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(rf"^WORKDIR {re.escape(IMAGE_SOURCE_ROOT)}$", text, re.MULTILINE)
    relative = ENTRYPOINT.relative_to(SOURCE_ROOT).as_posix()
    assert f'ENTRYPOINT ["{IMAGE_SOURCE_ROOT}/{relative}"]' in text
    assert f"chmod 0755 {relative}" in text


def test_any_other_command_runs_as_given(tmp_path: Path) -> None:
    """`tinyworld --help`, KFP's `sh -c ...`: passed through untouched."""
    assert run(["printf", "%s|", "a b", "c"], dict(os.environ)) == ["a b|c|"]


def test_driver_is_spark_submit_in_client_mode_bound_to_the_pod(tmp_path: Path) -> None:
    """`driver ARGS` runs $SPARK_HOME/bin/spark-submit on the pod's address, in client mode, with ARGS after."""
    echoing(tmp_path / "spark" / "bin" / "spark-submit")
    env = {**os.environ, "SPARK_HOME": str(tmp_path / "spark"), "SPARK_DRIVER_BIND_ADDRESS": "10.0.0.7"}
    args = ["driver", "--properties-file", "/opt/spark/conf/spark.properties", "local:///app/x.py", "etl"]
    assert run(args, env) == [
        "spark-submit",
        "--conf",
        "spark.driver.bindAddress=10.0.0.7",
        "--conf",
        "spark.executorEnv.SPARK_DRIVER_POD_IP=10.0.0.7",
        "--deploy-mode",
        "client",
        *args[1:],
    ]


def test_executor_is_the_kubernetes_backend_with_sparks_variables(tmp_path: Path) -> None:
    """`executor` runs Java on the pyspark jars with the JVM options in order and the executor's identity."""
    echoing(tmp_path / "bin" / "java")
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "SPARK_HOME": "/spark",
        "SPARK_JAVA_OPT_1": "-Dspark.b=2",
        "SPARK_JAVA_OPT_0": "-Dspark.a=x=1",
        "SPARK_JAVA_OPT_10": "-Dspark.c=3",
        "SPARK_EXECUTOR_MEMORY": "2g",
        "SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@driver:7078",
        "SPARK_EXECUTOR_ID": "3",
        "SPARK_EXECUTOR_CORES": "1",
        "SPARK_APPLICATION_ID": "spark-app",
        "SPARK_EXECUTOR_POD_IP": "10.0.0.8",
        "SPARK_RESOURCE_PROFILE_ID": "0",
        "SPARK_EXECUTOR_POD_NAME": "etl-exec-3",
        "SPARK_CONF_DIR": "/opt/spark/conf",
    }
    env.pop("SPARK_CLASSPATH", None)
    assert run(["executor"], env) == [
        "java",
        "-Dspark.a=x=1",
        "-Dspark.b=2",
        "-Dspark.c=3",
        "-Xms2g",
        "-Xmx2g",
        "-cp",
        "/opt/spark/conf:/spark/jars/*",
        "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend",
        "--driver-url",
        "spark://CoarseGrainedScheduler@driver:7078",
        "--executor-id",
        "3",
        "--cores",
        "1",
        "--app-id",
        "spark-app",
        "--hostname",
        "10.0.0.8",
        "--resourceProfileId",
        "0",
        "--podName",
        "etl-exec-3",
    ]


def test_spark_home_defaults_to_the_installed_pyspark(tmp_path: Path) -> None:
    """Without SPARK_HOME the driver finds spark-submit in the pyspark package (which ships it)."""
    import pyspark

    env = {key: value for key, value in os.environ.items() if key != "SPARK_HOME"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    script = f"eval \"$(sed -n '/^spark_home()/,/^}}/p' {ENTRYPOINT})\"; spark_home"
    home = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(home) == Path(pyspark.__file__).parent
    assert (Path(home) / "bin" / "spark-submit").is_file()
