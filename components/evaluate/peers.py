"""The classic peers every evaluation ranks beside the candidate: EASE, ALS and BPR.

A practitioner with an interactions table tries these first, so a candidate is judged against
them, not only against popularity. Each peer is fitted on the evaluation's TRAIN positives
over the candidate's catalogue and ranks the same users, with the same exclusions and K, as
the candidate (:func:`components.evaluate.evaluator.evaluate`):

- ``ease``: EASE (Steck, WWW 2019), the closed-form item-item model
  ``B = I - P / diag(P)`` with ``P = (X'X + lambda I)^-1``, diagonal zero; a user's scores are
  ``x_u B``. Its cost grows with the catalogue (items^2 memory, items^3 time), so over a larger
  catalogue it is fitted on the ``ease_max_items`` items with the most TRAIN positives and ranks
  only those (the report says so).
- ``als``: implicit-feedback matrix factorisation by alternating least squares (Hu, Koren and
  Volinsky, ICDM 2008), from the ``implicit`` library.
- ``bpr``: Bayesian personalised ranking (Rendle et al., UAI 2009), from ``implicit``.

Users with no TRAIN positive get an all-zero row: every peer then scores them alike, as a
collaborative model must.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

from components.evaluate.data import EvaluationData
from components.evaluate.ranking import NO_ITEM, chunk_rows, pair_matrix, top_k_scores
from components.split.table import integer_ids, positive_mask

log = logging.getLogger(__name__)

PeerName = Literal["ease", "als", "bpr"]
PEERS: tuple[PeerName, ...] = ("ease", "als", "bpr")

Scorer = Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float32]]
"""Scores of the catalogue for rows of the train matrix: ``(len(rows), n_items)``."""


class PeersConfig(BaseModel):
    """Which peers to rank and their hyper-parameters: the libraries' and papers' usual defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the peers ranked beside the candidate; () ranks none
    names: tuple[PeerName, ...] = PEERS
    # EASE's L2 weight; the paper's best values are 200-1000 on data sets of 10k-40k items
    ease_lambda: float = Field(500.0, gt=0.0)
    # EASE inverts an items x items matrix (5,500 items: 0.24 GB, 8 s on 2 cores; the cost grows
    # with the cube): over a larger catalogue it keeps the items with the most TRAIN positives. On
    # SimNet the cut costs nothing (NDCG@10 0.147 over all 5,472 items and over the top 1,000)
    ease_max_items: int = Field(5_000, ge=1)
    # latent factors of ALS and BPR
    factors: int = Field(64, ge=1, le=1024)
    # ALS: sweeps and L2 weight (implicit's defaults are 15 and 0.01)
    als_iterations: int = Field(15, ge=1, le=1000)
    als_regularization: float = Field(0.01, ge=0.0)
    # BPR: epochs of SGD, learning rate and L2 weight (implicit's defaults)
    bpr_iterations: int = Field(100, ge=1, le=10_000)
    bpr_learning_rate: float = Field(0.01, gt=0.0)
    bpr_regularization: float = Field(0.01, ge=0.0)
    # seeds ALS's and BPR's initialisation and sampling
    seed: int = 0


