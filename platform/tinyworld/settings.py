"""The one description of an environment: where data lives and how to reach each service.

An environment (``local``, ``kind``, ``hetzner``) is a YAML file under ``platform/environments/``;
``TINYWORLD_*`` environment variables override its values. This module is the only place in the
codebase that reads environment variables: everything else is handed a :class:`Settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from components.etl.session import DEFAULT_MASTER
from components.storage import StorageOptions

SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The source tree (``platform/tinyworld`` lives two levels below it); the container image carries it."""

ENVIRONMENTS_DIR = SOURCE_ROOT / "platform" / "environments"
"""Where the per-environment YAML files live in the source tree (``platform/environments``)."""

EnvironmentName = Literal["local", "kind", "hetzner"]
OnlineStore = Literal["sqlite", "redis"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
TrainLauncher = Literal["process", "trainjob"]
EtlLauncher = Literal["inline", "spark-operator"]


class UnknownEnvironmentError(ValueError):
    """Raised when no YAML file describes the environment asked for."""


class Settings(BaseSettings):
    """An environment's endpoints and paths; values come from its YAML, then ``TINYWORLD_*``.

    Precedence, highest first: ``TINYWORLD_<FIELD>`` environment variables, keyword arguments
    (the environment file's values, see :meth:`from_environment`), then the defaults below, which
    describe the embedded local runtime.
    """

    model_config = SettingsConfigDict(env_prefix="TINYWORLD_", extra="forbid", frozen=True)

    # which environment this is, for logs, reports and the CLI; code never branches on it
    name: EnvironmentName = "local"
    # the event lake (Parquet, dt=/hour= partitions): a local path or an s3:// URL in a cluster
    lake_root: str = "data/lake"
    # pipeline artifacts (KFP outputs, reports): a local path or an object-store URL
    artifacts_root: str = "data/artifacts"
    # the model registry (versioned models and the champion alias): a path or an object-store URL
    registry_root: str = "data/registry"
    # the S3-compatible object store (MinIO) that s3:// roots resolve to; None for local paths or AWS
    s3_endpoint_url: str | None = None
    # the object store's region (MinIO accepts any); None: the AWS default chain decides
    s3_region: str | None = None
    # object-store credentials; None: the standard AWS chain (AWS_* variables from a Secret in a pod)
    s3_access_key_id: str | None = None
    # its secret, from TINYWORLD_S3_SECRET_ACCESS_KEY; never printed, never written to a file
    s3_secret_access_key: SecretStr | None = None
    # the Feast definitions (code, so a relative path is taken from the source tree, not the cwd);
    # feature_store.yaml is generated from these settings
    feature_repo: str = "feature_repo"
    # the Spark master the ETL connects to: local[*] embeds Spark, k8s:// or spark:// in a cluster
    spark_master: str = DEFAULT_MASTER
    # the Ray cluster to join (ray://host:10001); None starts Ray on this machine
    ray_address: str | None = None
    # the interface the recommendation API binds to (127.0.0.1 locally, 0.0.0.0 in a pod)
    serve_host: str = "127.0.0.1"
    # the recommendation API's port (POST /recommendations, /healthz, /metrics)
    serve_port: int = Field(default=8000, ge=1, le=65535)
    # the event ingestion API's port (POST /events)
    ingest_port: int = Field(default=8001, ge=1, le=65535)
    # Feast's online store: SQLite embedded locally, Redis in a cluster
    online_store: OnlineStore = "sqlite"
    # the Redis the online store uses; required when online_store is redis
    redis_url: str | None = None
    # the root logger's level, set once by each entry point
    log_level: LogLevel = "INFO"

    # Where the heavy steps run (tinyworld.launch). The defaults run them in the calling process;
    # a cluster environment launches them as jobs in `namespace`, which run the same step in the image.
    # training: process (here; torchrun above one process) or trainjob (a Kubeflow Trainer TrainJob)
    train_launcher: TrainLauncher = "process"
    # the ETL: inline (a Spark session on spark_master here) or spark-operator (a SparkApplication)
    etl_launcher: EtlLauncher = "inline"
    # the namespace jobs are launched in: the chart's, where its Secret and ServiceAccounts live and
    # the Spark Operator watches; None where nothing is launched
    namespace: str | None = None
    # the Secret whose AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY launched pods get; None: the pods
    # find the object store's keys by the AWS chain alone (an instance role)
    runtime_secret: str | None = None
    # the ServiceAccount of Spark drivers, which create and delete their executors' pods
    spark_service_account: str | None = None
    # the ServiceAccount of training pods (the chart's has no token: they never call the API);
    # None: the namespace's default
    train_service_account: str | None = None
    # the ClusterTrainingRuntime a TrainJob references (the Trainer ships torch-distributed)
    train_runtime: str = "torch-distributed"
    # CPU of the training pod, requested and limited alike (Kubernetes quantity)
    train_cpu: str = "2"
    # memory of the training pod, requested and limited alike (Kubernetes quantity)
    train_memory: str = "3Gi"
    # GPUs of the training pod (nvidia.com/gpu); 0 trains on CPU. The step uses a GPU when it sees one
    train_gpus: int = Field(default=0, ge=0, le=16)
    # the Spark driver's cores; it runs the step's Python and plans the job
    spark_driver_cores: int = Field(default=1, ge=1, le=64)
    # the Spark driver's JVM memory (Spark's units: 512m, 2g); Kubernetes adds Spark's overhead
    spark_driver_memory: str = "1g"
    # Spark executors of a SparkApplication: how many
    spark_executor_instances: int = Field(default=1, ge=1, le=256)
    # each executor's cores (tasks at once)
    spark_executor_cores: int = Field(default=1, ge=1, le=64)
    # each executor's JVM memory (Spark's units)
    spark_executor_memory: str = "1g"
    # seconds a launched job may take, from creation to its end, before its step fails
    launch_timeout_s: int = Field(default=4 * 3600, ge=60, le=7 * 24 * 3600)

    def storage(self) -> StorageOptions:
        """How the steps reach this environment's object store (the storage resolver's options)."""
        return StorageOptions(
            s3_endpoint_url=self.s3_endpoint_url,
            s3_region=self.s3_region,
            s3_access_key_id=self.s3_access_key_id,
            s3_secret_access_key=self.s3_secret_access_key,
        )

    @field_validator("feature_repo")
    @classmethod
    def _in_source_tree(cls, value: str) -> str:
        return value if Path(value).is_absolute() else str(SOURCE_ROOT / value)

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        """Reject combinations that cannot work, before any service is started with them."""
        if self.online_store == "redis" and not self.redis_url:
            raise ValueError("online_store is 'redis' but redis_url is not set")
        if self.serve_port == self.ingest_port:
            raise ValueError(f"serve_port and ingest_port are both {self.serve_port}")
        launchers = [
            f"{name} is {value!r}"
            for name, value, here in (
                ("train_launcher", self.train_launcher, "process"),
                ("etl_launcher", self.etl_launcher, "inline"),
            )
            if value != here
        ]
        if launchers:
            if not self.namespace:
                raise ValueError(f"{' and '.join(launchers)} but namespace is not set")
            if "://" not in self.artifacts_root:
                raise ValueError(
                    f"{' and '.join(launchers)} but artifacts_root {self.artifacts_root!r} is a local folder: "
                    "a launched pod writes its result to an object store the caller can read"
                )
        if self.etl_launcher == "spark-operator" and not self.spark_service_account:
            raise ValueError("etl_launcher is 'spark-operator' but spark_service_account is not set")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment variables override the environment file; no .env or secrets files."""
        return env_settings, init_settings

    @classmethod
    def from_environment(cls, name: str, environments_dir: Path | None = None) -> Settings:
        """Load ``<environments_dir>/<name>.yaml``, then apply ``TINYWORLD_*`` overrides."""
        directory = environments_dir if environments_dir is not None else ENVIRONMENTS_DIR
        path = directory / f"{name}.yaml"
        if not path.is_file():
            known = ", ".join(available_environments(directory)) or "none"
            raise UnknownEnvironmentError(f"unknown environment {name!r} (known: {known})")
        values: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a mapping of settings, not {type(values).__name__}")
        if values.setdefault("name", name) != name:
            raise ValueError(f"{path} says name: {values['name']!r}; it must match the file name")
        return cls(**values)


def available_environments(environments_dir: Path | None = None) -> list[str]:
    """The names of the environments described under ``environments_dir``, sorted."""
    directory = environments_dir if environments_dir is not None else ENVIRONMENTS_DIR
    return sorted(path.stem for path in directory.glob("*.yaml"))
