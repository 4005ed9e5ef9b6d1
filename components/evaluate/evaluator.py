"""Offline evaluation: rank the full catalogue for every test user, for the model and its peers.

:func:`evaluate` builds the protocol once (:mod:`components.evaluate.data`), then scores the
candidate, the popularity baseline (fitted on TRAIN), the classic peers a practitioner tries
first (EASE, ALS, BPR, fitted on TRAIN: :mod:`components.evaluate.peers`) and optionally the
current champion on exactly the same users, catalogue, exclusions and K, so the metric blocks
compare directly. Each block holds the users' mean of :data:`~components.evaluate.metrics.METRIC_NAMES`
plus coverage. A :class:`~components.evaluate.promotion.PromotionDecision` is always attached;
without a champion it compares with popularity only.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from components.evaluate.data import EvaluationData, build_evaluation_data
from components.evaluate.metrics import METRIC_NAMES, batch_coverage, batch_metrics
from components.evaluate.peers import PeersConfig, rank_peers
from components.evaluate.promotion import PromotionConfig, PromotionDecision, decide
from components.evaluate.ranking import hit_matrix, top_k, top_k_shared

log = logging.getLogger(__name__)

DEFINITIONS: dict[str, str] = {
    "recall_at_k": "hits in top K / min(|relevant|, K)",
    "ndcg_at_k": "DCG@K / IDCG@K, binary relevance, 1/log2(rank+1) discount, IDCG over min(|relevant|, K)",
    "hit_rate_at_k": "1 if any relevant item in top K, else 0",
    "mrr": "1 / rank of the first relevant item if within top K, else 0 (MRR@K)",
    "coverage": "distinct items recommended in any user's top K / catalogue size",
}
"""One-line metric definitions, repeated in every report (see components/evaluate/metrics.py)."""


class RankingModel(Protocol):
    """What evaluation needs of a model: :class:`components.train.artifact.ModelArtifact` fits."""

    @property
    def item_ids(self) -> npt.NDArray[np.int64]:
        """The catalogue, in the row order of :attr:`item_embeddings`."""
        ...

    @property
    def item_embeddings(self) -> npt.NDArray[np.float32]:
        """``(n_items, dim)``; a score is ``user_embedding @ item_embedding``."""
        ...

    def user_embeddings(self, user_ids: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """``(n_users, dim)``; unknown users get a fallback embedding (never an error)."""
        ...


class EvaluateConfig(BaseModel):
    """How to evaluate: K, the chunking of the ranking loop, and which users count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # length of the recommendation list every metric judges
    k: int = Field(10, ge=1)
    # users scored per matrix product; None sizes chunks to about 16M scores (64 MB)
    chunk_users: int | None = Field(None, ge=1)
    # torch device for scoring and top-K ("cpu", "cuda"); evaluation is exact on either
    device: str = "cpu"
    # evaluate users with no TRAIN row (the model gives them its cold-user embedding); counted either way
    include_cold_users: bool = True
    # the classic peers ranked beside the candidate (names: () for none) and their hyper-parameters
    peers: PeersConfig = Field(default_factory=PeersConfig)


class MetricBlock(BaseModel):
    """Mean per-user metrics of one ranker over the evaluated users, and its catalogue coverage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recall_at_k: float
    ndcg_at_k: float
    hit_rate_at_k: float
    mrr: float
    coverage: float


class PeerBlock(MetricBlock):
    """A peer's metric block, the seconds it took to fit and rank, and how it departs from the protocol."""

    seconds: float
    note: str | None = None


class EvaluationReport(BaseModel):
    """What ``tinyworld evaluate --json`` prints: metric blocks, protocol, and optional decision."""

    model_config = ConfigDict(extra="forbid")

    model: MetricBlock
    popularity: MetricBlock
    protocol: dict[str, Any]
    champion: MetricBlock | None = None
    promotion: PromotionDecision | None = None
    peers: dict[str, PeerBlock] = {}  # name -> block, in the configured order

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``champion`` and ``promotion`` appear only when set."""
        return self.model_dump(mode="json", exclude_none=True)


def metric_block(top: npt.NDArray[np.int64], data: EvaluationData) -> MetricBlock:
    """Mean metrics of a ``(users, K)`` top-K matrix against ``data``'s relevant items."""
    per_user = batch_metrics(hit_matrix(top, data.relevant), data.n_relevant)
    means = {name: float(per_user[name].mean()) for name in METRIC_NAMES}
    recommended = top[top >= 0]
    return MetricBlock(**means, coverage=batch_coverage(recommended, len(data.item_ids)))


