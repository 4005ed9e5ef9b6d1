"""Training from Parquet tables to a saved artifact: the entry point torchrun runs on every rank.

``python -m components.train.run --interactions T --out DIR [--items I] [--users U] ...`` trains
in one process; ``torchrun --standalone --nproc_per_node 2 -m components.train.run ...`` runs the
very same code on two ranks (see :mod:`components.train.trainer`). :func:`run_training` is what
the ``tinyworld train`` command calls: it checks the inputs, trains in-process or launches
torchrun, and returns a summary read back from the saved artifact.

Tables and the artifact may live on an object store (``s3://``), reached through the storage
resolver. torchrun's ranks get the store's endpoint and region as ``--storage-json`` and its
credentials, if any were given, as the standard AWS variables of their environment (never on
the command line).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from components.storage import StorageOptions, resolve
from components.train.artifact import METADATA_FILE, save_model
from components.train.config import TrainConfig
from components.train.data import REQUIRED_COLUMNS, TrainingDataError
from components.train.families import fit_model
from components.train.trainer import DistEnv, process_group

if TYPE_CHECKING:
    import pyarrow.dataset as ds

logger = logging.getLogger(__name__)

INTERACTION_COLUMNS = (*REQUIRED_COLUMNS, "label", "weight")
"""The interactions columns training reads (others, such as request_id, are skipped)."""


def _dataset(path: str, storage: StorageOptions | None) -> ds.Dataset:
    """The Parquet file or folder at ``path`` (hive partitions read as columns); TrainingDataError if unreadable."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        filesystem, where = resolve(path, storage).arrow()
        return ds.dataset(where, format="parquet", filesystem=filesystem, partitioning="hive")
    except (FileNotFoundError, OSError, ValueError, pa.ArrowInvalid) as error:
        raise TrainingDataError(f"cannot read Parquet table {path}: {error}") from None


def read_table(
    path: str, columns: tuple[str, ...] | None = None, *, storage: StorageOptions | None = None
) -> pd.DataFrame:
    """A Parquet file or folder (e.g. one ETL table) as pandas, keeping only ``columns`` that exist."""
    dataset = _dataset(path, storage)
    keep = [c for c in columns if c in dataset.schema.names] if columns else None
    frame: pd.DataFrame = dataset.to_table(columns=keep).to_pandas()
    return frame


def check_inputs(interactions: str, *, storage: StorageOptions | None = None) -> int:
    """Fail fast, before starting any process: required columns present and at least one row."""
    dataset = _dataset(interactions, storage)
    names = list(dataset.schema.names)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise TrainingDataError(f"interactions {interactions} is missing column(s) {missing}; it has {names}")
    rows = int(dataset.count_rows())
    if rows == 0:
        raise TrainingDataError(f"interactions {interactions} is empty: nothing to train on")
    return rows


def train_tables(
    interactions: str,
    out: str,
    items: str | None,
    users: str | None,
    config: TrainConfig,
    progress: bool,
    *,
    storage: StorageOptions | None = None,
) -> None:
    """Read the tables, fit the family training picks (this process's rank), and save the artifact on rank 0."""
    frame = read_table(interactions, INTERACTION_COLUMNS, storage=storage)
    item_table = read_table(items, storage=storage) if items else None
    user_table = read_table(users, storage=storage) if users else None
    with process_group():  # one group for every model fit_model trains
        artifact = fit_model(frame, item_table, user_table, config, progress=progress)
    if DistEnv.from_torchrun().is_main:
        save_model(artifact, out, storage=storage)


def summary(out: str, *, storage: StorageOptions | None = None) -> dict[str, Any]:
    """The facts a person wants after training, read from the saved artifact's metadata."""
    meta = json.loads(resolve(out, storage).join(METADATA_FILE).read_text())
    losses = meta["train"]["loss_per_epoch"]
    return {
        "version": meta["version"],
        "family": meta.get("family", "two-tower"),
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
        "selection": meta.get("selection", {}),
    }


def _argv(
    interactions: str, out: str, items: str | None, users: str | None, config: TrainConfig, storage: StorageOptions
) -> list[str]:
    args = ["--interactions", interactions, "--out", out, "--config-json", config.model_dump_json()]
    args += ["--storage-json", storage.model_dump_json(exclude=_CREDENTIALS)]
    args += ["--items", items] if items else []
    args += ["--users", users] if users else []
    return args


_CREDENTIALS = {"s3_access_key_id", "s3_secret_access_key"}
"""StorageOptions fields that reach torchrun's ranks through their environment, not their arguments."""


def _rank_environment(storage: StorageOptions) -> dict[str, str]:
    """This process's environment plus the store's credentials as the standard AWS variables."""
    env = dict(os.environ)
    if storage.s3_access_key_id:
        env["AWS_ACCESS_KEY_ID"] = storage.s3_access_key_id
    if storage.s3_secret_access_key is not None:
        env["AWS_SECRET_ACCESS_KEY"] = storage.s3_secret_access_key.get_secret_value()
    return env


def run_training(
    interactions: str,
    out: str,
    items: str | None = None,
    users: str | None = None,
    config: TrainConfig | None = None,
    nproc: int = 1,
    progress: bool = False,
    *,
    storage: StorageOptions | None = None,
) -> dict[str, Any]:
    """Train from Parquet paths or URLs into ``out``; ``nproc > 1`` launches torchrun on this module.

    ``storage`` says how to reach object-store URLs. Raises TrainingDataError for bad input,
    RuntimeError if a torchrun worker fails.
    """
    config = config or TrainConfig()
    storage = storage or StorageOptions()
    check_inputs(interactions, storage=storage)
    if nproc <= 1:
        train_tables(interactions, out, items, users, config, progress, storage=storage)
        return summary(out, storage=storage)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1"]
    command += ["--nproc_per_node", str(nproc), "-m", "components.train.run"]
    command += _argv(interactions, out, items, users, config, storage) + (["--progress"] if progress else [])
    logger.info("launching: %s", " ".join(command))
    done = subprocess.run(command, check=False, env=_rank_environment(storage))
    if done.returncode != 0:
        raise RuntimeError(f"torchrun with {nproc} processes failed with exit code {done.returncode}")
    return summary(out, storage=storage)


def main(argv: list[str] | None = None) -> int:
    """Command line of one rank: train from Parquet and save on rank 0."""
    parser = argparse.ArgumentParser(description="Train the two-tower model (one rank of a torchrun job).")
    parser.add_argument("--interactions", required=True, help="interactions Parquet file or folder")
    parser.add_argument("--out", required=True, help="artifact folder or object-store URL")
    parser.add_argument("--items", help="item_features Parquet (optional)")
    parser.add_argument("--users", help="user_features Parquet (optional)")
    parser.add_argument("--config", type=Path, help="TrainConfig YAML")
    parser.add_argument("--config-json", help="TrainConfig as JSON (wins over --config)")
    parser.add_argument("--storage-json", help="StorageOptions as JSON: the object store's endpoint and region")
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
    storage = StorageOptions.model_validate_json(args.storage_json) if args.storage_json else None
    try:
        train_tables(args.interactions, args.out, args.items, args.users, config, args.progress, storage=storage)
    except TrainingDataError as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
