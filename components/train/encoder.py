"""The content encoder kept in an artifact: embeds items the model has no id for (cold start).

It is the item tower with the id embedding removed: creator embedding (zero for an unknown
creator) plus the content tower over the hashed text vector and the standardised image
statistics, exported in the artifact's score space (``[v / |v|, bias]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
import torch.nn.functional as F

from components.train.content import Standardiser, image_matrix, text_matrix
from components.train.model import ContentTower, ItemTower

_CHUNK = 65536


class ContentEncoder:
    """Embeds item content (``item_features`` columns, or raw ``text``) into the artifact's item space."""

    def __init__(
        self,
        content: ContentTower,
        creator_weight: torch.Tensor,
        creator_ids: npt.NDArray[np.int64],
        image_scaler: Standardiser,
        dim: int,
        use_content: bool = True,
    ) -> None:
        self.content = content.eval()
        self.creator_weight = creator_weight.detach().cpu()
        self.creator_index = pd.Index(np.asarray(creator_ids, dtype=np.int64))
        self.image_scaler = image_scaler
        self.dim = dim
        self.use_content = use_content

    @classmethod
    def from_tower(
        cls, tower: ItemTower, creator_ids: npt.NDArray[np.int64], scaler: Standardiser, use_content: bool
    ) -> ContentEncoder:
        """A copy of a trained item tower's content and creator parts."""
        source = tower.content
        content = ContentTower(source.text_dim, source.image_dim, tower.dim, source.hidden)
        content.load_state_dict({k: v.detach().cpu() for k, v in tower.content.state_dict().items()})
        return cls(content, tower.creator_emb.weight.detach().clone(), creator_ids, scaler, tower.dim, use_content)

    def creator_rows(self, content: pd.DataFrame) -> npt.NDArray[np.int64]:
        """Creator embedding rows of each row (0 when ``creator_id`` is absent, null or unseen)."""
        if "creator_id" not in content.columns:
            return np.zeros(len(content), dtype=np.int64)
        ids = content["creator_id"].fillna(-1).to_numpy(np.int64)
        return (self.creator_index.get_indexer(pd.Index(ids)) + 1).astype(np.int64)

    def encode(self, content: pd.DataFrame) -> npt.NDArray[np.float32]:
        """``(len(content), dim + 1)`` embeddings ``[unit vector, bias]`` (see :mod:`components.train.artifact`)."""
        text = torch.from_numpy(text_matrix(content))
        image = torch.from_numpy(self.image_scaler(image_matrix(content)))
        if not self.use_content:
            text, image = torch.zeros_like(text), torch.zeros_like(image)
        creators = torch.from_numpy(self.creator_rows(content))
        out = []
        with torch.no_grad():
            for start in range(0, len(content), _CHUNK):
                sl = slice(start, start + _CHUNK)
                c = self.content(text[sl], image[sl])
                vec = F.normalize(c[:, : self.dim] + self.creator_weight[creators[sl]], dim=1)
                out.append(torch.cat([vec, c[:, self.dim :]], dim=1))
        if not out:
            return np.zeros((0, self.dim + 1), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32)

    def state(self) -> dict[str, Any]:
        """Tensors and plain values only, so ``torch.load(weights_only=True)`` can read it back."""
        return {
            "dim": self.dim,
            "use_content": self.use_content,
            "text_dim": self.content.text_dim,
            "image_dim": self.content.image_dim,
            "hidden": self.content.hidden,
            "content": self.content.state_dict(),
            "creator_weight": self.creator_weight,
            "creator_ids": torch.from_numpy(self.creator_index.to_numpy(np.int64)),
            "image_mean": torch.from_numpy(self.image_scaler.mean),
            "image_std": torch.from_numpy(self.image_scaler.std),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ContentEncoder:
        """Rebuild an encoder from :meth:`state`."""
        content = ContentTower(int(state["text_dim"]), int(state["image_dim"]), int(state["dim"]), int(state["hidden"]))
        content.load_state_dict(state["content"])
        scaler = Standardiser(state["image_mean"].numpy(), state["image_std"].numpy())
        return cls(
            content,
            state["creator_weight"],
            state["creator_ids"].numpy(),
            scaler,
            int(state["dim"]),
            bool(state["use_content"]),
        )


class PlacedEncoder:
    """An encoder whose vectors are scaled and placed in a wider score space (a blended model's).

    ``encode`` returns ``[0 * before, scale * inner(content), offset, 0 * after]``: the inner
    encoder's vector in its block, zeros where another family's factors go, the ``offset`` a
    blended model adds to items outside its collaborative part (:mod:`components.train.blend`)
    and zeros for terms a new item has no value for yet (:mod:`components.train.popularity`).
    """

    KIND = "placed"

    def __init__(self, inner: ContentEncoder, before: int, scale: float, offset: float, after: int = 0) -> None:
        self.inner, self.before, self.scale, self.offset, self.after = inner, before, scale, offset, after

    def encode(self, content: pd.DataFrame) -> npt.NDArray[np.float32]:
        vectors = self.inner.encode(content)
        width = vectors.shape[1]
        out = np.zeros((len(vectors), self.before + width + 1 + self.after), dtype=np.float32)
        out[:, self.before : self.before + width] = self.scale * vectors
        out[:, self.before + width] = self.offset
        return out

    def state(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "inner": self.inner.state(),
            "before": self.before,
            "scale": self.scale,
            "offset": self.offset,
            "after": self.after,
        }


def encoder_from_state(state: dict[str, Any]) -> ContentEncoder | PlacedEncoder:
    """Rebuild an encoder saved by ``state()``: a content encoder, or one placed in a blended model's space."""
    if state.get("kind") == PlacedEncoder.KIND:
        inner = ContentEncoder.from_state(state["inner"])
        before, after = int(state["before"]), int(state.get("after", 0))
        return PlacedEncoder(inner, before, float(state["scale"]), float(state["offset"]), after)
    return ContentEncoder.from_state(state)
