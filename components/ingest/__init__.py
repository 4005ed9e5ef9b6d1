"""Event ingestion: ``POST /events`` in, deduplicated Parquet micro-batches in the lake out.

The pieces are plain classes, usable without FastAPI (a Ray Serve deployment or a test can
drive them directly), with a thin ASGI wrapper on top:

- :class:`IngestConfig` (``config``): what one ingest service needs, handed in by the caller.
- :class:`BatchParser` (``batch``): a JSON body to validated events, or a refusal naming each
  bad event; :class:`ArrowBatchParser` (``arrowbatch``): the same for an Arrow IPC body, checked
  column by column.
- :class:`EventStore` (``store``): the durable inbox (SQLite, WAL, ``synchronous=FULL``) that
  deduplicates on ``event_id`` and holds events until they are in the lake; ``statelock`` keeps
  it to one process, ``columnar`` turns events into the Arrow form it stores.
- :class:`LakeWriter` (``lake``): Parquet files under ``<root>/dt=YYYY-MM-DD/hour=HH/``, written
  atomically, on a local path or an object store.
- :class:`Flusher` (``flusher``): moves micro-batches from the store to the lake, exactly once.
- :class:`IngestService` (``service``): the above wired together with Prometheus metrics
  (``metrics``), and the flush barrier.
- :func:`create_app` (``app``): the FastAPI app (``POST /events``, ``POST /events/flush``,
  ``GET /healthz``, ``GET /metrics``).

See docs/ingest.md for the guarantees (durability, deduplication, batch atomicity).
"""

from components.ingest.app import create_app
from components.ingest.arrowbatch import ArrowBatchParser
from components.ingest.batch import BatchParser, BatchRejected
from components.ingest.config import IngestConfig
from components.ingest.flusher import Flusher
from components.ingest.lake import LakeWriter
from components.ingest.service import FlushResult, IngestService
from components.ingest.statelock import StateLockedError
from components.ingest.store import AppendResult, EventStore, FlushPlan

__all__ = [
    "AppendResult",
    "ArrowBatchParser",
    "BatchParser",
    "BatchRejected",
    "EventStore",
    "FlushPlan",
    "FlushResult",
    "Flusher",
    "IngestConfig",
    "IngestService",
    "LakeWriter",
    "StateLockedError",
    "create_app",
]
