"""The lake layout: dt=/hour= folders by event time (UTC), the protocol schema, atomic files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from components.ingest import LakeWriter
from components.ingest.columnar import events_table, from_ipc, to_ipc
from components.storage import StorageOptions
from simnet.protocol import EVENT_SCHEMA, Event, EventType, events_to_table, lake_partitions, table_to_events

EventFactory = Callable[..., dict[str, Any]]


def table_of(*events: dict[str, Any]) -> pa.Table:
    return events_table([Event.model_validate(e) for e in events])


def test_columnar_form_is_the_protocols_for_every_type(make_event: EventFactory) -> None:
    """events_table gives the protocol's own columnar form, for every type (content included)."""
    events = [Event.model_validate(make_event(i, t.value)) for i, t in enumerate(EventType)]
    table = events_table(events)
    assert table.schema.equals(EVENT_SCHEMA)
    assert table.equals(events_to_table(events))
    assert table_to_events(table) == events
    assert from_ipc([to_ipc(table.slice(0, 4)), to_ipc(table.slice(4))]).equals(table)
    assert from_ipc([]).equals(EVENT_SCHEMA.empty_table())


def test_partitions_follow_event_time_in_utc(tmp_path: Path, make_event: EventFactory) -> None:
    """Files land in dt=/hour= of the event's UTC time, whatever offset the client sent."""
    table = table_of(
        make_event(1, ts="2026-01-01T10:15:00Z"),
        make_event(2, ts="2026-01-01T10:59:59.999999Z"),
        make_event(3, ts="2026-01-01T11:00:00Z"),
        make_event(4, ts="2026-01-01T01:30:00+02:00"),  # 2025-12-31 23:30 UTC
    )
    written = LakeWriter(str(tmp_path / "lake")).write(table, "ingest-a")
    found = sorted(str(p.relative_to(tmp_path / "lake")) for p in (tmp_path / "lake").rglob("*"))
    assert found == [
        "dt=2025-12-31",
        "dt=2025-12-31/hour=23",
        "dt=2025-12-31/hour=23/ingest-a.parquet",
        "dt=2026-01-01",
        "dt=2026-01-01/hour=10",
        "dt=2026-01-01/hour=10/ingest-a.parquet",
        "dt=2026-01-01/hour=11",
        "dt=2026-01-01/hour=11/ingest-a.parquet",
    ]
    assert len(written) == 3
    ten = pq.read_table(tmp_path / "lake/dt=2026-01-01/hour=10/ingest-a.parquet")
    assert ten["event_id"].to_pylist() == ["ev-1", "ev-2"]


def test_files_have_the_protocol_schema_in_microseconds(tmp_path: Path, make_event: EventFactory) -> None:
    """Every written file has EVENT_SCHEMA: ts is timestamp[us, tz=UTC], sub-second digits kept."""
    LakeWriter(str(tmp_path)).write(table_of(make_event(1, ts="2026-03-04T05:06:07.123456Z")), "f")
    path = tmp_path / "dt=2026-03-04/hour=05/f.parquet"
    schema = pq.read_schema(path)
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert schema.remove_metadata().equals(EVENT_SCHEMA)
    stored = pq.read_table(path)["ts"][0].as_py()
    assert stored.isoformat() == "2026-03-04T05:06:07.123456+00:00"


def test_same_name_replaces_and_leaves_no_temporary(tmp_path: Path, make_event: EventFactory) -> None:
    """Writing a name again replaces the file whole; no temporary file is left behind."""
    writer = LakeWriter(str(tmp_path))
    writer.write(table_of(make_event(1)), "f")
    writer.write(table_of(make_event(1), make_event(2)), "f")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["f.parquet"]
    assert pq.read_table(files[0]).num_rows == 2


def test_empty_table_writes_nothing(tmp_path: Path) -> None:
    """No rows, no files (and no empty partition folders)."""
    assert LakeWriter(str(tmp_path / "lake")).write(EVENT_SCHEMA.empty_table(), "f") == []
    assert not (tmp_path / "lake").exists()
    assert lake_partitions(EVENT_SCHEMA.empty_table()) == []


def test_object_store_url(make_event: EventFactory) -> None:
    """A URL root goes through its filesystem (fsspec's memory:// here) with the same layout."""
    root = "memory://ingest-lake-test"
    try:
        LakeWriter(root).write(table_of(make_event(1), make_event(2)), "f")
        memory = fsspec.filesystem("memory")
        assert memory.ls("/ingest-lake-test/dt=2026-01-01/hour=10", detail=False) == [
            "/ingest-lake-test/dt=2026-01-01/hour=10/f.parquet"
        ]
        with memory.open("/ingest-lake-test/dt=2026-01-01/hour=10/f.parquet", "rb") as source:
            assert pq.read_table(source).num_rows == 2
    finally:
        fsspec.filesystem("memory").rm("/ingest-lake-test", recursive=True)


@pytest.mark.parametrize(
    ("root", "endpoint", "kind", "base"),
    [
        ("relative/lake", None, pafs.LocalFileSystem, str(Path("relative/lake").resolve())),
        ("file:///tmp/lake/", None, pafs.LocalFileSystem, "/tmp/lake"),
        ("s3://bucket/lake", "http://127.0.0.1:9000", pafs.S3FileSystem, "bucket/lake"),
        ("s3a://bucket/lake/", "http://127.0.0.1:9000", pafs.S3FileSystem, "bucket/lake"),
    ],
)
def test_writer_resolves_its_root(root: str, endpoint: str | None, kind: type, base: str) -> None:
    """Paths, file:// URLs and s3:// (or s3a://) with a MinIO endpoint open the right filesystem."""
    writer = LakeWriter(root, storage=StorageOptions(s3_endpoint_url=endpoint))
    assert isinstance(writer.fs, kind)
    assert writer.base == base
