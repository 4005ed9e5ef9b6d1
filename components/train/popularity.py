"""A popularity term on any family: one more dimension of the score space.

Some logs say little about each user and much about the items: under a random policy every
item is shown alike, users click a few times each, and what most users take is the best guess
for the next one. :func:`with_popularity` adds that guess to a model, weighted, without a second
index: users get a 1 in a new last dimension and a known item ``weight * spread * z_i``, where
``z`` is the item's standardised ``log(1 + positives)`` in the training rows and ``spread`` the
spread of the model's own scores (on sampled users); a weight of 1 moves an item by one spread
per standard deviation of popularity. An item the model embeds later from its content (a new
item) gets 0 there: nothing is known of its popularity yet, so the term is neutral for it.
Training picks the weight on held-out rows (:mod:`components.train.families`; 0 adds nothing).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from components.split.table import integer_ids, positive_mask
from components.train.artifact import ModelArtifact, derived_identity
from components.train.encoder import ContentEncoder, PlacedEncoder

SPREAD_USERS = 2_000
"""Users sampled to measure the spread of the model's scores."""


def item_popularity(interactions: pd.DataFrame, item_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Standardised ``log(1 + positives)`` of each of ``item_ids`` in ``interactions`` (zeros if all are alike)."""
    mask = positive_mask(interactions)
    items = integer_ids(interactions, "item_id", "train")[mask]
    counts = pd.Series(items).value_counts().reindex(np.asarray(item_ids, np.int64), fill_value=0).to_numpy()
    logs = np.log1p(counts.astype(np.float64))
    sd = logs.std()
    return np.zeros(len(logs), np.float32) if sd == 0 else ((logs - logs.mean()) / sd).astype(np.float32)


def with_popularity(model: ModelArtifact, interactions: pd.DataFrame, weight: float, *, seed: int = 0) -> ModelArtifact:
    """``model`` with a popularity term of ``weight`` (module doc); ``weight`` 0 returns ``model`` itself."""
    if weight < 0:
        raise ValueError(f"the popularity weight must be >= 0, got {weight}")
    if weight == 0:
        return model
    rng = np.random.default_rng(seed)
    users = model.user_vectors
    if len(users):
        users = users[rng.choice(len(users), size=min(SPREAD_USERS, len(users)), replace=False)]
    else:
        users = np.asarray(model.cold_user, np.float32)[None, :]
    spread = float((users @ model.item_embeddings.T).std())
    term = weight * spread * item_popularity(interactions, model.item_ids)
    assert model.cold_user is not None
    encoder = model.item_encoder
    if isinstance(encoder, PlacedEncoder):
        encoder = PlacedEncoder(encoder.inner, encoder.before, encoder.scale, encoder.offset, encoder.after + 1)
    elif isinstance(encoder, ContentEncoder):
        encoder = PlacedEncoder(encoder, 0, 1.0, 0.0)  # [content vector, 0]
    facts = {"weight": weight, "spread": spread}
    return ModelArtifact(
        item_ids=model.item_ids,
        item_embeddings=np.hstack([model.item_embeddings, term[:, None]]).astype(np.float32),
        metadata=_metadata(model.metadata, facts),
        user_ids=model.user_ids,
        user_vectors=np.hstack([model.user_vectors, np.ones((len(model.user_ids), 1), np.float32)]),
        cold_user=np.append(model.cold_user, np.float32(1.0)),
        item_encoder=encoder,
    )


def _metadata(base: dict[str, object], facts: dict[str, float]) -> dict[str, object]:
    embedding = dict(base.get("embedding", {}))  # type: ignore[call-overload]
    embedding["dim"] = int(embedding.get("dim", 0)) + 1
    embedding["score"] = f"{embedding.get('score', 'the model')}; plus weight * spread * item popularity"
    return {
        **base,
        **derived_identity(base, facts),
        "popularity": facts,
        "embedding": embedding,
    }
