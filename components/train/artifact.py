"""The model artifact: what training hands to evaluation, the registry and serving.

A :class:`ModelArtifact` is a retrieval model reduced to arrays: one embedding per known
item, one per known user, a cold-user embedding, and (optionally) the item tower's content
encoder, so that an item created after training can still be embedded and ranked.

Scores are plain dot products ``user_embedding @ item_embedding``. Embeddings are **not**
L2-normalised: training learns a cosine similarity divided by a temperature plus a per-item
bias, and the exported vectors fold both in (``item = [v / |v|, bias]``,
``user = [u / |u| / temperature, 1]``), so the dot product is exactly the model's logit and a
maximum-inner-product index (or one matrix product) ranks items as the model does.

On disk (a local folder, or an object-store URL such as ``s3://bucket/models/v1``, resolved by
:func:`components.storage.resolve`)::

    metadata.json      the metadata dict (version, data window, rows, features, params, metrics...)
    arrays.npz         item_ids, item_embeddings, user_ids, user_embeddings, cold_user
    item_encoder.pt    the content encoder's state (torch.save, tensors only); absent if none
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from components.storage import Root, StorageOptions, resolve

logger = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"
ARRAYS_FILE = "arrays.npz"
ENCODER_FILE = "item_encoder.pt"
FORMAT_VERSION = 1
"""Bumped whenever the layout on disk changes; :func:`load_model` refuses newer formats."""


class ItemEncoder(Protocol):
    """Embeds items from their content (and creator), without an item-id embedding."""

    def encode(self, content: pd.DataFrame) -> npt.NDArray[np.float32]:
        """``(len(content), dim)`` embeddings, in the same space as ``ModelArtifact.item_embeddings``."""
        ...

    def state(self) -> dict[str, Any]:
        """A ``torch.save``-able dict (tensors, numbers, strings, lists, dicts) to rebuild the encoder."""
        ...


def _empty_ids() -> npt.NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


def _empty_vectors() -> npt.NDArray[np.float32]:
    return np.zeros((0, 0), dtype=np.float32)


def _lookup_index(ids: npt.NDArray[np.int64]) -> pd.Index:
    """An index of ``ids`` whose hash table is built now, not on the first lookup.

    pandas builds it lazily, and two threads serving their first requests at once can see it
    half built ("Reindexing only valid with uniquely valued Index objects").
    """
    index = pd.Index(ids)
    if len(index) and index.is_unique:
        index.get_indexer(index[:1])
    return index


def derived_identity(base: dict[str, Any], facts: dict[str, Any]) -> dict[str, str]:
    """``version`` and ``created_at`` of a model made from ``base``'s metadata and ``facts`` (a blend, a term)."""
    created = datetime.now(UTC)
    digest = hashlib.sha1(json.dumps({"base": base.get("version"), **facts}, sort_keys=True).encode()).hexdigest()
    return {"version": f"{created:%Y%m%dT%H%M%SZ}-{digest[:8]}", "created_at": created.isoformat()}


