"""Pick the model family and its settings for the data at hand, then fit the winner on all of it.

:func:`fit_model` is what training runs (``tinyworld train``, the train step, torchrun's ranks).
Under :class:`~components.train.config.Selection` it holds out part of the training rows, fits
every candidate on the rest and ranks the held-out part with the evaluator's own protocol:

- the two-tower, trained with early stopping (its best epoch count is kept), or the best of a
  bounded random search over its hyper-parameters (``search_trials``; :mod:`components.train.search`);
- for each EASE lambda: EASE alone on its items (``ease``) and blended with that two-tower at
  each weight (``ease+two-tower``; :mod:`components.train.blend`);
- then the best of these with a popularity term at each of ``popularity_weights`` (0: none;
  :mod:`components.train.popularity`), for logs where what most users take is the best guess.

The best NDCG@k wins; the two-tower is trained again on all the rows for the chosen epochs and,
for an EASE family, EASE is fitted again on all the rows, as is the popularity term. The
artifact's ``selection`` metadata lists every candidate's score, so a person can see why a
family won. Nothing here is tuned to a data set: the candidates are the configuration's grid
and the judge is held-out data.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict

from components.evaluate.data import EvaluationData, EvaluationInputError, build_evaluation_data
from components.evaluate.evaluator import EvaluateConfig, metric_block, rank_model
from components.evaluate.ranking import NO_ITEM, top_k
from components.split.splitters import SplitConfig, split_interactions
from components.train.artifact import ModelArtifact
from components.train.blend import blend, fit_ease_factors
from components.train.config import Family, Selection, TrainConfig
from components.train.popularity import with_popularity
from components.train.search import SPACE, search
from components.train.trainer import train

log = logging.getLogger(__name__)


class Candidate(BaseModel):
    """One family and setting tried on the validation split, and its score there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Family
    ease_lambda: float | None = None
    weight: float = 0.0
    popularity: float = 0.0  # weight of the popularity term (components.train.popularity)
    score: float


