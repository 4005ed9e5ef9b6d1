"""Where Spark reads the lake and writes the tables: directly, or through a local staging folder.

Spark reads a local folder, and an ``s3://`` root as ``s3a://`` when its JVM has Hadoop's
S3A filesystem (the platform image carries hadoop-aws; :func:`components.etl.session.s3a_conf`
points it at the store). A root Spark cannot read itself (``s3://`` in a JVM without S3A, or
any other scheme, such as ``memory://``) is staged through a temporary local folder, with
the storage resolver doing the copying:

- the lake's day folders up to the window's last day are copied in (the catalogue of created
  items reads the whole history, not only the window);
- Spark runs on the local copy and writes its tables to a local folder;
- once the job succeeds, each table folder replaces the one under the output root.

The decision is made by capability (what this JVM can open), never by environment.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from components.storage import Root
from simnet.protocol import lake_day_of

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

S3A_FILESYSTEM = "org.apache.hadoop.fs.s3a.S3AFileSystem"
"""Hadoop's S3 filesystem class (the hadoop-aws jar)."""


def has_s3a(spark: SparkSession) -> bool:
    """Whether the session's JVM can open ``s3a://`` paths (hadoop-aws on its classpath).

    A Spark Connect session has no JVM in this process to ask, and a staging folder here
    would be out of its server's reach: it is taken to read object stores itself.
    """
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return True
    try:
        hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass("s3a", hadoop_conf)
        jvm.java.lang.Class.forName(S3A_FILESYSTEM, False, hadoop_conf.getClassLoader())
    except Exception:  # py4j's Py4JJavaError: ClassNotFoundException, UnsupportedFileSystemException
        return False
    return True


def spark_url(root: Root) -> str:
    """How Spark names ``root``: a local path, or ``s3a://`` for an ``s3://`` root."""
    if root.is_local:
        return root.path
    if root.scheme == "s3":
        return f"s3a://{root.path}"
    return root.url


def readable_directly(root: Root, s3a: bool) -> bool:
    """Whether Spark opens ``root`` itself: a local folder, or ``s3://`` with S3A in the JVM."""
    return root.is_local or (root.scheme == "s3" and s3a)


def _visible(name: str) -> bool:
    """Data files, not hidden or ``_``-prefixed ones (temporary files, checksums, _SUCCESS)."""
    return not name.startswith((".", "_"))


def stage_lake(lake: Root, last: date, into: Path) -> int:
    """Copy the lake's day folders up to ``last`` (inclusive) into ``into``; returns the files copied.

    FileNotFoundError when the lake root does not exist.
    """
    fs, base = lake.fsspec()
    if not fs.exists(base):
        raise FileNotFoundError(f"no event lake at {lake.url}")
    base = base.rstrip("/")
    days = []
    for entry in fs.ls(base, detail=False):
        day = lake_day_of(str(entry))
        if day is not None and day <= last:
            days.append(str(entry).rstrip("/"))
    copied = 0
    for folder in sorted(days):
        for file, info in sorted(fs.find(folder, detail=True).items()):
            relative = str(file)[len(base) :].strip("/")
            if info.get("type") != "file" or str(file).endswith("/"):
                continue  # folder markers (empty "dt=.../" objects that some writers put on object stores)
            if not all(_visible(part) for part in relative.split("/")):
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(file, str(target))
            copied += 1
    return copied


def upload_tables(local: Path, out: Root) -> list[str]:
    """Replace each table folder under ``out`` with the one under ``local``; returns the tables uploaded."""
    fs, base = out.fsspec()
    base = base.rstrip("/")
    uploaded = []
    for table in sorted(p for p in local.iterdir() if p.is_dir() and _visible(p.name)):
        target = f"{base}/{table.name}"
        if fs.exists(target):
            fs.rm(target, recursive=True)
        for file in sorted(p for p in table.rglob("*") if p.is_file()):
            relative = file.relative_to(table)
            if not all(_visible(part) or part == "_SUCCESS" for part in relative.parts):
                continue
            destination = f"{target}/{relative.as_posix()}"
            if out.is_local:
                os.makedirs(os.path.dirname(destination), exist_ok=True)
            fs.put_file(str(file), destination)
        uploaded.append(table.name)
    return uploaded


@dataclass(frozen=True)
class SparkRoots:
    """The lake and output roots as Spark names them for one run (local copies when staged)."""

    lake: str
    out: str


@contextmanager
def spark_roots(spark: SparkSession, lake: Root, out: Root, last: date) -> Iterator[SparkRoots]:
    """The roots Spark reads and writes for a window ending on ``last`` (see the module doc).

    Staged output is uploaded when the block ends without an error; a failed job leaves the
    output root as it was. The staging folder is removed either way.
    """
    s3a = has_s3a(spark) if not (lake.is_local and out.is_local) else False
    stage_in, stage_out = not readable_directly(lake, s3a), not readable_directly(out, s3a)
    if not (stage_in or stage_out):
        yield SparkRoots(spark_url(lake), spark_url(out))
        return
    with tempfile.TemporaryDirectory(prefix="tinyworld-etl-") as folder:
        local_lake, local_out = Path(folder) / "lake", Path(folder) / "out"
        local_lake.mkdir()
        local_out.mkdir()
        why = "this Spark has no S3A filesystem" if not s3a else "Spark cannot open these URLs"
        if stage_in:
            files = stage_lake(lake, last, local_lake)
            log.info("%s: staged %d lake files of %s (days to %s) in %s", why, files, lake.url, last, local_lake)
        yield SparkRoots(
            str(local_lake) if stage_in else spark_url(lake), str(local_out) if stage_out else spark_url(out)
        )
        if stage_out:
            tables = upload_tables(local_out, out)
            log.info("%s: uploaded %d tables from %s to %s", why, len(tables), local_out, out.url)
