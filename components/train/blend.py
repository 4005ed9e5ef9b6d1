"""EASE blended with the two-tower: a collaborative family that still ranks items it never saw.

EASE (Steck, WWW 2019; the same fit the evaluator ranks as a peer,
:func:`components.evaluate.peers.ease_weights`) scores a user's items as ``x_u B`` over the
``max_items`` most engaged items. To serve through the same dot-product index as every other
model, ``B`` is factorised, ``B ~ P Q'`` (randomised SVD, ``rank`` factors; on SimNet 32-64
factors rank as well as the full matrix), so a user's EASE vector is ``x_u P`` and an item's is
its row of ``Q``. The two-tower's vectors are appended:

    user                   = [ x_u P,  u_tt,            1      ]
    item EASE knows        = [ q_i,    alpha * v_tt,    0      ]
    item EASE does not     = [ 0,      scale * v_tt,    offset ]

so a known item scores ``EASE + alpha * two-tower`` and any other item, including one created
after training and embedded from its content, scores ``scale * two-tower + offset``.
``alpha = weight * sd(EASE) / sd(two-tower)`` (``weight`` 0 is EASE alone on its items);
``scale`` and ``offset`` match the mean and spread of those items' blended scores, measured on
a sample of training users, so a new item is ranked among the known ones by its content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from scipy import sparse

from components.evaluate.peers import ease_weights
from components.evaluate.ranking import pair_matrix
from components.split.table import integer_ids, positive_mask
from components.train.artifact import ModelArtifact, derived_identity
from components.train.encoder import ContentEncoder, PlacedEncoder

MOMENT_USERS = 2_000
"""Training users sampled to measure the score spreads that set ``alpha``, ``scale`` and ``offset``."""


@dataclass(frozen=True)
class EaseFactors:
    """EASE over ``item_ids`` as factors: ``user_factors @ item_factors.T`` are the users' EASE scores."""

    item_ids: npt.NDArray[np.int64]  # the items EASE ranks (the most engaged of the catalogue)
    user_factors: npt.NDArray[np.float32]  # (users, rank), rows in the order asked for
    item_factors: npt.NDArray[np.float32]  # (len(item_ids), rank)
    lam: float

    @property
    def rank(self) -> int:
        return int(self.item_factors.shape[1])


def positives_matrix(
    interactions: pd.DataFrame, user_ids: npt.NDArray[np.int64], item_ids: npt.NDArray[np.int64]
) -> sparse.csr_matrix:
    """The positives as a binary ``len(user_ids) x len(item_ids)`` matrix (other users and items dropped)."""
    mask = positive_mask(interactions)
    users = pd.Index(user_ids).get_indexer(pd.Index(integer_ids(interactions, "user_id", "train")[mask]))
    items = pd.Index(item_ids).get_indexer(pd.Index(integer_ids(interactions, "item_id", "train")[mask]))
    known = (users >= 0) & (items >= 0)
    return pair_matrix(users[known], items[known], (len(user_ids), len(item_ids))).astype(np.float32).tocsr()


def fit_ease_factors(
    interactions: pd.DataFrame,
    user_ids: npt.NDArray[np.int64],
    item_ids: npt.NDArray[np.int64],
    *,
    lam: float,
    max_items: int,
    rank: int,
    seed: int = 0,
) -> EaseFactors:
    """EASE on the positives of ``user_ids`` over the ``max_items`` most engaged of ``item_ids``, factorised."""
    matrix = positives_matrix(interactions, user_ids, item_ids)
    engaged = np.asarray(matrix.sum(axis=0)).ravel()
    kept = np.sort(np.argsort(-engaged, kind="stable")[: min(max_items, int((engaged > 0).sum()))])
    if len(kept) == 0:
        raise ValueError("EASE needs positives: no item of the catalogue has one")
    sub = matrix[:, kept].tocsr()
    weights = ease_weights(sub, lam)
    if rank >= len(kept):
        left, right = weights, np.eye(len(kept), dtype=np.float32)
    else:
        generator = torch.random.fork_rng()
        with generator:
            torch.manual_seed(seed)
            u, s, v = torch.svd_lowrank(torch.from_numpy(weights), q=rank, niter=4)
        left, right = (u * s).numpy(), v.numpy()
    return EaseFactors(
        item_ids=np.asarray(item_ids, np.int64)[kept],
        user_factors=np.asarray(sub @ left, dtype=np.float32),
        item_factors=np.ascontiguousarray(right, dtype=np.float32),
        lam=lam,
    )


