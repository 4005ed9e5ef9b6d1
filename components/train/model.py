"""The two-tower retrieval model and its loss.

User tower: ``normalize(user_id_embedding + MLP(user features))``; row 0 of the id table is
the learned cold user (trained through user-id dropout). Item tower:
``normalize(item_id_embedding + creator_embedding + content_vector)`` plus a scalar bias
``item_id_bias + content_bias``, where the content encoder maps the hashed text vector and
the image statistics through small MLPs. Row 0 of the item-id and creator tables is the
zero "no id" vector, so an item without an id (new, or dropped out in training) is embedded
from content and creator alone. The logit is ``cos(u, v) / temperature + bias``.

Loss (:func:`retrieval_loss`): softmax over in-batch items with the logQ correction (each
in-batch logit minus the log of that item's sampling probability; Yi et al., RecSys 2019),
accidental hits masked, plus per-row hard negatives (items shown to the same user and not
clicked), each corrected by the log of its own sampling frequency among impressions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_INIT_STD = 0.1


class ContentTower(nn.Module):
    """Text vector and image statistics -> ``dim`` vector and a scalar bias (``dim + 1`` outputs)."""

    def __init__(self, text_dim: int, image_dim: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.text_dim, self.image_dim, self.hidden = text_dim, image_dim, hidden
        self.text = nn.Sequential(nn.Linear(text_dim, hidden), nn.ReLU())
        self.image = nn.Sequential(nn.Linear(image_dim, hidden), nn.ReLU())
        self.out = nn.Linear(2 * hidden, dim + 1)

    def forward(self, text: Tensor, image: Tensor) -> Tensor:
        return self.out(torch.cat([self.text(text), self.image(image)], dim=1))


class ItemTower(nn.Module):
    """Item id + creator + content -> (unit vector, bias)."""

    def __init__(self, n_items: int, n_creators: int, text_dim: int, image_dim: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.dim = dim
        self.item_emb = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.item_bias = nn.Embedding(n_items + 1, 1, padding_idx=0)
        self.creator_emb = nn.Embedding(n_creators + 1, dim, padding_idx=0)
        self.content = ContentTower(text_dim, image_dim, dim, hidden)
        nn.init.normal_(self.item_emb.weight, std=_INIT_STD)
        nn.init.zeros_(self.item_bias.weight)
        nn.init.normal_(self.creator_emb.weight, std=_INIT_STD)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
            self.creator_emb.weight[0].zero_()

    def forward(self, item_row: Tensor, creator_row: Tensor, text: Tensor, image: Tensor) -> tuple[Tensor, Tensor]:
        content = self.content(text, image)
        vec = content[:, : self.dim] + self.item_emb(item_row) + self.creator_emb(creator_row)
        bias = content[:, self.dim] + self.item_bias(item_row).squeeze(1)
        return F.normalize(vec, dim=1), bias


class UserTower(nn.Module):
    """User id (row 0 = cold user) + optional features -> unit vector."""

    def __init__(self, n_users: int, n_features: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(n_users + 1, dim)
        nn.init.normal_(self.user_emb.weight, std=_INIT_STD)
        self.features = (
            nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, dim)) if n_features else None
        )

    def forward(self, user_row: Tensor, features: Tensor) -> Tensor:
        vec = self.user_emb(user_row)
        if self.features is not None:
            vec = vec + self.features(features)
        return F.normalize(vec, dim=1)


class TwoTower(nn.Module):
    """Both towers; ``forward`` returns the loss of one batch so DDP wraps a single call."""

    def __init__(
        self,
        n_users: int,
        n_user_features: int,
        n_items: int,
        n_creators: int,
        text_dim: int,
        image_dim: int,
        dim: int,
        hidden: int,
        temperature: float,
    ) -> None:
        super().__init__()
        self.temperature = temperature
        self.users = UserTower(n_users, n_user_features, dim, hidden)
        self.items = ItemTower(n_items, n_creators, text_dim, image_dim, dim, hidden)

    def forward(self, batch: dict[str, Tensor], logq_correction: bool) -> Tensor:
        u = self.users(batch["user_row"], batch["user_features"])
        v, b = self.items(batch["item_row"], batch["creator_row"], batch["text"], batch["image"])
        hard_v, hard_b = self.items(batch["hard_row"], batch["hard_creator"], batch["hard_text"], batch["hard_image"])
        n, k = batch["hard_mask"].shape
        return retrieval_loss(
            u,
            v,
            b,
            batch["item_pos"],
            batch["log_q"] if logq_correction else None,
            hard_v.view(n, k, v.shape[1]),
            hard_b.view(n, k),
            batch["hard_log_q"] if logq_correction else None,
            batch["hard_mask"],
            batch["weight"],
            self.temperature,
        )


def in_batch_logits(u: Tensor, v: Tensor, bias: Tensor, temperature: float, log_q: Tensor | None) -> Tensor:
    """``(B, B)`` logits of every user against every in-batch item: ``u.v / T + b_j - log q_j``.

    With ``log_q=None`` there is no correction. Subtracting ``log q_j`` (the log probability
    that item ``j`` is drawn into a batch, i.e. its frequency among positives) undoes the
    bias of in-batch negatives towards popular items, which would otherwise be pushed down.
    """
    logits = u @ v.T / temperature + bias[None, :]
    if log_q is not None:
        logits = logits - log_q[None, :]
    return logits


def retrieval_loss(
    u: Tensor,
    v: Tensor,
    bias: Tensor,
    item_pos: Tensor,
    log_q: Tensor | None,
    hard_v: Tensor,
    hard_bias: Tensor,
    hard_log_q: Tensor | None,
    hard_mask: Tensor,
    weight: Tensor,
    temperature: float,
) -> Tensor:
    """Weighted sampled-softmax cross-entropy; row ``i``'s positive is column ``i``.

    Columns: the batch's items (logQ-corrected; other rows holding the same item are masked
    as accidental hits), then row ``i``'s ``k`` hard negatives (masked where absent).
    """
    logits = in_batch_logits(u, v, bias, temperature, log_q)
    same = item_pos[:, None] == item_pos[None, :]
    same.fill_diagonal_(False)
    logits = logits.masked_fill(same, float("-inf"))
    if hard_mask.shape[1]:
        hard = torch.einsum("bd,bkd->bk", u, hard_v) / temperature + hard_bias
        if hard_log_q is not None:
            hard = hard - hard_log_q
        logits = torch.cat([logits, hard.masked_fill(~hard_mask, float("-inf"))], dim=1)
    target = torch.arange(len(u), device=u.device)
    loss = F.cross_entropy(logits, target, reduction="none")
    return (loss * weight).sum() / weight.sum().clamp_min(1e-12)
