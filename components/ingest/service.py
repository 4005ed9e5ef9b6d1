"""The ingest service without HTTP: parsers, durable store, lake writer, flusher and metrics.

:class:`IngestService` is what the FastAPI app (and a Ray Serve deployment) drives:
``ingest(body, content_type)`` validates a batch (a JSON array, or an Arrow IPC stream), stores it
durably and returns what was new; a background flusher moves stored events to the lake, and
``flush()`` is the barrier that waits until everything acknowledged so far is there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.ingest.arrowbatch import ArrowBatchParser, is_arrow_stream
from components.ingest.batch import BatchParser, BatchRejected
from components.ingest.columnar import events_table
from components.ingest.config import IngestConfig
from components.ingest.flusher import Flusher
from components.ingest.lake import LakeWriter
from components.ingest.metrics import IngestMetrics
from components.ingest.store import AppendResult, EventStore

if TYPE_CHECKING:
    import pyarrow as pa

Listener = Callable[["pa.Table"], None]
"""Called with each batch of newly stored events (columnar), after they are durable."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlushResult:
    """What a flush barrier did: every batch numbered up to ``last_seq`` is now in the lake."""

    flushed: int  # events this call wrote (a cycle already under way writes its own)
    pending: int  # events still waiting: those acknowledged after the call began
    last_seq: int  # the highest batch number stored when the call began

    def to_json(self) -> dict[str, int]:
        return {"flushed": self.flushed, "pending": self.pending, "last_seq": self.last_seq}


class IngestService:
    """One ingest service: owns its state file (exclusively) and writes to its lake root."""

    def __init__(
        self,
        config: IngestConfig,
        *,
        lake: LakeWriter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.parser = BatchParser(config.max_batch_events)
        self.arrow_parser = ArrowBatchParser(config.max_batch_events)
        self.lake = lake or LakeWriter(config.lake_root, storage=config.storage, compression=config.compression)
        self.store = EventStore(config.state_path, clock=clock)
        self.metrics = IngestMetrics(pending=lambda: self.store.pending)
        self.flusher = Flusher(
            self.store,
            self.lake,
            interval_s=config.flush_interval_s,
            flush_rows=config.flush_rows,
            writer_id=config.writer_id,
            retention_s=config.dedup_retention.total_seconds(),
            prune_interval_s=config.prune_interval_s,
            metrics=self.metrics,
        )
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every batch of new events once stored (never with duplicates).

        A listener runs on the request's thread before the response is sent, so it must be quick;
        its errors are logged and swallowed: the events are already acknowledged-durable. Adding
        the same listener again (say, an app built twice over one service) changes nothing.
        """
        if listener not in self._listeners:
            self._listeners.append(listener)

    def start(self) -> None:
        """Start flushing in the background (first of all, whatever a previous run left pending)."""
        self.flusher.start()
        log.info("ingest into %s with state %s", self.config.lake_root, self.config.state_path)

    def ingest(self, body: bytes, content_type: str | None = None) -> AppendResult:
        """Validate a batch and store its new events durably; raises :class:`BatchRejected`.

        The body is an Arrow IPC stream when ``content_type`` is ``ARROW_STREAM``, else a JSON
        array; both are held to the same rules and stored alike.
        """
        arrow = is_arrow_stream(content_type)
        try:
            table = self.arrow_parser.parse(body) if arrow else events_table(self.parser.parse(body))
        except BatchRejected as rejection:
            self.metrics.batches_rejected.labels(rejection.reason).inc()
            self.metrics.rejected.inc(rejection.invalid_events)
            raise
        result = self.store.append_table(table)
        self.metrics.batches.labels("arrow" if arrow else "json").inc()
        self.metrics.accepted.inc(result.accepted)
        self.metrics.duplicates.inc(result.duplicates)
        if self.store.pending >= self.config.flush_rows:
            self.flusher.wake()
        if result.stored is not None and len(result.stored):
            for listener in self._listeners:
                try:
                    listener(result.stored)
                except Exception:
                    log.exception("an ingest listener failed on %s events (they are stored)", len(result.stored))
        return result

    def flush(self) -> FlushResult:
        """Return once every event acknowledged before this call is in the lake (the flush barrier).

        Safe alongside the background flusher (they take turns). Raises if a flush fails: the
        events stay in the store, and the flusher (or another call) retries them.
        """
        last_seq = self.store.last_seq()
        flushed = self.flusher.flush(last_seq)
        return FlushResult(flushed=flushed, pending=self.store.pending, last_seq=last_seq)

    def health(self) -> dict[str, Any]:
        """A small status document: pending events and the last flush error, if any."""
        return {
            "status": "ok" if self.flusher.last_error is None else "degraded",
            "pending": self.store.pending,
            "flusher_running": self.flusher.running,
            "last_flush_error": self.flusher.last_error,
        }

    def close(self) -> None:
        """Stop the flusher, flush what is left, and release the state file."""
        try:
            self.flusher.stop(final_flush=True)
        finally:
            self.store.close()

    def __enter__(self) -> IngestService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
