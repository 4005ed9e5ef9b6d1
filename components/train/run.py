"""Training from Parquet tables to a saved artifact: the entry point torchrun runs on every rank.

``python -m components.train.run --interactions T --out DIR [--items I] [--users U] ...`` trains
in one process; ``torchrun --standalone --nproc_per_node 2 -m components.train.run ...`` runs the
very same code on two ranks (see :mod:`components.train.trainer`). :func:`run_training` is what
the ``tinyworld train`` command calls: it checks the inputs, trains in-process or launches
torchrun, and returns a summary read back from the saved artifact.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd

from components.train.artifact import METADATA_FILE, save_model
from components.train.config import TrainConfig
from components.train.data import REQUIRED_COLUMNS, TrainingDataError
from components.train.trainer import DistEnv, train

logger = logging.getLogger(__name__)

INTERACTION_COLUMNS = (*REQUIRED_COLUMNS, "label", "weight")
"""The interactions columns training reads (others, such as request_id, are skipped)."""


def _schema_names(path: str) -> list[str]:
    import pyarrow.dataset as ds

    try:
        return list(ds.dataset(path, format="parquet").schema.names)
    except (FileNotFoundError, OSError) as error:
        raise TrainingDataError(f"cannot read Parquet table {path}: {error}") from None


def read_table(path: str, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """A Parquet file or folder (e.g. one ETL table) as pandas, keeping only ``columns`` that exist."""
    names = _schema_names(path)
    keep = [c for c in columns if c in names] if columns else None
    return pd.read_parquet(path, columns=keep)


def check_inputs(interactions: str) -> int:
    """Fail fast, before starting any process: required columns present and at least one row."""
    import pyarrow.dataset as ds

    names = _schema_names(interactions)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise TrainingDataError(f"interactions {interactions} is missing column(s) {missing}; it has {names}")
    rows = int(ds.dataset(interactions, format="parquet").count_rows())
    if rows == 0:
        raise TrainingDataError(f"interactions {interactions} is empty: nothing to train on")
    return rows


def train_tables(
    interactions: str, out: str, items: str | None, users: str | None, config: TrainConfig, progress: bool
) -> None:
    """Read the tables, train (this process's rank), and save the artifact on rank 0."""
    frame = read_table(interactions, INTERACTION_COLUMNS)
    item_table = read_table(items) if items else None
    user_table = read_table(users) if users else None
    artifact = train(frame, item_table, user_table, config, progress=progress)
    if DistEnv.from_torchrun().is_main:
        save_model(artifact, out)


def summary(out: str) -> dict[str, Any]:
    """The facts a person wants after training, read from the saved artifact's metadata."""
    with fsspec.open(f"{out.rstrip('/')}/{METADATA_FILE}", "r") as f:
        meta = json.load(f)
    losses = meta["train"]["loss_per_epoch"]
    return {
        "version": meta["version"],
        "out": out,
        "data_window": meta["data_window"],
        "rows": meta["rows"],
        "features": meta["features"],
        "dim": meta["dim"],
        "epochs": len(losses),
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "seconds": meta["train"]["seconds"],
        "samples_per_s": meta["train"]["samples_per_s"],
        "world_size": meta["train"]["world_size"],
        "device": meta["train"]["device"],
        "code_version": meta["code_version"],
    }


def _argv(interactions: str, out: str, items: str | None, users: str | None, config: TrainConfig) -> list[str]:
    args = ["--interactions", interactions, "--out", out, "--config-json", config.model_dump_json()]
    args += ["--items", items] if items else []
    args += ["--users", users] if users else []
    return args


def run_training(
    interactions: str,
    out: str,
    items: str | None = None,
    users: str | None = None,
    config: TrainConfig | None = None,
    nproc: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Train from Parquet paths into ``out``; ``nproc > 1`` launches torchrun on this module.

    Raises TrainingDataError for bad input, RuntimeError if a torchrun worker fails.
    """
    config = config or TrainConfig()
    check_inputs(interactions)
    if nproc <= 1:
        train_tables(interactions, out, items, users, config, progress)
        return summary(out)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1"]
    command += ["--nproc_per_node", str(nproc), "-m", "components.train.run"]
    command += _argv(interactions, out, items, users, config) + (["--progress"] if progress else [])
    logger.info("launching: %s", " ".join(command))
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"torchrun with {nproc} processes failed with exit code {done.returncode}")
    return summary(out)


def main(argv: list[str] | None = None) -> int:
    """Command line of one rank: train from Parquet and save on rank 0."""
    parser = argparse.ArgumentParser(description="Train the two-tower model (one rank of a torchrun job).")
    parser.add_argument("--interactions", required=True, help="interactions Parquet file or folder")
    parser.add_argument("--out", required=True, help="artifact folder or fsspec URL")
    parser.add_argument("--items", help="item_features Parquet (optional)")
    parser.add_argument("--users", help="user_features Parquet (optional)")
    parser.add_argument("--config", type=Path, help="TrainConfig YAML")
    parser.add_argument("--config-json", help="TrainConfig as JSON (wins over --config)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar on rank 0")
    args = parser.parse_args(argv)
    env = DistEnv.from_torchrun()
    logging.basicConfig(
        level=logging.INFO if env.is_main else logging.WARNING,
        format=f"%(asctime)s rank{env.rank} %(name)s %(levelname)s %(message)s",
    )
    if args.config_json:
        config = TrainConfig.model_validate_json(args.config_json)
    else:
        config = TrainConfig.from_yaml(args.config) if args.config else TrainConfig()
    try:
        train_tables(args.interactions, args.out, args.items, args.users, config, args.progress)
    except TrainingDataError as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
