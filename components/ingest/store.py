"""The durable inbox: acknowledged events live here (SQLite) until they are in the lake.

Three tables, one SQLite file in WAL mode with ``synchronous=FULL``:

- ``seen``: every event_id accepted within the dedup retention, with when it arrived. An id found
  here is a duplicate, whether it came in the same batch, a retry, or before a restart.
- ``pending``: the accepted events not yet in the lake, one row per appended batch (its new
  events as an Arrow IPC blob), numbered by ``seq`` (``AUTOINCREMENT``, so a number is never
  reused, even after the rows holding it are deleted).
- ``flushes``: the micro-batches moved to the lake, each a closed ``seq`` range. A flush is
  recorded *before* its files are written and completed (its rows deleted from ``pending``) in
  one transaction *after*; a flush recorded but not completed is redone with the same range, so
  the same rows go to the same file names and overwrite what a crash left behind.

:meth:`EventStore.append` (validated events) and :meth:`EventStore.append_table` (a validated
EVENT_SCHEMA table: the Arrow form, and what ``append`` builds) return only after their
transaction is committed (fsynced), so an event reported as accepted survives ``kill -9`` and
power loss. One process may own a state file at a time; an advisory lock
(:mod:`components.ingest.statelock`) enforces it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from components.ingest.columnar import events_table, from_ipc, to_ipc
from components.ingest.statelock import StateLock
from simnet.protocol import EVENT_SCHEMA, Event

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    received_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    events INTEGER NOT NULL,
    batch BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS flushes (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    label TEXT NOT NULL,
    rows INTEGER NOT NULL,
    planned_us INTEGER NOT NULL,
    done_us INTEGER
);
"""

_INSERT_CHUNK = 10_000  # ids per INSERT (2 variables each), under SQLite's 32,766 bound variables
_PRUNE_CHUNK = 50_000  # ids deleted per transaction, so pruning never blocks appends for long


@dataclass(frozen=True)
class AppendResult:
    """What one append did: events stored now, and events dropped as already seen.

    ``stored`` holds the events stored now (columnar, :data:`~simnet.protocol.EVENT_SCHEMA`), for
    listeners that react to new events (the recommender's seen items and fresh items).
    """

    accepted: int
    duplicates: int
    stored: pa.Table | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FlushPlan:
    """A micro-batch on its way to the lake: the pending batches with ``first_seq <= seq <= last_seq``."""

    first_seq: int
    last_seq: int
    rows: int  # events in those batches
    label: str = "ingest"  # the writer's name, recorded with the plan so a redo uses the same

    @property
    def name(self) -> str:
        """The file-name stem of this plan in every partition it touches (zero-padded, sortable)."""
        return f"{self.label}-{self.first_seq:012d}-{self.last_seq:012d}"


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the event_id index hot
    return db


