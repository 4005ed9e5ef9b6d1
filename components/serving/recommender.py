"""The recommender without HTTP: arms, models, features, retrieval, filtering and fallbacks.

For a batch of users :meth:`Recommender.recommend` assigns each to an arm, ranks the catalogue
with the arm's model (the user's learned embedding, or for a user the model never saw, their
online content profile embedded by the model's content encoder), leaves out the items the user
was already shown, and falls back to decayed popularity when the arm has no model, the model
fails or the feature store does: such a slate says ``fallback`` and why.

:meth:`Recommender.observe` takes the events the platform ingests: impressions feed the seen
filter, engagement feeds popularity, and ``create`` events add fresh items, embedded at once by
every loaded model from their text and image.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from components.registry.registry import Registry
from components.serving.catalogue import Catalogue, created_content, read_catalogue, read_popularity
from components.serving.config import ServingConfig
from components.serving.experiments import Assigner
from components.serving.features import FeastProfiles, UserProfiles
from components.serving.metrics import ServingMetrics
from components.serving.models import LoadedModel, ModelSet
from components.serving.signals import Popularity, SeenItems

log = logging.getLogger(__name__)

FALLBACK_VERSION = "popularity"
"""The model_version of a slate served by the fallback."""


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
    """Ranks feeds for the arms of one experiment; see the module doc."""

    def __init__(
        self,
        config: ServingConfig,
        *,
        registry: Registry | None = None,
        catalogue: Catalogue | None = None,
        profiles: UserProfiles | None = None,
    ) -> None:
        self.config = config
        self.assigner = Assigner(config.experiment)
        self.arm_refs = {arm.name: arm.model for arm in config.experiment.arms}
        self.models = ModelSet(registry, config.model_name, self.arm_refs.values())
        self.catalogue = catalogue if catalogue is not None else Catalogue()
        self.profiles = profiles
        self.seen = SeenItems(config.seen_per_user)
        self.popularity = Popularity(config.popularity_half_life_h * 3600.0)
        self.popularity.add_items(self.catalogue.content()["item_id"].to_numpy(np.int64))
        self.in_flight = 0
        self.metrics = ServingMetrics(in_flight=lambda: self.in_flight)
        self._stop = threading.Event()
        self._reloader: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: ServingConfig) -> Recommender:
        """A recommender over the registry, ETL tables and feature store that ``config`` names, models loaded."""
        registry = Registry(config.registry_root, config.storage) if config.registry_root else None
        catalogue = Catalogue(read_catalogue(config.etl_root, storage=config.storage) if config.etl_root else None)
        profiles = FeastProfiles(config.feature_store_dir) if config.feature_store_dir else None
        recommender = cls(config, registry=registry, catalogue=catalogue, profiles=profiles)
        if config.etl_root:
            ids, scores, at = read_popularity(config.etl_root, storage=config.storage)
            recommender.popularity.seed(ids, scores, at)
        recommender.refresh()
        return recommender

    # --- models --------------------------------------------------------------------------------

    def refresh(self) -> list[str]:
        """Swap in the models the arms' registry references designate now; returns those that moved."""
        changed = self.models.refresh(self.catalogue.content)
        if changed:
            self.metrics.model_swaps.inc()
        return changed

    def start(self) -> None:
        """Check the registry every ``reload_interval_s`` in a background thread (if set)."""
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
                self.refresh()
            except Exception:
                log.exception("model refresh failed; serving what was loaded")

    def served(self) -> dict[str, str]:
        """arm -> the model_version it serves now."""
        return {arm: self._label(self.models.get(ref)) for arm, ref in self.arm_refs.items()}

    @staticmethod
    def _label(model: LoadedModel | None) -> str:
        return model.label if model is not None else FALLBACK_VERSION

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
        """One slate of up to ``k`` items per user, in the order of ``user_ids``."""
        users = [int(u) for u in user_ids]
        arms = self.assigner.assign(users)
        by_arm: dict[str, list[int]] = {}
        for row, arm in enumerate(arms):
            by_arm.setdefault(arm, []).append(row)
        slates: list[Slate | None] = [None] * len(users)
        for arm, rows in by_arm.items():
            members = [users[r] for r in rows]
            for row, slate in zip(rows, self._rank_arm(arm, members, k), strict=True):
                slates[row] = slate
        done = [s for s in slates if s is not None]
        for slate in done:
            self.seen.add(slate.user_id, slate.item_ids)
            self.metrics.recommendations.labels(slate.arm, slate.model_version).inc()
        return done

    def _rank_arm(self, arm: str, users: list[int], k: int) -> list[Slate]:
        model = self.models.get(self.arm_refs[arm])
        if model is None:
            return self._fallback(arm, users, k, "no_model")
        try:
            queries = self._queries(model, users)
            exclude = [model.index.positions(self.seen.get(u)) for u in users]
            ids, scores = model.index.top_k(queries, k, exclude)
        except FeatureLookupError:
            log.exception("online features unavailable; serving popularity to %s users", len(users))
            return self._fallback(arm, users, k, "features_error")
        except Exception:
            log.exception("model %s failed; serving popularity to %s users", model.label, len(users))
            return self._fallback(arm, users, k, "model_error")
        return [
            Slate(_request_id(), u, i.tolist(), s.tolist(), arm, model.label)
            for u, i, s in zip(users, ids, scores, strict=True)
        ]

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

    def _fallback(self, arm: str, users: list[int], k: int, reason: str) -> list[Slate]:
        self.metrics.fallbacks.labels(reason).inc(len(users))
        slates = []
        for user in users:
            ids, scores = self.popularity.top(k, exclude=self.seen.get(user))
            slates.append(Slate(_request_id(), user, ids.tolist(), scores.tolist(), arm, FALLBACK_VERSION, reason))
        return slates


def _request_id() -> str:
    return uuid.uuid4().hex
