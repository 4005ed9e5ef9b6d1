"""Moving accepted events from the store to the lake, in micro-batches, exactly once.

A flush cycle takes everything pending when it starts, in plans of about ``flush_rows`` events.
For each plan: the store records the seq range and the writer's name (committed), the events are
read and written as one Parquet file per hour partition named
``<writer_id>-<first_seq>-<last_seq>.parquet``, and only then the store deletes them and closes
the plan, in one transaction. A crash anywhere in between leaves the plan open; the next cycle
(after a restart, the first) redoes it with the recorded range and name, so the same files are
rewritten in place: nothing is lost and nothing lands twice.

Cycles run on a background thread every ``interval_s`` seconds, or sooner when woken (the
service wakes it once ``flush_rows`` events wait), and once more when it stops. A caller may also
flush on demand (the service's flush barrier): calls and cycles take turns on one lock.
"""

from __future__ import annotations

import logging
import threading
import time

from components.ingest.lake import LakeWriter
from components.ingest.metrics import IngestMetrics
from components.ingest.store import EventStore, FlushPlan

log = logging.getLogger(__name__)


class Flusher:
    """Flushes an :class:`EventStore` into a :class:`LakeWriter`, on demand or on a thread."""

    def __init__(
        self,
        store: EventStore,
        lake: LakeWriter,
        *,
        interval_s: float = 5.0,
        flush_rows: int = 50_000,
        writer_id: str = "ingest",
        retention_s: float | None = None,
        prune_interval_s: float = 600.0,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self.store, self.lake = store, lake
        self.interval_s, self.flush_rows, self.writer_id = interval_s, flush_rows, writer_id
        self.retention_s, self.prune_interval_s = retention_s, prune_interval_s
        self.metrics = metrics
        self.last_error: str | None = None
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- on demand ------------------------------------------------------------------------------------
    def flush(self, up_to_seq: int | None = None) -> int:
        """Write what is pending (an unfinished plan first); returns the events written by this call.

        Everything up to ``up_to_seq`` (default: all that is stored when the call takes the flush
        lock) is in the lake when this returns. Calls are serialised with the background cycles,
        so a caller may block on a cycle in progress, whose events then count for that cycle. A
        failure is recorded (``last_error``, the error counter) and raised; the events stay
        pending and a later flush retries them.
        """
        with self._flush_lock:
            began = time.time()
            up_to = self.store.last_seq() if up_to_seq is None else up_to_seq
            written = 0
            try:
                while (plan := self.store.plan_flush(self.flush_rows, up_to, self.writer_id)) is not None:
                    written += self._write(plan)
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                if self.metrics is not None:
                    self.metrics.flush_errors.inc()
                raise
            self.last_error = None
            if self.metrics is not None and up_to_seq is None:
                self.metrics.caught_up(began)
            return written

    def _write(self, plan: FlushPlan) -> int:
        started = time.perf_counter()
        table = self.store.read(plan)
        files = self.lake.write(table, plan.name)
        self.store.complete_flush(plan)
        seconds = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.flushed.inc(plan.rows)
            self.metrics.flush_seconds.observe(seconds)
        log.info("flushed %d events (%s) to %d file(s) in %.3f s", plan.rows, plan.name, len(files), seconds)
        return plan.rows

    def prune(self) -> int:
        """Forget event_ids older than the retention (no-op without one); returns how many."""
        if self.retention_s is None:
            return 0
        return self.store.prune(self.retention_s)

    # -- in the background ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread; its first cycle runs at once (the backlog of a restart)."""
        if self._thread is not None:
            raise RuntimeError("the flusher is already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ingest-flusher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a cycle now rather than at the next interval."""
        self._wake.set()

    def stop(self, final_flush: bool = True) -> None:
        """Stop the thread, then flush what is left (failures are logged: the store keeps it)."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join()
            self._thread = None
        if final_flush:
            self._cycle()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        next_prune = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()
            ok = self._cycle()
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self.prune_interval_s
                try:
                    self.prune()
                except Exception:
                    log.exception("pruning old event ids failed; will retry")
            if ok:
                self._wake.wait(self.interval_s)
            else:  # back off: ignore wake-ups until the interval has passed
                self._stop.wait(self.interval_s)

    def _cycle(self) -> bool:
        """One flush, with failures logged (``flush`` records them); returns whether it succeeded."""
        try:
            self.flush()
        except Exception:
            log.exception("flush failed; the events stay in the store and will be retried")
            return False
        return True
