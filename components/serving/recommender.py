"""The recommender without HTTP: arms, models, features, retrieval, filtering and fallbacks.

For a batch of users :meth:`Recommender.recommend` assigns each to an arm, ranks the catalogue
with the arm's model (the user's learned embedding, or for a user the model never saw, their
online content profile embedded by the model's content encoder), leaves out the items the user
was already shown, and falls back to decayed popularity when the arm has no model, the model
fails or the feature store does: such a slate says ``fallback`` and why. An arm whose model is
``popularity`` serves that ranking on purpose (not a fallback).

The experiment (arms, weights, models) changes while serving, from the admin API
(:meth:`Recommender.change_experiment`) or the registry's experiment log (:meth:`Recommender.reload`,
every ``reload_interval_s``); :class:`~components.serving.live.Live` says how a request stays on one.

:meth:`Recommender.observe` takes the events the platform ingests: impressions feed the seen
filter, engagement feeds popularity, and ``create`` events add fresh items, embedded at once by
every loaded model from their text and image.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from components.registry.experiments import POPULARITY_MODEL, ExperimentConfig, ExperimentLog, ExperimentRecord
from components.registry.registry import Registry
from components.serving.catalogue import Catalogue, created_content, read_catalogue, read_popularity
from components.serving.config import ServingConfig
from components.serving.experiments import Assigner
from components.serving.features import FeastProfiles, UserProfiles
from components.serving.live import HISTORY_LIMIT, Applied, ArmHealth, Live, Source, config_record, now
from components.serving.metrics import ServingMetrics
from components.serving.models import LoadedModel, ModelSet
from components.serving.signals import IntArray, Popularity, SeenItems

log = logging.getLogger(__name__)

FALLBACK_VERSION = "popularity"
"""The model_version of a slate served by the fallback."""

Feed = tuple[list[int], list[float]]
"""One user's ranked items and their scores, best first."""


class FeatureLookupError(RuntimeError):
    """The online feature store could not be read."""


@dataclass(frozen=True)
class Slate:
    """One user's feed: items best first, the arm and model that chose them, and why if a fallback did."""

    request_id: str
    user_id: int
    item_ids: list[int]
    scores: list[float]
    arm: str
    model_version: str
    fallback_reason: str | None = None

    @property
    def fallback(self) -> bool:
        return self.fallback_reason is not None

    def to_json(self) -> dict[str, object]:
        """The protocol's RecommendationResponse as a plain dict."""
        items = [{"item_id": i, "score": s} for i, s in zip(self.item_ids, self.scores, strict=True)]
        return {
            "request_id": self.request_id,
            "items": items,
            "arm": self.arm,
            "model_version": self.model_version,
            "fallback": self.fallback,
        }


