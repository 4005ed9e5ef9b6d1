"""What one ingest service needs, handed in by its caller (never read from the environment)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from components.storage import StorageOptions


class IngestConfig(BaseModel):
    """Paths, limits and timings of one ingest service; the CLI builds it from ``Settings``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # where events land as Parquet (dt=/hour= partitions): a local path or an object-store URL
    lake_root: str = Field(min_length=1)
    # the SQLite file that makes acknowledged events durable and remembers event_ids for dedup
    state_path: Path
    # how to reach the object store of an s3:// lake root (endpoint, region, credentials)
    storage: StorageOptions = StorageOptions()
    # seconds between flushes to the lake: the lake lags acknowledged events by about this much
    flush_interval_s: float = Field(default=5.0, gt=0)
    # flush early once this many events wait, and write at most this many per micro-batch (memory)
    flush_rows: int = Field(default=50_000, ge=1)
    # the largest batch one POST may carry (413 beyond): bounds a request's memory and latency
    max_batch_events: int = Field(default=10_000, ge=1)
    # the largest request body in bytes (413 beyond), checked before the body is parsed
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    # how long an event_id is remembered: a duplicate arriving later than this is stored again
    dedup_retention: timedelta = Field(default=timedelta(days=8), gt=timedelta(0))
    # seconds between prunes of event_ids older than dedup_retention
    prune_interval_s: float = Field(default=600.0, gt=0)
    # prefix of the Parquet file names, so several writers can share one lake without collisions
    writer_id: str = Field(default="ingest", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    # Parquet compression codec of the lake files
    compression: str = "zstd"