@dataclass
class ModelArtifact:
    """A trained two-tower retrieval model, as arrays.

    ``item_ids`` (int64) is the catalogue the model knows, in the row order of
    ``item_embeddings`` (float32, ``(n_items, dim)``, not L2-normalised: see the module doc).
    ``user_ids``/``user_vectors`` are the user tower's outputs for the users seen in training
    (with their latest features); ``cold_user`` is the embedding of a user the model has never
    seen: the user tower's learned cold-id vector with average features. ``metadata`` holds
    version, created_at, data window, rows, features, params, code version and, once
    evaluation has run, ``metrics``.
    """

    item_ids: npt.NDArray[np.int64]
    item_embeddings: npt.NDArray[np.float32]
    metadata: dict[str, Any]
    user_ids: npt.NDArray[np.int64] = field(default_factory=_empty_ids)
    user_vectors: npt.NDArray[np.float32] = field(default_factory=_empty_vectors)
    cold_user: npt.NDArray[np.float32] | None = None
    item_encoder: ItemEncoder | None = None

    def __post_init__(self) -> None:
        self.item_ids = np.asarray(self.item_ids, dtype=np.int64)
        self.item_embeddings = np.asarray(self.item_embeddings, dtype=np.float32)
        self.user_ids = np.asarray(self.user_ids, dtype=np.int64)
        if len(self.user_ids):
            self.user_vectors = np.asarray(self.user_vectors, dtype=np.float32).reshape(len(self.user_ids), -1)
        else:
            self.user_vectors = np.zeros((0, self.item_embeddings.shape[-1]), dtype=np.float32)
        if self.item_embeddings.ndim != 2 or len(self.item_embeddings) != len(self.item_ids):
            raise ValueError(
                f"item_embeddings must be (n_items, dim) with n_items = {len(self.item_ids)}, "
                f"got {self.item_embeddings.shape}"
            )
        if len(self.user_ids) and self.user_vectors.shape[1] != self.dim:
            raise ValueError(f"user_vectors have dim {self.user_vectors.shape[1]}, items {self.dim}")
        if self.cold_user is None:
            self.cold_user = (
                self.user_vectors.mean(axis=0) if len(self.user_ids) else np.zeros(self.dim, dtype=np.float32)
            )
        self.cold_user = np.asarray(self.cold_user, dtype=np.float32).reshape(self.dim)
        self._item_pos = _lookup_index(self.item_ids)
        self._user_pos = _lookup_index(self.user_ids)

    def with_metadata(self, **updates: Any) -> ModelArtifact:
        """The same model with ``updates`` merged into its metadata (arrays shared, not copied)."""
        return replace(self, metadata={**self.metadata, **updates})

    @property
    def dim(self) -> int:
        """Embedding width (the same for users and items)."""
        return int(self.item_embeddings.shape[1])

    @property
    def version(self) -> str:
        """The model version from the metadata (empty if unset)."""
        return str(self.metadata.get("version", ""))

    def has_items(self, item_ids: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which of ``item_ids`` the model has an embedding for (the rest need :meth:`embed_items`)."""
        return np.asarray(self._item_pos.get_indexer(pd.Index(np.asarray(item_ids, dtype=np.int64).reshape(-1))) >= 0)

    def has_users(self, user_ids: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which of ``user_ids`` were seen in training (the rest get the cold-user embedding)."""
        return np.asarray(self._user_pos.get_indexer(pd.Index(np.asarray(user_ids, dtype=np.int64).reshape(-1))) >= 0)

    def user_embeddings(self, user_ids: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """``(n, dim)`` user embeddings; a user unseen in training gets :attr:`cold_user` (never an error)."""
        pos = self._user_pos.get_indexer(pd.Index(np.asarray(user_ids, dtype=np.int64).reshape(-1)))
        assert self.cold_user is not None
        out = np.broadcast_to(self.cold_user, (len(pos), self.dim)).copy()
        known = pos >= 0
        out[known] = self.user_vectors[pos[known]]
        return out

    def item_vectors(self, item_ids: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """``(n, dim)`` embeddings of known items; KeyError naming unknown ids (use :meth:`embed_items`)."""
        ids = np.asarray(item_ids, dtype=np.int64).reshape(-1)
        pos = self._item_pos.get_indexer(pd.Index(ids))
        if (pos < 0).any():
            missing = ids[pos < 0]
            raise KeyError(
                f"{len(missing)} item id(s) unknown to model {self.version or '?'}, e.g. {missing[:5].tolist()}; "
                "embed new items from their content with embed_items()"
            )
        return self.item_embeddings[pos]

    def score(self, user_ids: npt.ArrayLike, item_ids: npt.ArrayLike | None = None) -> npt.NDArray[np.float32]:
        """``(n_users, n_items)`` dot-product scores (the model's logits; higher is better).

        ``item_ids=None`` scores the whole catalogue in :attr:`item_ids` order. Unknown users
        get the cold-user embedding; unknown items raise KeyError (see :meth:`item_vectors`).
        """
        items = self.item_embeddings if item_ids is None else self.item_vectors(item_ids)
        return np.asarray(self.user_embeddings(user_ids) @ items.T, dtype=np.float32)

    def embed_items(self, content: pd.DataFrame) -> npt.NDArray[np.float32]:
        """Cold start: ``(len(content), dim)`` embeddings of items from their content, one per row.

        Columns as in the ETL's ``item_features`` table: ``text_vec`` (32 floats; or a raw
        ``text`` string column, hashed the same way), ``img_mean_r/g/b``, ``img_std_r/g/b``,
        ``img_texture`` and, if known, ``creator_id``. Missing content columns count as zeros
        (average content); a creator unseen in training uses the learned unknown-creator vector.
        The item-id embedding is never used, so a known item gets its content-only embedding.
        Raises RuntimeError if the artifact was saved without an encoder.
        """
        if self.item_encoder is None:
            raise RuntimeError(f"model {self.version or '?'} has no content encoder; it cannot embed new items")
        return np.asarray(self.item_encoder.encode(content), dtype=np.float32)


def save_model(artifact: ModelArtifact, path: str | Path | Root, *, storage: StorageOptions | None = None) -> str:
    """Write ``artifact`` under ``path`` (a folder, created if needed, or an object-store URL); returns its URL."""
    import torch

    target = resolve(str(path) if isinstance(path, Path) else path, storage)
    target.makedirs()
    metadata = {**artifact.metadata, "format_version": FORMAT_VERSION, "dim": artifact.dim}
    target.join(METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str))
    buffer = io.BytesIO()
    np.savez(
        buffer,
        item_ids=artifact.item_ids,
        item_embeddings=artifact.item_embeddings,
        user_ids=artifact.user_ids,
        user_embeddings=artifact.user_vectors,
        cold_user=np.asarray(artifact.cold_user, dtype=np.float32),
    )
    _write_bytes(target.join(ARRAYS_FILE), buffer.getvalue())
    if artifact.item_encoder is not None:
        buffer = io.BytesIO()
        torch.save(artifact.item_encoder.state(), buffer)
        _write_bytes(target.join(ENCODER_FILE), buffer.getvalue())
    logger.info(
        "saved model %s (%d items, %d users) to %s",
        artifact.version,
        len(artifact.item_ids),
        len(artifact.user_ids),
        target.url,
    )
    return target.url


def _write_bytes(target: Root, data: bytes) -> None:
    fs, path = target.fsspec()
    with fs.open(path, "wb") as f:
        f.write(data)


def _read_bytes(source: Root) -> bytes:
    fs, path = source.fsspec()
    with fs.open(path, "rb") as f:
        return bytes(f.read())


def load_model(path: str | Path | Root, *, storage: StorageOptions | None = None) -> ModelArtifact:
    """Read an artifact written by :func:`save_model` from a folder or object-store URL.

    Raises FileNotFoundError when ``path`` holds no model, ValueError for a newer format.
    """
    import torch

    source = resolve(str(path) if isinstance(path, Path) else path, storage)
    if not source.join(METADATA_FILE).exists():
        raise FileNotFoundError(f"no model at {source.url} (missing {METADATA_FILE})")
    metadata: dict[str, Any] = json.loads(source.join(METADATA_FILE).read_text())
    if int(metadata.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"model at {source.url} has format {metadata['format_version']}; this code reads up to {FORMAT_VERSION}"
        )
    arrays = np.load(io.BytesIO(_read_bytes(source.join(ARRAYS_FILE))))
    parts = {name: arrays[name] for name in arrays.files}
    encoder: ItemEncoder | None = None
    if source.join(ENCODER_FILE).exists():
        from components.train.encoder import encoder_from_state

        state = torch.load(io.BytesIO(_read_bytes(source.join(ENCODER_FILE))), map_location="cpu", weights_only=True)
        encoder = encoder_from_state(state)
    return ModelArtifact(
        item_ids=parts["item_ids"],
        item_embeddings=parts["item_embeddings"],
        metadata=metadata,
        user_ids=parts["user_ids"],
        user_vectors=parts["user_embeddings"],
        cold_user=parts["cold_user"],
        item_encoder=encoder,
    )