class Recommender:
    """Ranks feeds for the arms of the experiment in force; see the module doc."""

    def __init__(
        self,
        config: ServingConfig,
        *,
        registry: Registry | None = None,
        catalogue: Catalogue | None = None,
        profiles: UserProfiles | None = None,
        experiments: ExperimentLog | None = None,
    ) -> None:
        self.config = config
        self.models = ModelSet(registry, config.model_name, [arm.model for arm in config.experiment.arms])
        self.experiments = experiments
        self.catalogue = catalogue if catalogue is not None else Catalogue()
        self.profiles = profiles
        self.seen = SeenItems(config.seen_per_user)
        self.popularity = Popularity(config.popularity_half_life_h * 3600.0)
        self.popularity.add_items(self.catalogue.content()["item_id"].to_numpy(np.int64))
        self.in_flight = 0
        self.metrics = ServingMetrics(in_flight=lambda: self.in_flight, models=self.models.current)
        started = Applied(config_record(config.experiment), "config")
        self._live = Live.of(started, self.models.current())
        self.history: deque[Applied] = deque([started], maxlen=HISTORY_LIMIT)
        self._logged_at: datetime | None = None  # the newest log record applied or written here
        self._switch = threading.RLock()  # one experiment change or model refresh at a time
        self._stop = threading.Event()
        self._reloader: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: ServingConfig) -> Recommender:
        """A recommender over the registry, ETL tables and feature store that ``config`` names, models loaded.

        The newest record of the registry's experiment log, if any, wins over ``config.experiment``.
        """
        registry, experiments = None, None
        if config.registry_root:
            registry = Registry(config.registry_root, config.storage)
            experiments = ExperimentLog(config.registry_root, config.model_name, config.storage)
        catalogue = Catalogue(read_catalogue(config.etl_root, storage=config.storage) if config.etl_root else None)
        profiles = FeastProfiles(config.feature_store_dir) if config.feature_store_dir else None
        recommender = cls(config, registry=registry, catalogue=catalogue, profiles=profiles, experiments=experiments)
        if config.etl_root:
            ids, scores, at = read_popularity(config.etl_root, storage=config.storage)
            recommender.popularity.seed(ids, scores, at)
        recommender.reload()
        return recommender

    # --- the experiment and its models ------------------------------------------------------------

    @property
    def live(self) -> Live:
        """The experiment in force and its models (a request reads it once)."""
        return self._live

    @property
    def assigner(self) -> Assigner:
        return self._live.assigner

    @property
    def arm_refs(self) -> dict[str, str]:
        """arm -> its model: a registry reference or ``popularity``."""
        return dict(self._live.arm_refs)

    def set_experiment(self, record: ExperimentRecord, source: Source = "admin") -> Applied:
        """Serve ``record``'s arms from now on, without a restart; returns it as applied.

        Models of references the new arms name are loaded first; then the assigner, the arm ->
        model map and the models are published together, so a request runs wholly on the old
        experiment or the new one. Seen items, fresh items and popularity are the recommender's,
        not the experiment's: they carry over. Applying the record in force again changes nothing.
        """
        with self._switch:
            if record == self._live.applied.record:
                return self._live.applied
            if self.models.refresh(self.catalogue.content, refs=[arm.model for arm in record.experiment.arms]):
                self.metrics.model_swaps.inc()
            applied = Applied(record, source)
            self._live = Live.of(applied, self.models.current())
            self.history.append(applied)
            self.metrics.experiment_changes.labels(source).inc()
        log.info("experiment %s now live (%s, by %r): %s", record.experiment.name, source, record.by, self.served())
        return applied

    def change_experiment(
        self, experiment: ExperimentConfig, *, reason: str, by: str, at: datetime | None = None
    ) -> Applied:
        """Record ``experiment`` in the registry's log (if there is one) as live from ``at`` (default now)
        and apply it: the admin API's change."""
        with self._switch:
            if self.experiments is not None:
                record = self.experiments.record(experiment, at=at, by=by, reason=reason)
                self._logged_at = record.at if self._logged_at is None else max(self._logged_at, record.at)
            else:
                record = ExperimentRecord(at=at or now(), experiment=experiment, by=by, reason=reason)
            return self.set_experiment(record, "admin")

    def sync_experiment(self) -> bool:
        """Apply the registry log's newest record if it is newer than any seen here; whether it did."""
        if self.experiments is None:
            return False
        with self._switch:
            latest = self.experiments.latest()
            if latest is None or (self._logged_at is not None and latest.at <= self._logged_at):
                return False
            self.set_experiment(latest, "registry")
            self._logged_at = latest.at
            return True

    def refresh(self) -> list[str]:
        """Swap in the models the arms' registry references designate now; returns those that moved."""
        with self._switch:
            changed = self.models.refresh(self.catalogue.content)
            self._live = self._live.with_models(self.models.current())
        if changed:
            self.metrics.model_swaps.inc()
        return changed

    def publish(self, ref: str, model: LoadedModel) -> None:
        """Serve ``model`` for ``ref`` now (built outside the registry: a test or a demo)."""
        with self._switch:
            self.models.publish(ref, model)
            self._live = self._live.with_models(self.models.current())

    def reload(self) -> None:
        """Apply a newer experiment from the registry's log, else check the arms' aliases (each reload)."""
        try:
            if self.sync_experiment():
                return
        except Exception:
            log.exception("the experiment log could not be read; keeping %s", self._live.applied.record.experiment.name)
        self.refresh()

    def start(self) -> None:
        """Reload every ``reload_interval_s`` in a background thread (if set)."""
        if self.config.reload_interval_s <= 0 or self._reloader is not None:
            return
        self._reloader = threading.Thread(target=self._reload_loop, name="model-reloader", daemon=True)
        self._reloader.start()

    def stop(self) -> None:
        """Stop the background reloads."""
        self._stop.set()
        if self._reloader is not None:
            self._reloader.join(timeout=5)

    def _reload_loop(self) -> None:
        while not self._stop.wait(self.config.reload_interval_s):
            try:
                self.reload()
            except Exception:
                log.exception("model refresh failed; serving what was loaded")

    def served(self) -> dict[str, str]:
        """arm -> the model_version it serves now."""
        return {arm.arm: arm.serves for arm in self.health()}

    def health(self) -> list[ArmHealth]:
        """Each arm's state: what it serves, and an error when it serves the fallback by accident."""
        return self._live.health(self.models.problems(), FALLBACK_VERSION)

    # --- events --------------------------------------------------------------------------------

    def observe(self, events: pa.Table) -> None:
        """Learn from stored events: seen items, popularity, and fresh items from create events."""
        self.seen.observe(events)
        self.popularity.observe(events)
        created = created_content(events)
        if created.empty:
            return
        new = self.catalogue.add(created)
        if len(new):
            self.popularity.add_items(new["item_id"].to_numpy(np.int64))
            self.models.embed_new(new)
            self.metrics.fresh_items.inc(len(new))

    # --- ranking -------------------------------------------------------------------------------

    def recommend(self, user_ids: Sequence[int], k: int) -> list[Slate]:
        """One slate of up to ``k`` items per user, in the order of ``user_ids``, all on one experiment.

        A user named twice (two requests batched together) gets the second slate ranked after the
        first is recorded as seen, so the two never share an item.
        """
        users = np.asarray([int(u) for u in user_ids], dtype=np.int64)
        repeat = _occurrence(users)
        if not repeat.any():
            return self._recommend_distinct(users, k)
        slates: list[Slate | None] = [None] * len(users)
        for occurrence in range(int(repeat.max()) + 1):
            rows = np.flatnonzero(repeat == occurrence)
            for row, slate in zip(rows.tolist(), self._recommend_distinct(users[rows], k), strict=True):
                slates[row] = slate
        return [s for s in slates if s is not None]

    def _recommend_distinct(self, users: IntArray, k: int) -> list[Slate]:
        live = self._live
        by_arm: dict[str, list[int]] = {}
        for row, arm in enumerate(live.assigner.assign(users.tolist())):
            by_arm.setdefault(arm, []).append(row)
        seen = self.seen.matrix(users)
        slates: list[Slate | None] = [None] * len(users)
        for arm, rows in by_arm.items():
            for row, slate in zip(rows, self._rank_arm(live, arm, users[rows], seen[rows], k), strict=True):
                slates[row] = slate
        done = [s for s in slates if s is not None]
        self.seen.add_many(users, [s.item_ids for s in done])
        for (arm, version), count in Counter((s.arm, s.model_version) for s in done).items():
            self.metrics.recommendations.labels(arm, version).inc(count)
        return done

    def _rank_arm(self, live: Live, arm: str, users: IntArray, seen: IntArray, k: int) -> list[Slate]:
        if live.arm_refs[arm] == POPULARITY_MODEL:
            return self._popular(arm, users, seen, k, None)
        model = live.model(arm)
        if model is None:
            return self._popular(arm, users, seen, k, "no_model")
        members = users.tolist()
        try:
            queries = self._queries(model, members)
            ids, scores = model.index.top_k(queries, k, model.index.positions(seen))
        except FeatureLookupError:
            log.exception("online features unavailable; serving popularity to %s users", len(users))
            return self._popular(arm, users, seen, k, "features_error")
        except Exception:
            log.exception("model %s failed; serving popularity to %s users", model.label, len(users))
            return self._popular(arm, users, seen, k, "model_error")
        feeds = self._explore([(i.tolist(), s.tolist()) for i, s in zip(ids, scores, strict=True)], seen, k)
        return [Slate(_request_id(), u, i, s, arm, model.label) for u, (i, s) in zip(members, feeds, strict=True)]

    def _queries(self, model: LoadedModel, users: list[int]) -> np.ndarray:
        """User query vectors: learned ones, or the content profile of users the model never saw."""
        artifact = model.artifact
        queries = artifact.user_embeddings(users)
        if self.profiles is None or artifact.item_encoder is None:
            return queries
        unseen = np.flatnonzero(~artifact.has_users(users))
        if len(unseen) == 0:
            return queries
        try:
            profiles = self.profiles([users[i] for i in unseen])
        except Exception as error:
            raise FeatureLookupError(str(error)) from error
        known = ~np.isnan(profiles).any(axis=1)
        if known.any():
            as_items = artifact.embed_items(pd.DataFrame({"text_vec": list(profiles[known])}))
            scale = float(np.linalg.norm(queries[0, :-1])) or 1.0
            as_queries = np.concatenate([as_items[:, :-1] * scale, np.ones((len(as_items), 1), np.float32)], axis=1)
            queries[unseen[known]] = as_queries
        return queries

    def _popular(self, arm: str, users: IntArray, seen: IntArray, k: int, reason: str | None) -> list[Slate]:
        """Popularity: the arm's model on purpose (``reason`` None), or the fallback (and why)."""
        if reason is not None:
            self.metrics.fallbacks.labels(reason).inc(len(users))
        ranked = [(ids.tolist(), scores.tolist()) for ids, scores in self.popularity.top_many(k, seen)]
        feeds = self._explore(ranked, seen, k)
        return [
            Slate(_request_id(), u, ids, scores, arm, FALLBACK_VERSION, reason)
            for u, (ids, scores) in zip(users.tolist(), feeds, strict=True)
        ]

    def _explore(self, ranked: list[Feed], seen: IntArray, k: int) -> list[Feed]:
        """Each feed's best ``k - explore_slots`` items, then items drawn at random among the newest.

        The drawn items (score 0) are among the newest ``explore_pool`` that the user has not seen
        and the feed does not hold: every arm explores, so a new item earns engagement whichever
        arm shows it, and the night's training sees more than what an arm already ranks first.
        When too few are left to draw, the ranking's next items fill the feed.
        """
        explore = min(self.config.explore_slots, k - 1)
        pool = self.popularity.newest(self.config.explore_pool) if explore > 0 else np.empty(0, np.int64)
        if len(pool) == 0:
            return [(ids[:k], scores[:k]) for ids, scores in ranked]
        rng = np.random.default_rng()  # one per call: a Generator is not safe to share between threads
        feeds: list[Feed] = []
        for (ids, scores), row in zip(ranked, seen, strict=True):
            head, rest = ids[: k - explore], ids[k - explore :]
            taken = set(ids) | set(row.tolist())
            drawn = [item for item in rng.permutation(pool)[: 4 * explore + 8].tolist() if item not in taken][:explore]
            backfill = k - len(head) - len(drawn)
            feeds.append(
                (
                    head + drawn + rest[:backfill],
                    scores[: len(head)] + [0.0] * len(drawn) + scores[k - explore :][:backfill],
                )
            )
        return feeds


def _occurrence(values: IntArray) -> IntArray:
    """For each position, how many times its value came earlier (0 for a first occurrence)."""
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    starts = np.r_[True, ranked[1:] != ranked[:-1]] if len(ranked) else np.zeros(0, bool)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(ranked)), 0))
    counts = np.empty(len(values), dtype=np.int64)
    counts[order] = np.arange(len(ranked)) - group_start
    return counts


def _request_id() -> str:
    return uuid.uuid4().hex
