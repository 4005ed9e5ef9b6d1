"""The Spark session the ETL runs in: one builder, tuned for a small machine by default.

The job itself never creates a session: :func:`components.etl.job.run_etl` is handed one,
so the same code runs in ``local[*]`` (tests, the embedded runtime), on a cluster (Spark
Operator), where the master and the object store's options come from settings, and as a client
of a Spark Connect server (``sc://``), such as the warm one of :mod:`components.etl.connect`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from components.storage import StorageOptions

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[*]"
"""Spark embedded in this process, on every core: the local runtime's master."""

DEFAULT_CONF: dict[str, str] = {
    # two cores: few shuffle partitions, merged further by adaptive execution
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    # broadcast small dimension tables (catalogue, per-item content) instead of shuffling events
    "spark.sql.autoBroadcastJoinThreshold": str(64 * 1024 * 1024),
    # every timestamp is UTC, so a day is a UTC day whatever the machine's zone
    "spark.sql.session.timeZone": "UTC",
    # Parquet out with microsecond timestamps (int96 and nanoseconds break other readers)
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    # Arrow for the driver-side hand-offs (content features, small stats)
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # no web UI, no event log, quiet start-up
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.eventLog.enabled": "false",
    # object stores: commit with the v2 algorithm (fewer renames on S3)
    "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "2",
    # snappy: on 2 cores zstd triples the time to write the big tables
    "spark.sql.parquet.compression.codec": "snappy",
}
"""Session settings applied unless overridden by the caller's ``conf``."""

LOCAL_JAVA_OPTIONS = (
    # C2 (the optimising JIT) only for really hot methods: 10x HotSpot's tier-4 thresholds.
    # A cold run spends as much CPU compiling as running tasks (about 40 s each for one day
    # of 4M events); on 2 cores the compiler threads take the task threads' cores. This cut
    # compilation CPU by a third and the job by about 10%; C1 alone (TieredStopAtLevel=1)
    # compiles little but runs the hot loops 75% slower, a net loss on a full day.
    "-XX:Tier4InvocationThreshold=50000",
    "-XX:Tier4MinInvocationThreshold=20000",
    "-XX:Tier4CompileThreshold=60000",
    "-XX:Tier4BackEdgeThreshold=400000",
    # The parallel collector: its pauses stop the task threads, so its threads (one per core)
    # have the cores to themselves and no concurrent GC threads compete with the tasks. The
    # serial one left a core idle in every pause: 7-day job 83-90 s against 93-94 s, GC 3 s
    # against 6-7 s of it (docs/data.md, "Performance").
    "-XX:+UseParallelGC",
    # half the heap young (the default is a third): a shuffle's and a write's short-lived rows
    # die young instead of being copied out (with the serial collector: 92-93 s against 95-97 s)
    "-XX:NewRatio=1",
)
"""JVM options of a local session (the driver runs the tasks); a cluster keeps its own."""


REMOTE_PREFIX = "sc://"
"""A Spark Connect server's URL: the session is a client, the JVM runs elsewhere."""

SQL_PREFIX = "spark.sql."
"""SQL settings: a Connect client sets them on its session (the server ignores static ones, warning)."""

HADOOP_PREFIX = "spark.hadoop."
"""Hadoop settings: a Connect client sets them unprefixed on its session, whose file systems read them."""


def spark_conf(
    master: str = DEFAULT_MASTER,
    driver_memory: str = "4g",
    storage: StorageOptions | None = None,
    conf: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every setting a session on ``master`` starts with (see :func:`build_session`).

    :data:`DEFAULT_CONF`, the driver's memory, :data:`LOCAL_JAVA_OPTIONS` for a ``local``
    master, the s3a settings of ``storage``; ``conf`` overrides any of them. The warm Connect
    server (:class:`components.etl.connect.ConnectServer`) starts with these too.
    """
    settings = dict(DEFAULT_CONF)
    settings["spark.driver.memory"] = driver_memory
    if master.startswith("local"):
        settings["spark.driver.extraJavaOptions"] = " ".join(LOCAL_JAVA_OPTIONS)
    settings.update(s3a_conf(storage or StorageOptions()))
    settings.update(conf or {})
    return settings


def session_conf(settings: Mapping[str, str]) -> dict[str, str]:
    """What of ``settings`` a Spark Connect client sets on its session.

    The ``spark.sql.`` settings as they are and the ``spark.hadoop.`` ones without the prefix
    (so a client's s3a endpoint and keys reach the server's reads and writes for its session).
    Everything else (driver memory, JVM options, parallelism, UI) is fixed when the server starts.
    """
    out: dict[str, str] = {}
    for key, value in settings.items():
        if key.startswith(SQL_PREFIX):
            out[key] = value
        elif key.startswith(HADOOP_PREFIX):
            out[key.removeprefix(HADOOP_PREFIX)] = value
    return out


def build_session(
    master: str = DEFAULT_MASTER,
    app_name: str = "tinyworld-etl",
    driver_memory: str = "4g",
    storage: StorageOptions | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Create (or reuse) the ETL's Spark session.

    ``master`` is ``local[*]`` for the embedded runtime, a ``k8s://``/``spark://`` URL, or an
    ``sc://host:port`` Spark Connect server. ``storage`` configures the s3a filesystem
    (:func:`s3a_conf`) for the JVMs that have it (the platform image ships hadoop-aws; without it
    the ETL stages object-store roots through a local folder, see :mod:`components.etl.staging`).
    A ``local`` master also gets :data:`LOCAL_JAVA_OPTIONS`. ``conf`` overrides any of these.

    Over Spark Connect the server's JVM is already running with its own start-up settings, so
    only :func:`session_conf` reaches it; the session's ``stop()`` releases the session, not
    the server. A process holds one kind of session: Connect cannot start while a local
    SparkContext runs here (RuntimeError), and pyspark keeps Connect mode for the rest of it.
    """
    settings = spark_conf(master, driver_memory, storage, conf)
    if master.startswith(REMOTE_PREFIX):
        return _connect(master, session_conf(settings))

    from pyspark.sql import SparkSession

    if master.startswith("local"):
        # The driver binds to loopback: laptops and CI runners often have no resolvable hostname.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers run this interpreter (the venv), not whatever python3 is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    log.info("spark %s session on %s", session.version, master)
    return session


def _connect(url: str, settings: Mapping[str, str]) -> SparkSession:
    """A Spark Connect session on ``url`` with ``settings`` (session confs only)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:
        # pyspark would quietly hand back the local session instead of connecting
        raise RuntimeError(f"a local Spark session runs in this process: stop it before connecting to {url}")
    builder = SparkSession.builder.remote(url)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    log.info("spark %s session on %s (Spark Connect)", session.version, url)
    return session


def s3a_conf(storage: StorageOptions) -> dict[str, str]:
    """Spark settings that point Hadoop's s3a filesystem at the object store of ``storage``.

    An explicit endpoint (MinIO, SeaweedFS) gets path-style access (bucket in the path, not the
    host name) and, for ``http://``, no TLS. Credentials left None are found by s3a's own chain
    (environment variables, instance roles).
    """
    conf: dict[str, str] = {}
    endpoint = storage.s3_endpoint_url
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        if endpoint.startswith("http://"):
            conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "false"
    if storage.s3_region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = storage.s3_region
    if storage.s3_access_key_id:
        conf["spark.hadoop.fs.s3a.access.key"] = storage.s3_access_key_id
    if storage.s3_secret_access_key is not None:
        conf["spark.hadoop.fs.s3a.secret.key"] = storage.s3_secret_access_key.get_secret_value()
    return conf
