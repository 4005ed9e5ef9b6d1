"""A bounded random search over the two-tower's hyper-parameters, judged on held-out rows.

Off by default (``selection.search_trials = 0``): the defaults hold on SimNet. With ``N`` trials,
the configured model is trial 0 and ``N`` more are drawn (seeded) from :data:`SPACE`; each trains
on the fit rows with early stopping, so the whole search costs at most ``(N + 1) * max_epochs``
epochs, and the best validation NDCG wins. The budget is a count of trials, not seconds, so
every torchrun rank draws and runs the same trials and stops at the same point.

The space is the usual range of each knob, not values fitted to one data set.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from components.train.artifact import ModelArtifact
from components.train.config import TrainConfig
from components.train.trainer import Validator, train

log = logging.getLogger(__name__)

Draw = Callable[[np.random.Generator], Any]


def _log_uniform(low: float, high: float) -> Draw:
    return lambda rng: float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _one_of(*values: Any) -> Draw:
    return lambda rng: values[int(rng.integers(len(values)))]


SPACE: dict[str, Draw] = {
    "dim": _one_of(16, 32, 64),
    "temperature": _log_uniform(0.03, 0.2),
    "lr": _log_uniform(1e-3, 1e-2),
    "weight_decay": _log_uniform(1e-6, 1e-4),
    "hard_negatives": _one_of(0, 2, 4),
    "item_id_dropout": _one_of(0.1, 0.3, 0.5),
    "logq_correction": _one_of(True, False),
}
"""Each searched field of :class:`TrainConfig` and how a trial draws it."""


def draw(config: TrainConfig, trials: int, seed: int) -> list[TrainConfig]:
    """``config`` itself, then ``trials`` configurations drawn from :data:`SPACE` (the rest kept)."""
    rng = np.random.default_rng(seed)
    drawn = [config.model_copy(update={name: sample(rng) for name, sample in SPACE.items()}) for _ in range(trials)]
    return [config, *drawn]


def search(
    fit: pd.DataFrame,
    items: pd.DataFrame | None,
    users: pd.DataFrame | None,
    config: TrainConfig,
    judge: Validator,
    *,
    progress: bool = False,
) -> tuple[ModelArtifact, TrainConfig, list[dict[str, Any]]]:
    """Train each trial on ``fit`` with early stopping; the best model, its config and every trial's record."""
    selection = config.selection
    best: tuple[float, ModelArtifact, TrainConfig] | None = None
    records = []
    for number, trial in enumerate(draw(config, selection.search_trials, config.seed)):
        model = train(
            fit,
            items,
            users,
            trial.model_copy(update={"epochs": selection.max_epochs}),
            progress=progress,
            validate=judge,
            patience=selection.patience,
        )
        validation = model.metadata["train"]["validation"]
        score = max(validation["score_per_epoch"])
        records.append(
            {
                "trial": number,
                "score": score,
                "epochs": validation["best_epoch"],
                **{name: getattr(trial, name) for name in SPACE},
            }
        )
        log.info("search trial %d/%d: NDCG %.4f", number, selection.search_trials, score)
        if best is None or score > best[0]:
            best = (score, model, trial)
    assert best is not None
    return best[1], best[2], records