def rank_model(model: RankingModel, data: EvaluationData, config: EvaluateConfig) -> npt.NDArray[np.int64]:
    """Top-K catalogue positions of ``model`` for each evaluated user (catalogue = ``data.item_ids``).

    The model may know a different item set (a champion trained earlier): items it has no
    embedding for are never recommended by it.
    """
    own = pd.Index(np.asarray(model.item_ids, dtype=np.int64))
    pos = own.get_indexer(pd.Index(data.item_ids))
    vectors = np.asarray(model.item_embeddings, dtype=np.float32)
    if len(vectors) == 0:
        raise ValueError("the model has no item embeddings")
    items = np.zeros((len(data.item_ids), vectors.shape[1]), dtype=np.float32)
    items[pos >= 0] = vectors[pos[pos >= 0]]
    users = np.asarray(model.user_embeddings(data.user_ids), dtype=np.float32)
    return top_k(users, items, config.k, data.exclude, pos < 0, config.chunk_users, config.device)


def rank_popularity(data: EvaluationData, config: EvaluateConfig) -> npt.NDArray[np.int64]:
    """Top-K of the popularity baseline: most TRAIN positives first, the user's train positives excluded.

    Ties (items with equal counts) are broken by catalogue position. The same exclusions as
    the model's apply.
    """
    return top_k_shared(data.popularity, len(data.user_ids), config.k, data.exclude)


def _check_device(device: str) -> None:
    """ValueError for a device torch cannot use here (e.g. cuda on a CPU-only build)."""
    import torch

    try:
        kind = torch.device(device).type
    except RuntimeError as error:
        raise ValueError(f"unknown torch device {device!r}: {error}") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available on this machine")


def evaluate(
    model: RankingModel,
    train: pd.DataFrame,
    test: pd.DataFrame,
    config: EvaluateConfig | None = None,
    champion: RankingModel | None = None,
    promotion: PromotionConfig | None = None,
    split: dict[str, Any] | None = None,
) -> EvaluationReport:
    """Evaluate ``model`` (and popularity, and ``champion`` if given) on ``test`` after ``train``.

    The catalogue is the model's ``item_ids``. ``split`` describes how train and test were
    made (``split.json``), reported under ``protocol.split``. Raises
    :class:`~components.evaluate.data.EvaluationInputError` or
    :class:`~components.split.table.InteractionsError` for unusable inputs and ValueError when
    K exceeds the catalogue.
    """
    config = config or EvaluateConfig()
    _check_device(config.device)
    started = time.perf_counter()
    data = build_evaluation_data(train, test, model.item_ids, config.include_cold_users)
    if config.k > len(data.item_ids):
        raise ValueError(f"k = {config.k} exceeds the catalogue size {len(data.item_ids)}")
    prepared = time.perf_counter()
    model_block = metric_block(rank_model(model, data, config), data)
    ranked = time.perf_counter()
    popularity_block = metric_block(rank_popularity(data, config), data)
    peers_started = time.perf_counter()
    peers = {
        peer.name: PeerBlock(**metric_block(peer.top, data).model_dump(), seconds=peer.seconds, note=peer.note)
        for peer in rank_peers(train, data, config.k, config.peers)
    }
    peers_seconds = time.perf_counter() - peers_started
    champion_block = metric_block(rank_model(champion, data, config), data) if champion is not None else None
    decision = decide(
        model_block.model_dump(),
        popularity_block.model_dump(),
        champion_block.model_dump() if champion_block else None,
        len(data.user_ids),
        promotion,
    )
    finished = time.perf_counter()
    protocol: dict[str, Any] = {
        "k": config.k,
        "catalogue": "the model's item_ids",
        "catalogue_size": len(data.item_ids),
        **data.counts,
        "positive_rule": data.positive_rule,
        "relevant": "distinct TEST positives per user, in the catalogue, not TRAIN positives of that user",
        "excluded_items": "each user's TRAIN positives (never recommended back)",
        "cold_users_included": config.include_cold_users,
        "popularity_baseline": "TRAIN positive rows per catalogue item; ties by catalogue order",
        "peers": "fitted on the TRAIN positives over the catalogue, same users, exclusions and K",
        "metrics": DEFINITIONS,
        "split": split or {},
        "seconds": {
            "prepare": round(prepared - started, 3),
            "model": round(ranked - prepared, 3),
            "peers": round(peers_seconds, 3),
            "total": round(finished - started, 3),
        },
    }
    log.info(
        "model ndcg@%d %.4f recall %.4f; popularity ndcg %.4f; %s; %d users in %.2f s",
        config.k,
        model_block.ndcg_at_k,
        model_block.recall_at_k,
        popularity_block.ndcg_at_k,
        ", ".join(f"{name} ndcg {block.ndcg_at_k:.4f}" for name, block in peers.items()) or "no peers",
        len(data.user_ids),
        finished - started,
    )
    return EvaluationReport(
        model=model_block,
        popularity=popularity_block,
        protocol=protocol,
        champion=champion_block,
        promotion=decision,
        peers=peers,
    )
