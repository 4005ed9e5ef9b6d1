"""The real launcher: ``tinyworld train --nproc 2`` runs torchrun with two gloo ranks on this machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from components.train.artifact import load_model
from tests.unit.components.train.synthetic import make_world


def test_train_with_two_processes(tmp_path: Path) -> None:
    """Two torchrun ranks train one model; rank 0 saves it; the summary says world_size 2."""
    world = make_world()
    interactions, items = tmp_path / "interactions.parquet", tmp_path / "items.parquet"
    world.interactions.to_parquet(interactions)
    world.items.to_parquet(items)
    out = tmp_path / "model"
    command = [sys.executable, "-m", "tinyworld.commands.train", "--interactions", str(interactions)]
    command += ["--items", str(items), "--out", str(out), "--epochs", "2", "--batch-size", "128", "--nproc", "2"]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2
    assert summary["loss_last"] < summary["loss_first"]
    artifact = load_model(out)
    assert artifact.metadata["train"]["world_size"] == 2
    assert len(artifact.item_ids) == world.items["item_id"].nunique()