def _spread(scores: npt.NDArray[np.float32]) -> tuple[float, float]:
    return float(scores.mean()), float(scores.std())


def blend(two_tower: ModelArtifact, ease: EaseFactors, weight: float, *, seed: int = 0) -> ModelArtifact:
    """One artifact ranking EASE's items by ``EASE + alpha * two-tower`` and every other item by content.

    ``ease`` must have been fitted for ``two_tower.user_ids`` (rows in that order); see the
    module doc for the layout and how ``alpha``, ``scale`` and ``offset`` are set.
    """
    if len(ease.user_factors) != len(two_tower.user_ids):
        raise ValueError(f"EASE has {len(ease.user_factors)} users, the two-tower {len(two_tower.user_ids)}")
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(two_tower.user_ids), size=min(MOMENT_USERS, len(two_tower.user_ids)), replace=False)
    tt_items = two_tower.item_vectors(ease.item_ids)
    ease_scores = ease.user_factors[sample] @ ease.item_factors.T
    tt_scores = two_tower.user_vectors[sample] @ tt_items.T
    _, ease_sd = _spread(ease_scores)
    tt_mean, tt_sd = _spread(tt_scores)
    alpha = weight * ease_sd / tt_sd if tt_sd > 0 else 0.0
    blended_mean, blended_sd = _spread(ease_scores + alpha * tt_scores)
    scale = blended_sd / tt_sd if tt_sd > 0 else 0.0
    offset = blended_mean - scale * tt_mean

    rank, dim = ease.rank, two_tower.dim
    where = pd.Index(two_tower.item_ids).get_indexer(pd.Index(ease.item_ids))
    items = np.zeros((len(two_tower.item_ids), rank + dim + 1), dtype=np.float32)
    items[:, rank : rank + dim] = scale * two_tower.item_embeddings
    items[:, -1] = offset
    items[where, :rank] = ease.item_factors
    items[where, rank : rank + dim] = alpha * two_tower.item_embeddings[where]
    items[where, -1] = 0.0
    users = np.hstack([ease.user_factors, two_tower.user_vectors, np.ones((len(ease.user_factors), 1), np.float32)])
    assert two_tower.cold_user is not None
    cold = np.concatenate([ease.user_factors.mean(axis=0), two_tower.cold_user, [1.0]]).astype(np.float32)
    encoder = two_tower.item_encoder
    placed = PlacedEncoder(encoder, rank, scale, offset) if isinstance(encoder, ContentEncoder) else None
    facts = {
        "family": family_of(weight),
        "weight": weight,
        "alpha": alpha,
        "scale": scale,
        "offset": offset,
        "ease_lambda": ease.lam,
        "ease_items": len(ease.item_ids),
        "ease_rank": rank,
        "two_tower_version": two_tower.version,
    }
    return ModelArtifact(
        item_ids=two_tower.item_ids,
        item_embeddings=items,
        metadata=_metadata(two_tower.metadata, facts),
        user_ids=two_tower.user_ids,
        user_vectors=users,
        cold_user=cold,
        item_encoder=placed,
    )


def family_of(weight: float) -> str:
    """The family a blend weight makes: EASE alone on its items (0), or EASE with the two-tower."""
    return "ease" if weight == 0 else "ease+two-tower"


def _metadata(base: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    return {
        **base,
        **derived_identity(base, facts),
        "model": facts["family"],
        "family": facts["family"],
        "blend": facts,
        "embedding": {
            "dim": int(facts["ease_rank"]) + int(base.get("embedding", {}).get("dim", 0)) + 1,
            "normalised": False,
            "score": "EASE + alpha * two-tower on EASE's items; scale * two-tower + offset on the others",
        },
    }
