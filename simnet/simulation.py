"""A world lived one day at a time, with its state kept between days and an exact resumption.

:class:`Simulation` owns one run: the world, the policy that serves it, the tally and the event
sequence. :meth:`Simulation.live_day` lives the next day hour by hour, hands each hour's events
to the policy (``observe``) and to an :class:`EventSink` (the lake, or a platform over HTTP),
and at the day's end asks the sink to make them durable (``flush``) before it checkpoints.

Exactly once, across kills and resumes: with a ``state_dir``, a checkpoint (the pickled run) is
written atomically after each day. A policy whose answers cannot be reproduced (a platform over
HTTP: ``deterministic = False``) is wrapped in a journal that appends every answer to a file
and syncs it before the hour's events leave. A resumed run reloads the last checkpoint and
replays the journal's answers first; since the world is seeded, it re-lives the interrupted
part of the day event for event with the same event ids, which the platform drops as
duplicates, and continues live from where the journal ends. Event ids are
``<run_id>-<sequence>``, the sequence running on across days; a run's id carries a tag drawn
when it starts (:func:`new_tag`), so two runs of the same seed never share an id.
"""

from __future__ import annotations

import logging
import os
import pickle
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.fs as pafs

from simnet.events import EventLog
from simnet.lake import write_partitioned
from simnet.policies import make_policy
from simnet.protocol import RecommendationBatchRequest, RecommendationBatchResponse
from simnet.spec import RunSpec
from simnet.tally import Tally
from simnet.world import Policy, PolicyError, World

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pkl"
JOURNAL = "journal.jsonl"


def new_tag() -> str:
    """A fresh tag for a run's event ids (8 hex characters)."""
    return secrets.token_hex(4)


class EventSink(Protocol):
    """Where a run's events go."""

    def write(self, table: pa.Table, name: str) -> None:
        """Take one batch of events (``name`` is unique within the run and stable across resumes)."""

    def flush(self) -> None:
        """Return once every event written so far is durable where it goes."""


class LakeSink:
    """Events as Parquet files in the lake layout (a path, a URL, or a path on ``filesystem``)."""

    def __init__(self, root: str, filesystem: pafs.FileSystem | None = None) -> None:
        self.root, self.filesystem = root, filesystem

    def write(self, table: pa.Table, name: str) -> None:
        write_partitioned(table, self.root, name, self.filesystem)

    def flush(self) -> None:
        """Files are complete when written."""


