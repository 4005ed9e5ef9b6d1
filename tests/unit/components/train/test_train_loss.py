"""The loss: logQ correction as specified, accidental hits masked, hard negatives counted."""

from __future__ import annotations

import math

import torch

from components.train.model import in_batch_logits, retrieval_loss


def _batch(n: int = 4, d: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)
    v = torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)
    return u, v, torch.randn(n, generator=g)


def test_logq_subtracts_log_probability_per_column() -> None:
    """With logQ, logit[i, j] = u_i.v_j / T + b_j - log q_j: every column j shifts by -log q_j, rows alike."""
    u, v, b = _batch()
    q = torch.tensor([0.5, 0.25, 0.2, 0.05])
    plain = in_batch_logits(u, v, b, 0.1, None)
    corrected = in_batch_logits(u, v, b, 0.1, q.log())
    torch.testing.assert_close(corrected - plain, (-q.log())[None, :].expand(4, 4))
    torch.testing.assert_close(plain, u @ v.T / 0.1 + b[None, :])


def test_logq_lowers_the_loss_weight_of_popular_negatives() -> None:
    """Correcting for a popular in-batch negative lowers its logit relative to a rare one's."""
    u, v, b = _batch()
    q = torch.tensor([0.25, 0.7, 0.025, 0.025])
    corrected = in_batch_logits(u, v, b, 0.1, q.log())
    plain = in_batch_logits(u, v, b, 0.1, None)
    gap = (corrected[:, 1] - corrected[:, 2]) - (plain[:, 1] - plain[:, 2])
    torch.testing.assert_close(gap, torch.full((4,), math.log(0.025 / 0.7)))


def _loss(item_pos: torch.Tensor, hard_mask: torch.Tensor, hard_v: torch.Tensor | None = None) -> torch.Tensor:
    u, v, b = _batch()
    hard_v = hard_v if hard_v is not None else torch.zeros(4, hard_mask.shape[1], 8)
    return retrieval_loss(
        u, v, b, item_pos, None, hard_v, torch.zeros(hard_mask.shape), None, hard_mask, torch.ones(4), 0.1
    )


def test_accidental_hits_are_masked() -> None:
    """When two rows hold the same item, neither counts the other's copy as a negative."""
    u, v, b = _batch()
    distinct = _loss(torch.arange(4), torch.zeros(4, 0, dtype=torch.bool))
    clash = _loss(torch.tensor([0, 0, 2, 3]), torch.zeros(4, 0, dtype=torch.bool))
    assert clash < distinct
    logits = u @ v.T / 0.1 + b[None, :]
    logits[0, 1] = logits[1, 0] = float("-inf")
    expected = torch.nn.functional.cross_entropy(logits, torch.arange(4))
    torch.testing.assert_close(clash, expected)


def test_hard_negatives_add_to_the_loss_only_where_present() -> None:
    """A present hard negative adds a column to its row's softmax (loss rises); a masked one changes nothing."""
    none = _loss(torch.arange(4), torch.zeros(4, 0, dtype=torch.bool))
    u, _, _ = _batch()
    hard_v = u[:, None, :].clone()  # the most confusable negative: the user's own direction
    masked = _loss(torch.arange(4), torch.zeros(4, 1, dtype=torch.bool), hard_v)
    present = _loss(torch.arange(4), torch.ones(4, 1, dtype=torch.bool), hard_v)
    torch.testing.assert_close(masked, none)
    assert present > none
