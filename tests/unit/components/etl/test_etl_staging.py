"""Where Spark reads and writes: direct roots, staging through a local folder, and the s3a settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import fsspec
import pytest
from pydantic import SecretStr

from components.etl.session import s3a_conf
from components.etl.staging import has_s3a, readable_directly, spark_roots, spark_url, stage_lake, upload_tables
from components.storage import Root, StorageOptions, resolve


class _NoJvm:
    """A session without a JVM in this process (Spark Connect)."""


class _MissingClass(Exception):
    """What py4j raises for a class the JVM cannot load."""


class _Jvm:
    """Answers every class lookup with an error, as a JVM without hadoop-aws does."""

    def __getattr__(self, name: str) -> Any:
        return self

    def __call__(self, *args: object) -> Any:
        raise _MissingClass("java.lang.ClassNotFoundException: org.apache.hadoop.fs.s3a.S3AFileSystem")


class _Context:
    _jsc = _Jvm()


class _SessionWithoutS3a:
    _jvm = _Jvm()
    sparkContext = _Context()


@pytest.fixture()
def memory_root() -> Iterator[Root]:
    """A fresh memory:// root, removed afterwards."""
    root = resolve(f"memory://staging-{uuid.uuid4().hex}")
    yield root
    memory = fsspec.filesystem("memory")
    if memory.exists(root.path):
        memory.rm(root.path, recursive=True)


def _put(root: Root, relative: str, data: bytes = b"x") -> None:
    fs, path = root.join(relative).fsspec()
    with fs.open(path, "wb") as f:
        f.write(data)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_spark_names_local_paths_and_s3a() -> None:
    """Spark gets a local path as is, s3:// as s3a://, other URLs unchanged."""
    assert spark_url(resolve("/tmp/lake")) == "/tmp/lake"
    assert spark_url(resolve("s3://bucket/lake")) == "s3a://bucket/lake"
    assert spark_url(resolve("s3a://bucket/lake/")) == "s3a://bucket/lake"
    assert spark_url(resolve("memory://x")) == "memory://x"


@pytest.mark.parametrize(
    ("root", "s3a", "direct"),
    [
        ("/tmp/lake", False, True),
        ("s3://bucket/lake", True, True),
        ("s3://bucket/lake", False, False),
        ("memory://lake", True, False),
    ],
)
def test_which_roots_spark_opens_itself(root: str, s3a: bool, direct: bool) -> None:
    """Local folders always; s3:// only with S3A in the JVM; other schemes never."""
    assert readable_directly(resolve(root), s3a) is direct


def test_s3a_is_probed_in_the_jvm() -> None:
    """A JVM that cannot load S3AFileSystem has no s3a; a session without a local JVM is trusted to."""
    assert has_s3a(_SessionWithoutS3a()) is False  # type: ignore[arg-type]
    assert has_s3a(_NoJvm()) is True  # type: ignore[arg-type]


def test_stage_lake_copies_visible_files_of_days_up_to_the_last(memory_root: Root, tmp_path: Path) -> None:
    """Day folders up to ``last`` are copied with their layout; later days, hidden files and other folders are not."""
    lake = memory_root.join("lake")
    for relative in (
        "dt=2026-01-01/hour=00/a.parquet",
        "dt=2026-01-02/hour=23/b.parquet",
        "dt=2026-01-02/hour=23/.b.parquet.tmp",
        "dt=2026-01-03/hour=00/c.parquet",
        "_staging/d.parquet",
    ):
        _put(lake, relative)
    assert stage_lake(lake, date(2026, 1, 2), tmp_path) == 2
    assert _files(tmp_path) == ["dt=2026-01-01/hour=00/a.parquet", "dt=2026-01-02/hour=23/b.parquet"]


def test_stage_lake_names_a_missing_lake(memory_root: Root, tmp_path: Path) -> None:
    """A lake root that does not exist is a FileNotFoundError naming it."""
    with pytest.raises(FileNotFoundError, match="no event lake at memory://"):
        stage_lake(memory_root.join("absent"), date(2026, 1, 1), tmp_path)


def test_upload_replaces_each_table_and_leaves_the_others(memory_root: Root, tmp_path: Path) -> None:
    """A staged table replaces its folder under the output root (stale files go); other tables stay."""
    out = memory_root.join("etl")
    _put(out, "dau/stale.parquet")
    _put(out, "retention/kept.parquet")
    (tmp_path / "dau").mkdir()
    for name in ("part-0.parquet", "_SUCCESS", ".part-0.parquet.crc"):
        (tmp_path / "dau" / name).write_bytes(b"y")
    assert upload_tables(tmp_path, out) == ["dau"]
    fs, base = out.fsspec()
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.find(base)) == ["_SUCCESS", "kept.parquet", "part-0.parquet"]


def test_spark_roots_stage_in_and_out_and_upload_on_success(memory_root: Root) -> None:
    """Roots Spark cannot open are local folders during the block; the tables are uploaded after it."""
    lake, out = memory_root.join("lake"), memory_root.join("etl")
    _put(lake, "dt=2026-01-01/hour=00/a.parquet")
    with spark_roots(_NoJvm(), lake, out, date(2026, 1, 1)) as roots:  # type: ignore[arg-type]
        assert Path(roots.lake, "dt=2026-01-01/hour=00/a.parquet").is_file()
        Path(roots.out, "dau").mkdir()
        Path(roots.out, "dau", "part-0.parquet").write_bytes(b"z")
    staged = Path(roots.lake)
    assert not staged.exists()  # the staging folder is gone
    assert out.join("dau", "part-0.parquet").exists()


def test_spark_roots_upload_nothing_after_a_failure(memory_root: Root) -> None:
    """A job that fails leaves the output root as it was."""
    lake, out = memory_root.join("lake"), memory_root.join("etl")
    _put(lake, "dt=2026-01-01/hour=00/a.parquet")
    with (
        pytest.raises(RuntimeError, match="job failed"),
        spark_roots(_NoJvm(), lake, out, date(2026, 1, 1)) as roots,  # type: ignore[arg-type]
    ):
        Path(roots.out, "dau").mkdir()
        Path(roots.out, "dau", "part-0.parquet").write_bytes(b"z")
        raise RuntimeError("job failed")
    assert not out.exists()


def test_local_roots_are_not_staged(tmp_path: Path) -> None:
    """With local roots Spark gets them as they are, and the JVM is never asked about S3A."""
    lake, out = resolve(str(tmp_path / "lake")), resolve(str(tmp_path / "etl"))
    with spark_roots(_SessionWithoutS3a(), lake, out, date(2026, 1, 1)) as roots:  # type: ignore[arg-type]
        assert (roots.lake, roots.out) == (lake.path, out.path)


def test_s3a_conf_maps_the_storage_options() -> None:
    """Endpoint (path-style, no TLS for http), region and keys become fs.s3a settings; nothing for AWS defaults."""
    conf = s3a_conf(
        StorageOptions(
            s3_endpoint_url="http://127.0.0.1:9000",
            s3_region="eu-west-1",
            s3_access_key_id="key",
            s3_secret_access_key=SecretStr("secret"),
        )
    )
    assert conf == {
        "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:9000",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.endpoint.region": "eu-west-1",
        "spark.hadoop.fs.s3a.access.key": "key",
        "spark.hadoop.fs.s3a.secret.key": "secret",
    }
    assert s3a_conf(StorageOptions()) == {}