def holdout(interactions: pd.DataFrame, selection: Selection) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The rows to fit on, the held-out rows, and the split used (``last-day`` needs two days)."""
    method = selection.validation
    if method == "last-day":
        days = pd.to_datetime(interactions["ts"], utc=True).dt.normalize()
        if days.nunique() >= 2:
            split = SplitConfig(by="date", test_day=days.max().date())
            fit, held = split_interactions(interactions, split)
            return fit, held, "last-day"
        method = "random"
    by = "temporal" if method == "temporal" else "random"
    fit, held = split_interactions(interactions, SplitConfig(by=by, ratio=selection.validation_ratio, seed=0))
    return fit, held, by


class Judge:
    """Ranks an artifact's catalogue for the held-out users and returns NDCG@k (the evaluator's protocol)."""

    def __init__(self, fit: pd.DataFrame, held: pd.DataFrame, selection: Selection) -> None:
        users = held["user_id"].unique()
        if len(users) > selection.validation_users:
            sample = np.random.default_rng(0).choice(users, size=selection.validation_users, replace=False)
            held = held[held["user_id"].isin(sample)]
        self.fit, self.held = fit, held
        self.config = EvaluateConfig(k=selection.k)
        self._data: tuple[bytes, EvaluationData] | None = None

    def data(self, item_ids: np.ndarray) -> EvaluationData:
        key = np.asarray(item_ids, np.int64).tobytes()
        if self._data is None or self._data[0] != key:
            data = build_evaluation_data(self.fit, self.held, item_ids)
            self._data = (key, data)
        return self._data[1]

    def __call__(self, model: ModelArtifact, shortlist: npt.NDArray[np.int64] | None = None) -> float:
        """NDCG@k of ``model``; with a ``shortlist`` (:meth:`shortlist`) only those catalogue positions are ranked."""
        data = self.data(model.item_ids)
        if shortlist is None:
            ranked = rank_model(model, data, self.config)
        else:
            ranked = self._rank_within(model, data, shortlist)
        return float(metric_block(ranked, data).ndcg_at_k)

    def shortlist(self, two_tower: ModelArtifact, ease_items: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Catalogue positions holding every user's top k under any blend of ``two_tower`` with EASE on ``ease_items``.

        Outside EASE's items a blend scores ``scale * two-tower + offset`` with ``scale >= 0``
        (:mod:`components.train.blend`), so a user's best items there are the two-tower's best
        there: EASE's items and each user's top k of the others hold every blend's top k, and
        ranking only them gives the full catalogue's answer at a fraction of its cost.
        """
        data = self.data(two_tower.item_ids)
        is_ease = np.isin(data.item_ids, ease_items)
        ease_positions = np.flatnonzero(is_ease)
        if is_ease.all():
            return ease_positions
        users = np.asarray(two_tower.user_embeddings(data.user_ids), dtype=np.float32)
        k = min(self.config.k, int((~is_ease).sum()))
        chunk, device = self.config.chunk_users, self.config.device
        best = top_k(users, two_tower.item_embeddings, k, data.exclude, is_ease, chunk, device)
        return np.union1d(ease_positions, best[best >= 0]).astype(np.int64)

    def _rank_within(
        self, model: ModelArtifact, data: EvaluationData, positions: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Top-k catalogue positions of ``model`` among ``positions`` only (the model knows the catalogue's items)."""
        if not np.array_equal(np.asarray(model.item_ids, np.int64), data.item_ids):
            raise ValueError("a shortlist ranks a model over its own catalogue: the item ids differ")
        users = np.asarray(model.user_embeddings(data.user_ids), dtype=np.float32)
        items = np.asarray(model.item_embeddings, dtype=np.float32)[positions]
        k = min(self.config.k, len(positions))
        exclude = data.exclude[:, positions].tocsr()
        local = top_k(users, items, k, exclude, None, self.config.chunk_users, self.config.device)
        ranked = np.full((len(data.user_ids), self.config.k), NO_ITEM, dtype=np.int64)
        ranked[:, :k] = np.where(local >= 0, positions[np.maximum(local, 0)], NO_ITEM)
        return ranked


def _with_epochs(config: TrainConfig, epochs: int) -> TrainConfig:
    return config.model_copy(update={"epochs": epochs})


def _candidates(
    tt: ModelArtifact, fit: pd.DataFrame, judge: Judge, selection: Selection
) -> tuple[list[Candidate], ModelArtifact]:
    """Score the two-tower and every EASE setting of the grid on the held-out rows; and the best one's model."""
    out: list[Candidate] = []
    best: ModelArtifact | None = None

    def keep(candidate: Candidate, model: ModelArtifact) -> None:
        nonlocal best
        if not out or candidate.score > max(c.score for c in out):
            best = model
        out.append(candidate)

    if "two-tower" in selection.families:
        keep(Candidate(family="two-tower", score=judge(tt)), tt)
    weights = ([0.0] if "ease" in selection.families else []) + (
        list(selection.blend_weights) if "ease+two-tower" in selection.families else []
    )
    shortlist = None
    for lam in selection.ease_lambdas if weights else ():
        factors = fit_ease_factors(
            fit,
            tt.user_ids,
            tt.item_ids,
            lam=lam,
            max_items=selection.ease_max_items,
            rank=selection.ease_rank,
        )
        if shortlist is None:  # EASE's items depend on the fit rows only, not on lambda
            shortlist = judge.shortlist(tt, factors.item_ids)
        for weight in weights:
            family: Family = "ease" if weight == 0 else "ease+two-tower"
            model = blend(tt, factors, weight)
            keep(Candidate(family=family, ease_lambda=lam, weight=weight, score=judge(model, shortlist)), model)
    assert best is not None  # Selection requires a family
    return out, best


def _with_popularity_terms(
    best: Candidate, model: ModelArtifact, fit: pd.DataFrame, judge: Judge, selection: Selection
) -> list[Candidate]:
    """The best candidate with each popularity weight of the selection (0: as it is), scored on the held-out rows."""
    return [
        best.model_copy(update={"popularity": w, "score": judge(with_popularity(model, fit, w))}) if w > 0 else best
        for w in selection.popularity_weights
    ]


def _final(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None,
    users: pd.DataFrame | None,
    config: TrainConfig,
    choice: Candidate,
    progress: bool,
) -> ModelArtifact:
    """The chosen family and popularity term fitted on all ``interactions``."""
    model = train(interactions, items, users, config, progress=progress)
    if choice.family != "two-tower":
        assert choice.ease_lambda is not None
        s = config.selection
        factors = fit_ease_factors(
            interactions,
            model.user_ids,
            model.item_ids,
            lam=choice.ease_lambda,
            max_items=s.ease_max_items,
            rank=s.ease_rank,
        )
        model = blend(model, factors, choice.weight)
    return with_popularity(model, interactions, choice.popularity)


def fit_model(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    config: TrainConfig | None = None,
    *,
    progress: bool = False,
) -> ModelArtifact:
    """The best family for ``interactions`` under ``config.selection`` (module doc), fitted on all of it.

    Raises :class:`components.train.data.TrainingDataError` for unusable input.
    """
    config = config or TrainConfig()
    selection = config.selection
    if selection.validation == "none":
        family = selection.families[0]
        weight = selection.blend_weights[0] if family == "ease+two-tower" else 0.0
        choice = Candidate(
            family=family,
            ease_lambda=selection.ease_lambdas[0],
            weight=weight,
            popularity=selection.popularity_weights[0],
            score=float("nan"),
        )
        model = _final(interactions, items, users, config, choice, progress)
        return model.with_metadata(selection={"validation": "none", "chosen": _chosen(choice)})
    started = time.perf_counter()
    fit, held, method = holdout(interactions, selection)
    judge = Judge(fit, held, selection)
    try:
        tt, tuned, trials = search(fit, items, users, config, judge, progress=progress)
    except EvaluationInputError as error:
        log.warning("no validation possible (%s): training the two-tower for %d epochs", error, config.epochs)
        model = train(interactions, items, users, config, progress=progress)
        return model.with_metadata(selection={"validation": f"skipped: {error}"})
    epochs = int(tt.metadata["train"]["validation"]["best_epoch"])
    candidates, best_model = _candidates(tt, fit, judge, selection)
    tried = _with_popularity_terms(max(candidates, key=lambda c: c.score), best_model, fit, judge, selection)
    candidates += [c for c in tried if c.popularity > 0]
    for c in candidates:
        log.info("validation %s: NDCG %.4f", _label(c), c.score)
    choice = max(tried, key=lambda c: c.score)
    seconds = time.perf_counter() - started
    log.info("chose %s (validation NDCG %.4f) in %.1f s; fitting it on all rows", _label(choice), choice.score, seconds)
    model = _final(interactions, items, users, _with_epochs(tuned, epochs), choice, progress)
    facts: dict[str, Any] = {
        "validation": method,
        "held_out_rows": len(held),
        "users_ranked": len(judge.data(tt.item_ids).user_ids),
        "epochs": epochs,
        "epoch_scores": tt.metadata["train"]["validation"]["score_per_epoch"],
        "candidates": [c.model_dump() for c in candidates],
        "search": trials if selection.search_trials else [],
        "tuned": {name: getattr(tuned, name) for name in SPACE} if selection.search_trials else {},
        "chosen": _chosen(choice),
        "seconds": round(seconds, 1),
    }
    return model.with_metadata(selection=facts)


def _chosen(choice: Candidate) -> dict[str, Any]:
    return choice.model_dump(include={"family", "ease_lambda", "weight", "popularity"})


def _label(c: Candidate) -> str:
    return f"{c.family} lambda={c.ease_lambda} weight={c.weight} popularity={c.popularity}"
