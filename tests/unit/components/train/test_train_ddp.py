"""DistributedDataParallel: two gloo ranks on 127.0.0.1 end with the very same model."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.unit.components.train.conftest import TINY
from tests.unit.components.train.ddp import run_ranks


def test_ranks_end_with_identical_parameters(tmp_path: Path) -> None:
    """After DDP training every rank holds bit-identical weights (all towers, content encoder included)."""
    results = run_ranks(2, tmp_path, TINY.model_copy(update={"epochs": 2}))
    first, second = results
    assert first["world_size"] == second["world_size"] == 2
    torch.testing.assert_close(first["item_embeddings"], second["item_embeddings"], rtol=0, atol=0)
    torch.testing.assert_close(first["user_vectors"], second["user_vectors"], rtol=0, atol=0)
    for name, tensor in first["encoder"]["content"].items():
        torch.testing.assert_close(tensor, second["encoder"]["content"][name], rtol=0, atol=0)
    torch.testing.assert_close(first["encoder"]["creator_weight"], second["encoder"]["creator_weight"], rtol=0, atol=0)
    assert first["losses"] == second["losses"]  # the logged loss is all-reduced
    assert first["losses"][-1] < first["losses"][0]