class PeerRanking(BaseModel):
    """One peer's outcome: its top-K (catalogue positions) or why it was skipped, and its seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: PeerName
    top: npt.NDArray[np.int64]  # (users evaluated, K) catalogue positions, best first
    seconds: float  # fitting and ranking
    note: str | None = None  # how it departs from the protocol, if it does (EASE over a cut catalogue)


def train_matrix(train: pd.DataFrame, data: EvaluationData) -> tuple[sparse.csr_matrix, npt.NDArray[np.int64]]:
    """The TRAIN positives as a binary users x catalogue matrix, and each evaluated user's row in it.

    Evaluated users without a TRAIN positive get one of the trailing all-zero rows.
    """
    mask = positive_mask(train)
    users = integer_ids(train, "user_id", "train")[mask]
    items = pd.Index(data.item_ids).get_indexer(pd.Index(integer_ids(train, "item_id", "train")[mask]))
    known = items >= 0
    user_index = pd.Index(np.unique(users[known]))
    rows = user_index.get_indexer(pd.Index(data.user_ids))
    cold = rows < 0
    rows[cold] = len(user_index) + np.arange(int(cold.sum()))
    shape = (len(user_index) + int(cold.sum()), len(data.item_ids))
    matrix = pair_matrix(user_index.get_indexer(pd.Index(users[known])), items[known], shape).astype(np.float32)
    return matrix.tocsr(), rows.astype(np.int64)


UNRANKED = float(np.finfo(np.float32).min) / 2
"""The score of an item a peer does not rank: finite, below every real score."""


def ease_weights(matrix: sparse.csr_matrix, lam: float) -> npt.NDArray[np.float32]:
    """EASE's item-item weights ``B = I - P / diag(P)``, ``P = (X'X + lam I)^-1``, zero diagonal."""
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)[None, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)


def fit_ease(matrix: sparse.csr_matrix, lam: float, max_items: int) -> tuple[Scorer, str | None]:
    """EASE over the catalogue, or over its ``max_items`` most engaged items; and a note when cut."""
    n_items = matrix.shape[1]
    if n_items <= max_items:
        b = ease_weights(matrix, lam)
        return (lambda rows: np.asarray(matrix[rows] @ b, dtype=np.float32)), None
    engaged = np.asarray(matrix.sum(axis=0)).ravel()
    kept = np.sort(np.argsort(-engaged, kind="stable")[:max_items])
    sub = matrix[:, kept].tocsr()
    b = ease_weights(sub, lam)

    def scores(rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        out = np.full((len(rows), n_items), UNRANKED, dtype=np.float32)
        out[:, kept] = np.asarray(sub[rows] @ b, dtype=np.float32)
        return out

    return scores, f"fitted on and ranking the {max_items} most engaged of {n_items} items"


def _implicit_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _factor_model(name: Literal["als", "bpr"], config: PeersConfig) -> Any:
    if name == "als":
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.als_regularization,
            iterations=config.als_iterations,
            random_state=config.seed,
            num_threads=_implicit_threads(),
            calculate_training_loss=False,
        )
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    return BayesianPersonalizedRanking(
        factors=config.factors,
        learning_rate=config.bpr_learning_rate,
        regularization=config.bpr_regularization,
        iterations=config.bpr_iterations,
        random_state=config.seed,
        num_threads=_implicit_threads(),
    )


def fit_factors(name: Literal["als", "bpr"], matrix: sparse.csr_matrix, config: PeersConfig) -> Scorer:
    """ALS or BPR from ``implicit`` on the user x item matrix; scores are ``user_factors @ item_factors.T``."""
    from threadpoolctl import threadpool_limits

    # implicit slows down when BLAS threads compete with its own: one BLAS thread meanwhile. It
    # still warns about a BLAS library loaded later (torch's), which these limits do not reach
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
        model = _factor_model(name, config)
        model.fit(matrix, show_progress=False)
    users = np.asarray(model.user_factors, dtype=np.float32)
    items = np.asarray(model.item_factors, dtype=np.float32)
    return lambda rows: users[rows] @ items.T


def _rank(scorer: Scorer, rows: npt.NDArray[np.int64], data: EvaluationData, k: int) -> npt.NDArray[np.int64]:
    """Top-K catalogue positions of ``scorer`` for the evaluated users, train positives excluded."""
    n_items = len(data.item_ids)
    out = np.full((len(rows), k), NO_ITEM, dtype=np.int64)
    step = chunk_rows(n_items)
    for start in range(0, len(rows), step):
        stop = min(start + step, len(rows))
        out[start:stop] = top_k_scores(scorer(rows[start:stop]), k, data.exclude[start:stop])
    return out


def rank_peers(
    train: pd.DataFrame, data: EvaluationData, k: int, config: PeersConfig | None = None
) -> list[PeerRanking]:
    """Fit each configured peer on ``train`` and rank ``data``'s users (module doc)."""
    config = config or PeersConfig()
    if not config.names:
        return []
    matrix, rows = train_matrix(train, data)
    results = []
    for name in config.names:
        started = time.perf_counter()
        note = None
        if name == "ease":
            scorer, note = fit_ease(matrix, config.ease_lambda, config.ease_max_items)
        else:
            scorer = fit_factors(name, matrix, config)
        top = _rank(scorer, rows, data, k)
        seconds = time.perf_counter() - started
        log.info("peer %s ranked %d users in %.1f s", name, len(rows), seconds)
        results.append(PeerRanking(name=name, top=top, seconds=round(seconds, 3), note=note))
    return results