class _Journal:
    """A policy whose answers are appended to a file, and replayed from it on resumption."""

    def __init__(self, policy: Policy, path: Path) -> None:
        self.policy, self.path = policy, path
        self.name = policy.name
        self.replay: list[str] = path.read_text().splitlines() if path.exists() else []
        self.replayed = 0
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse:
        if self.replayed < len(self.replay):
            response = RecommendationBatchResponse.model_validate_json(self.replay[self.replayed])
            self.replayed += 1
            if len(response.request_ids) != len(request.user_ids):
                raise PolicyError(
                    f"the journal {self.path} does not match this run (answer {self.replayed} has "
                    f"{len(response.request_ids)} slates for {len(request.user_ids)} users): "
                    "resume from its own checkpoint"
                )
            return response
        response = self.policy.recommend(request)
        self._file.write(response.model_dump_json() + "\n")
        return response

    def observe(self, events: pa.Table) -> None:
        self.policy.observe(events)

    def sync(self) -> None:
        """Make the answers given so far durable (before any event that depends on them leaves)."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def restart(self) -> None:
        """Empty the journal: the day it held is in the checkpoint now."""
        self._file.close()
        self._file = self.path.open("w", encoding="utf-8")
        self.replay, self.replayed = [], 0

    def close(self) -> None:
        self._file.close()


class Simulation:
    """One run, lived a day at a time; see the module doc.

    ``policy`` serves the feeds; None: the reference policy ``spec.policy`` names, built over this world.
    """

    def __init__(
        self,
        spec: RunSpec,
        policy: Policy | None = None,
        sink: EventSink | None = None,
        *,
        state_dir: Path | None = None,
    ) -> None:
        self.spec = spec
        self.world = World(spec.config, spec.seed)
        self.tally = Tally(spec.config.behaviour.slate_size)
        self.seq = 0
        self.seconds = 0.0
        self.begun = False
        self._attach(policy if policy is not None else make_policy(spec.policy, self.world), sink, state_dir)

    def _attach(self, policy: Policy, sink: EventSink | None, state_dir: Path | None) -> None:
        self.policy = policy
        self.sink = sink
        self.state_dir = state_dir
        self._journal: _Journal | None = None
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            if not getattr(policy, "deterministic", True):
                self._journal = _Journal(policy, state_dir / JOURNAL)

    # --- state ---------------------------------------------------------------------------------

    @property
    def day(self) -> int:
        """The next day to live (0-based); equals ``spec.days`` when the run is over."""
        return self.world.day

    @property
    def done(self) -> bool:
        return self.world.day >= self.spec.days

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in {"sink", "state_dir", "_journal"}}
        if not getattr(self.policy, "deterministic", True):
            state["policy"] = None  # a remote policy's state lives on the platform
        return state

    def checkpoint(self) -> Path:
        """Write the run's state to ``state_dir`` atomically; returns the file."""
        if self.state_dir is None:
            raise ValueError("this simulation has no state_dir to checkpoint into")
        target = self.state_dir / CHECKPOINT
        temporary = target.with_suffix(".tmp")
        with temporary.open("wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
        return target

    @classmethod
    def resume(cls, state_dir: Path, policy: Policy | None = None, sink: EventSink | None = None) -> Simulation:
        """The run checkpointed in ``state_dir``, served by ``policy`` (needed when it was remote)."""
        path = state_dir / CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}: nothing to resume (start a new run)")
        with path.open("rb") as f:
            sim = pickle.load(f)  # noqa: S301 (our own file, written by checkpoint())
        if not isinstance(sim, cls):
            raise TypeError(f"{path} does not hold a simulation")
        chosen = policy if policy is not None else sim.policy
        if chosen is None:
            raise ValueError(f"the run in {state_dir} was served remotely: give the policy to resume it with")
        sim._attach(chosen, sink, state_dir)
        log.info("resumed %s at day %s of %s", sim.spec.run_id, sim.day + 1, sim.spec.days)
        return sim

    # --- living --------------------------------------------------------------------------------

    def live_day(self, on_hour: Callable[[int], None] | None = None) -> dict[str, object]:
        """Live the next day; returns its row of metrics. The events are durable in the sink after."""
        if self.done:
            raise RuntimeError(f"the run is over: all {self.spec.days} day(s) lived")
        started = time.perf_counter()
        world = self.world
        serving: Policy = self._journal if self._journal is not None else self.policy
        day = world.day
        tables = []
        if not self.begun:
            tables.append(self._genesis())
        for hour in range(24):
            events = EventLog()
            world.hour(hour, serving, events)
            tables.append(self._emit(events, f"{day:03d}{hour:02d}"))
            if on_hour is not None:
                on_hour(hour)
        closing = EventLog()
        world.end_day(closing)
        tables.append(self._emit(closing, f"{day:03d}end"))
        row = self.tally.day(world, day, pa.concat_tables(tables))
        if self.sink is not None:
            self.sink.flush()
        self.seconds += time.perf_counter() - started
        if self.state_dir is not None:
            self.checkpoint()
            if self._journal is not None:
                self._journal.restart()
        log.info("day %s: %s events, score %.1f", day, row["events"], row["score"])
        return row

    def _genesis(self) -> pa.Table:
        """The first users and items, made known downstream before anyone asks for a feed."""
        events = EventLog()
        self.world.begin(events)
        self.begun = True
        table = self._emit(events, "genesis")
        if self.sink is not None:
            self.sink.flush()
        return table

    def _emit(self, events: EventLog, part: str) -> pa.Table:
        table = events.table(self.spec.run_id, self.seq)
        self.seq += len(table)
        self.policy.observe(table)
        if self._journal is not None:
            self._journal.sync()
        if self.sink is not None:
            self.sink.write(table, f"{self.spec.run_id}-{part}")
        return table

    def close(self) -> None:
        """Release the journal's file."""
        if self._journal is not None:
            self._journal.close()
