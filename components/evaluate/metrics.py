"""Top-K ranking metrics with binary relevance: exact definitions, as pure functions.

Notation for one user: ``ranked`` is the recommendation list (distinct items, best first; only
its first ``K`` entries matter), ``R`` the user's set of relevant items (non-empty), and
``rel_i`` is 1 if the item at rank ``i`` (1-based) is in ``R``, else 0.

- **HitRate@K** = 1 if any of the top K is relevant, else 0.
- **Recall@K** = hits@K / min(|R|, K), where hits@K = sum_{i<=K} rel_i. The denominator is
  capped at K so that a perfect ranking scores 1 even when |R| > K: the "normalised" recall
  of Liang et al. (2018, VAE-CF), standard in top-K retrieval benchmarks. The uncapped
  hits / |R| cannot reach 1 once a user has more than K relevant items, so it mixes ranking
  quality with how many positives users happen to have. Reports name the definition.
- **NDCG@K** = DCG@K / IDCG@K with DCG@K = sum_{i<=K} rel_i / log2(i + 1) and
  IDCG@K = sum_{i <= min(|R|, K)} 1 / log2(i + 1): the DCG of a ranking that puts relevant
  items first.
- **MRR@K** (reported as ``mrr``) = 1 / (rank of the first relevant item) if it is within
  the top K, else 0. MRR is truncated at K like the other metrics, so all of them judge the
  same list the user would see.
- **Coverage** = |distinct items recommended to any user in their top K| / catalogue size.

Metrics of a user with no relevant item are undefined: the scalar functions raise ValueError
and evaluation leaves such users out (and counts them). The ``batch_*`` functions compute the
same values for many users at once from a boolean hit matrix; tests check they agree.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

METRIC_NAMES: tuple[str, ...] = ("recall_at_k", "ndcg_at_k", "hit_rate_at_k", "mrr")
"""Per-user metrics, averaged over evaluated users in a report (coverage is over all users)."""


def _check(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not relevant:
        raise ValueError("metrics are undefined for a user without relevant items")
    if len(set(ranked)) != len(ranked):
        raise ValueError("the ranked list repeats an item")


def hits_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> list[bool]:
    """``rel_i`` for ranks 1..min(K, len(ranked)): whether each of the top K is relevant."""
    _check(ranked, relevant, k)
    wanted = set(relevant)
    return [item in wanted for item in ranked[:k]]


def hit_rate_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """HitRate@K: 1.0 if any of the top K is relevant, else 0.0."""
    return float(any(hits_at_k(ranked, relevant, k)))


def recall_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Recall@K = hits@K / min(|R|, K) (capped denominator; see the module doc)."""
    return sum(hits_at_k(ranked, relevant, k)) / min(len(set(relevant)), k)


def dcg_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """DCG@K = sum over ranks i <= K of rel_i / log2(i + 1)."""
    return float(sum(1.0 / np.log2(i + 2) for i, hit in enumerate(hits_at_k(ranked, relevant, k)) if hit))


def ideal_dcg_at_k(n_relevant: int, k: int) -> float:
    """IDCG@K = sum over i <= min(n_relevant, K) of 1 / log2(i + 1)."""
    return float(sum(1.0 / np.log2(i + 2) for i in range(min(n_relevant, k))))


def ndcg_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """NDCG@K = DCG@K / IDCG@K, in [0, 1]; 1 when the top min(|R|, K) are all relevant."""
    return dcg_at_k(ranked, relevant, k) / ideal_dcg_at_k(len(set(relevant)), k)


def reciprocal_rank_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """MRR@K for one user: 1 / rank of the first relevant item within the top K, else 0."""
    for i, hit in enumerate(hits_at_k(ranked, relevant, k)):
        if hit:
            return 1.0 / (i + 1)
    return 0.0


def coverage(recommendations: Iterable[Sequence[Hashable]], catalogue_size: int, k: int) -> float:
    """Distinct items among every list's top K, divided by ``catalogue_size`` (0 for an empty catalogue)."""
    if catalogue_size <= 0:
        return 0.0
    seen: set[Hashable] = set()
    for ranked in recommendations:
        seen.update(ranked[:k])
    return len(seen) / catalogue_size


# --- many users at once ---------------------------------------------------------------------


def discounts(k: int) -> npt.NDArray[np.float64]:
    """``1 / log2(i + 1)`` for ranks i = 1..K."""
    return np.asarray(1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64)))


def batch_metrics(hits: npt.NDArray[np.bool_], n_relevant: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.float64]]:
    """Per-user metrics from a ``(n_users, K)`` hit matrix and each user's |R| (all >= 1).

    Returns arrays of shape ``(n_users,)`` under the names of :data:`METRIC_NAMES`, with the
    definitions of the module doc (K is the matrix's width).
    """
    hits = np.asarray(hits, dtype=bool)
    n_relevant = np.asarray(n_relevant, dtype=np.int64)
    if hits.ndim != 2 or hits.shape[1] < 1:
        raise ValueError(f"hits must be (n_users, K) with K >= 1, got {hits.shape}")
    if n_relevant.shape != (hits.shape[0],):
        raise ValueError(f"n_relevant must have shape ({hits.shape[0]},), got {n_relevant.shape}")
    if (n_relevant < 1).any():
        raise ValueError("metrics are undefined for users without relevant items")
    k = hits.shape[1]
    weights = discounts(k)
    capped = np.minimum(n_relevant, k)
    ideal = np.cumsum(weights)[capped - 1]
    n_hits = hits.sum(axis=1)
    first = np.argmax(hits, axis=1)
    any_hit = hits.any(axis=1)
    return {
        "recall_at_k": n_hits / capped,
        "ndcg_at_k": (hits * weights).sum(axis=1) / ideal,
        "hit_rate_at_k": any_hit.astype(np.float64),
        "mrr": np.where(any_hit, 1.0 / (first + 1), 0.0),
    }


def batch_coverage(top_items: npt.NDArray[np.int64], catalogue_size: int) -> float:
    """Coverage of a ``(n_users, K)`` matrix of catalogue positions (distinct / catalogue size)."""
    if catalogue_size <= 0:
        return 0.0
    return len(np.unique(np.asarray(top_items).ravel())) / catalogue_size