class EventStore:
    """Deduplicating, durable inbox of accepted events; thread-safe; one process per file."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._state_lock = StateLock(self.path)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        try:
            self._db = _connect(self.path)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise RuntimeError(f"{self.path} has state schema {version}; this code reads {SCHEMA_VERSION}")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._reader = _connect(self.path)
        except BaseException:
            self._state_lock.release()
            raise
        self._pending = int(self._db.execute("SELECT coalesce(sum(events), 0) FROM pending").fetchone()[0])
        self._closed = False
        log.info("opened ingest state %s: %d events pending", self.path, self._pending)

    # -- appending ----------------------------------------------------------------------------------
    def append(self, events: Sequence[Event]) -> AppendResult:
        """Store the events not seen before, in one transaction; durable when this returns.

        The events' table is built before the lock is taken; the rest is :meth:`append_table`.
        """
        if not events:
            return AppendResult(0, 0)
        return self.append_table(events_table(events))

    def append_table(self, table: pa.Table) -> AppendResult:
        """Store the rows of an EVENT_SCHEMA table whose ids were not seen before; durable when this returns.

        The rows must be valid events (:class:`~components.ingest.arrowbatch.ArrowBatchParser`
        checks them). Under the write lock, one ``INSERT OR IGNORE ... RETURNING`` records the
        ids and says which are new, and the new rows are stored as one blob. Repeats of an id
        within the table keep the first occurrence.
        """
        if len(table) == 0:
            return AppendResult(0, 0)
        if not table.schema.equals(EVENT_SCHEMA):
            table = table.cast(EVENT_SCHEMA)
        ids = table["event_id"].to_pylist()  # the SQL parameters
        received_us = self._now_us()
        with self._write_lock:
            self._check_open()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                fresh = self._record_ids(ids, received_us)
                stored = table if len(fresh) == len(ids) else table.filter(_first_fresh(table["event_id"], fresh))
                if len(stored):
                    self._db.execute("INSERT INTO pending (events, batch) VALUES (?, ?)", (len(stored), to_ipc(stored)))
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._pending += len(stored)
        return AppendResult(accepted=len(stored), duplicates=len(table) - len(stored), stored=stored)

    def _record_ids(self, ids: list[str], received_us: int) -> set[str]:
        """Insert the ids not yet in ``seen``; returns those (each once)."""
        fresh: set[str] = set()
        for start in range(0, len(ids), _INSERT_CHUNK):
            chunk = ids[start : start + _INSERT_CHUNK]
            values = ",".join(["(?,?)"] * len(chunk))
            params: list[object] = []
            for event_id in chunk:
                params += (event_id, received_us)
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO seen (event_id, received_us) VALUES {values} RETURNING event_id", params
            )
            fresh.update(row[0] for row in cursor)
        return fresh

    @property
    def pending(self) -> int:
        """Events accepted but not yet in the lake."""
        return self._pending

    # -- flushing -------------------------------------------------------------------------------------
    def plan_flush(self, max_rows: int, up_to_seq: int | None = None, label: str = "ingest") -> FlushPlan | None:
        """The next micro-batch to write: an unfinished one first, else up to ``max_rows`` new rows.

        ``up_to_seq`` bounds a new plan, so a flush cycle ends even while appends go on. The plan
        is committed before it is returned: if the process dies while its files are written, the
        next :meth:`plan_flush` returns the very same range. A plan holds whole batches: at most
        ``max_rows`` events, or a single batch if that alone is larger. ``label`` (the writer's
        name) is part of the plan's file names and is recorded with it.
        """
        with self._write_lock:
            self._check_open()
            unfinished = self._db.execute(
                "SELECT first_seq, last_seq, rows, label FROM flushes WHERE done_us IS NULL ORDER BY first_seq LIMIT 1"
            ).fetchone()
            if unfinished is not None:
                return FlushPlan(*unfinished)
            first, last, rows = None, None, 0
            batches = self._db.execute(
                "SELECT seq, events FROM pending WHERE seq <= coalesce(?, seq) ORDER BY seq", (up_to_seq,)
            )
            for seq, events in batches:
                if rows and rows + events > max_rows:
                    break
                first, last, rows = seq if first is None else first, seq, rows + events
            batches.close()
            if first is None or last is None:
                return None
            self._db.execute(
                "INSERT INTO flushes (first_seq, last_seq, label, rows, planned_us) VALUES (?, ?, ?, ?, ?)",
                (first, last, label, rows, self._now_us()),
            )
            return FlushPlan(first, last, rows, label)

    def read(self, plan: FlushPlan) -> pa.Table:
        """The events of a plan, in ``seq`` order (a consistent snapshot; appends may go on)."""
        with self._read_lock:
            self._check_open()
            blobs = self._reader.execute(
                "SELECT batch FROM pending WHERE seq BETWEEN ? AND ? ORDER BY seq", (plan.first_seq, plan.last_seq)
            ).fetchall()
        table = from_ipc(blob for (blob,) in blobs)
        if len(table) != plan.rows:
            raise RuntimeError(f"flush {plan.name} expected {plan.rows} events, found {len(table)}")
        return table

    def complete_flush(self, plan: FlushPlan) -> None:
        """Mark a plan's rows as in the lake: delete them from ``pending`` and close the plan."""
        with self._write_lock:
            self._check_open()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM pending WHERE seq BETWEEN ? AND ?", (plan.first_seq, plan.last_seq))
                self._db.execute("UPDATE flushes SET done_us = ? WHERE first_seq = ?", (self._now_us(), plan.first_seq))
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._pending -= plan.rows

    def last_seq(self) -> int:
        """The highest ``seq`` handed out so far (0 before the first event)."""
        with self._write_lock:
            self._check_open()
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'pending'").fetchone()
        return int(row[0]) if row else 0

    # -- retention ------------------------------------------------------------------------------------
    def prune(self, older_than_s: float) -> int:
        """Forget event_ids (and finished flushes) received more than ``older_than_s`` ago.

        Ids are stored in arrival order, so the old ones are a prefix of ``seen``: find where it
        ends once (a read, no lock), then delete it in chunks so appends are never blocked long.
        Returns the number of ids forgotten.
        """
        cutoff = int((self._clock() - older_than_s) * 1_000_000)
        with self._read_lock:
            self._check_open()
            lowest, highest = self._reader.execute("SELECT min(id), max(id) FROM seen").fetchone()
            young = self._reader.execute(
                "SELECT id FROM seen WHERE received_us >= ? ORDER BY id LIMIT 1", (cutoff,)
            ).fetchone()
        if lowest is None:
            return 0
        end = young[0] if young is not None else highest + 1
        removed = 0
        for start in range(lowest, end, _PRUNE_CHUNK):
            with self._write_lock:
                self._check_open()
                removed += self._db.execute(
                    "DELETE FROM seen WHERE id >= ? AND id < ? AND received_us < ?",
                    (start, min(start + _PRUNE_CHUNK, end), cutoff),
                ).rowcount
        with self._write_lock:
            self._check_open()
            self._db.execute("DELETE FROM flushes WHERE done_us < ?", (cutoff,))
        if removed:
            log.info("forgot %d event ids received before the dedup retention", removed)
        return removed

    # -- lifecycle ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connections and release the state file; idempotent."""
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            self._reader.close()
            self._db.close()
            self._state_lock.release()
        log.info("closed ingest state %s", self.path)

    def _rollback(self) -> None:
        if self._db.in_transaction:  # a failed COMMIT may have rolled back already
            self._db.execute("ROLLBACK")

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the ingest state {self.path} is closed")

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_fresh(ids: pa.ChunkedArray, fresh: set[str]) -> pa.Array:
    """Which rows to keep: the first occurrence of each id that was new (vectorised)."""
    encoded = pc.dictionary_encode(ids.combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    first = np.zeros(len(codes), bool)
    first[np.unique(codes, return_index=True)[1]] = True
    new = pc.is_in(encoded.dictionary, value_set=pa.array(list(fresh), pa.string()))
    return pa.array(first & new.to_numpy(zero_copy_only=False)[codes])
