"""Training: samples/s of one process against two DDP processes (torchrun), same data, same run.

With ``--device cuda``: samples/s of one process on the GPU against one process on the CPU instead.

Writes the tables as Parquet, then trains twice through :func:`components.train.run.run_training`,
the path ``tinyworld train`` takes: once in this process, once with ``--nproc 2`` (torchrun;
gloo on CPU, nccl on CUDA). samples/s is positives processed per second of the training loop
(all ranks together; data loading and process start-up excluded), read from each artifact.

Data: the ETL's tables (``--etl-out``: ``interactions``, ``item_features``, ``user_features``)
or, by default, SimNet-shaped synthetic tables: Zipf item popularity, heavy-tailed user
activity, about 4% CTR, 32-dim text vectors and image statistics per item.

    .venv/bin/python benchmarks/train.py
    .venv/bin/python benchmarks/train.py --users 100000 --impressions 3000000 --json
    .venv/bin/python benchmarks/train.py --etl-out /tmp/tw/etl
    python3 benchmarks/train.py --device cuda --json

``ddp_efficiency`` = samples_per_s_2 / (2 * samples_per_s_1): 1.0 is linear scaling. On CPU the
two processes share the machine's cores (each gets half of them as threads). The single process
is measured with every core and with one thread, and samples_per_s_1 is the faster of the two,
so the ratio compares DDP with the best one process can do. Nothing here asserts a time.

``--device`` (default ``cpu``) picks where training runs; ``cpu`` hides any GPU from this process
and its torchrun workers (``CUDA_VISIBLE_DEVICES=""``). ``--device cuda`` trains one process on
the GPU (in this process), then one process on the CPU with every core and with one thread (each a
``python -m components.train.run`` child with the GPU hidden), and reports
``cuda_speedup`` = samples_per_s_cuda / the faster CPU figure. It runs no DDP: torchrun's ranks
would share the one GPU over gloo, which measures nothing useful.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; drop it so nothing here shadows a package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

TEXT_DIM = 32
ROOT = Path(__file__).resolve().parent.parent


def synthetic_tables(users: int, items: int, impressions: int, seed: int) -> dict[str, pd.DataFrame]:
    """SimNet-shaped interactions, item_features and user_features (one day)."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, items + 1) ** 0.9  # Zipf-like popularity of impressions
    user_p = rng.pareto(1.5, users) + 0.1  # heavy-tailed activity
    user = rng.choice(users, size=impressions, p=user_p / user_p.sum())
    item = rng.choice(items, size=impressions, p=item_p / item_p.sum())
    label = (rng.random(impressions) < 0.04).astype(np.int32)
    ts = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 86400, impressions), unit="s")
    interactions = pd.DataFrame(
        {"user_id": user, "item_id": item, "ts": ts, "label": label, "weight": 1.0 + label * rng.random(impressions)}
    )
    text = rng.normal(size=(items, TEXT_DIM)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    item_features = pd.DataFrame({"item_id": np.arange(items), "creator_id": rng.integers(0, items // 20 + 1, items)})
    item_features["text_vec"] = list(text)
    for name in ("img_mean_r", "img_mean_g", "img_mean_b", "img_std_r", "img_std_g", "img_std_b", "img_texture"):
        item_features[name] = rng.random(items)
    profile = rng.normal(size=(users, TEXT_DIM)).astype(np.float32)
    user_features = pd.DataFrame({"user_id": np.arange(users), "ctr_7d": rng.random(users) * 0.1})
    user_features["content_profile"] = list(profile)
    return {"interactions": interactions, "item_features": item_features, "user_features": user_features}


def measure(paths: dict[str, str], out: Path, nproc: int, config: Any) -> dict[str, Any]:
    """Train with ``nproc`` processes; returns the artifact summary (samples/s of the loop)."""
    from components.train.run import run_training

    return run_training(
        paths["interactions"],
        str(out / f"model-{nproc}"),
        paths.get("item_features"),
        paths.get("user_features"),
        config,
        nproc=nproc,
    )


def measure_cpu_child(paths: dict[str, str], out: Path, config: Any) -> dict[str, Any]:
    """Train one process on the CPU in a child with the GPU hidden; returns the artifact summary."""
    from components.train.run import summary

    target = str(out / f"model-cpu-{config.cpu_threads or 'all'}")
    command = [sys.executable, "-m", "components.train.run", "--interactions", paths["interactions"]]
    command += ["--out", target, "--config-json", config.model_dump_json()]
    command += ["--items", paths["item_features"]] if paths.get("item_features") else []
    command += ["--users", paths["user_features"]] if paths.get("user_features") else []
    subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    return summary(target)


def main() -> None:
    """Parse options, build or find the tables, train with 1 and 2 processes, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--etl-out", type=Path, help="use the ETL's tables under this folder")
    parser.add_argument("--users", type=int, default=20000, help="synthetic users")
    parser.add_argument("--items", type=int, default=8000, help="synthetic items")
    parser.add_argument("--impressions", type=int, default=1_500_000, help="synthetic impressions (about 4%% clicks)")
    parser.add_argument("--epochs", type=int, default=2, help="passes over the positives per measurement")
    parser.add_argument("--batch-size", type=int, default=1024, help="global batch of positives")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the model")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda: 1 GPU process vs 1 CPU")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch starts CUDA; torchrun's workers inherit it

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no GPU")

    from components.train.config import TrainConfig

    # cpu_threads None: each process gets the cores shared out (2 processes: half each)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, cpu_threads=None)
    cpus = os.cpu_count() or 1
    # one process with every core, and with one thread: on a small or shared machine spinning
    # intra-op threads can cost more than they bring; the faster counts as samples_per_s_1
    thread_counts: list[int | None] = [None, 1] if cpus > 1 else [None]
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        work = Path(tmp)
        if args.etl_out:
            paths = {name: str(args.etl_out / name) for name in ("interactions", "item_features", "user_features")}
            source = f"ETL tables {args.etl_out}"
        else:
            paths = {}
            for name, frame in synthetic_tables(args.users, args.items, args.impressions, args.seed).items():
                paths[name] = str(work / f"{name}.parquet")
                frame.to_parquet(paths[name])
            source = f"synthetic: {args.users:,} users, {args.items:,} items, {args.impressions:,} impressions"
        if args.device == "cuda":
            report_cuda(args, config, paths, work, thread_counts, source)
            return
        singles = {t: measure(paths, work, 1, config.model_copy(update={"cpu_threads": t})) for t in thread_counts}
        two = measure(paths, work, 2, config)
    best = max(singles, key=lambda t: float(singles[t]["samples_per_s"]))
    one = singles[best]
    result = {
        "samples_per_s_1": one["samples_per_s"],
        "samples_per_s_2": two["samples_per_s"],
        "ddp_efficiency": two["samples_per_s"] / (2 * one["samples_per_s"]),
        "threads_1": best or cpus,
        "samples_per_s_1_by_threads": {str(t or cpus): r["samples_per_s"] for t, r in singles.items()},
        "threads_2": max(1, cpus // 2),
        "device": "cpu",
        "backend": "gloo",
        "torch": torch.__version__,
        "positives": one["rows"]["positives"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seconds_1": one["seconds"],
        "seconds_2": two["seconds"],
        "loss_last_1": one["loss_last"],
        "loss_last_2": two["loss_last"],
        "cpus": cpus,
        "data": source,
    }
    if args.json:
        print(json.dumps(result))
        return
    table = _table(source, result["positives"], args.epochs, "processes")
    for threads, single in singles.items():
        table.add_row(f"1 ({_threads(threads or cpus)})", *_cells(single))
    table.add_row(f"2 ({result['backend']}, {result['threads_2']} thread each)", *_cells(two))
    Console().print(table)
    print(
        f"DDP efficiency samples_per_s_2 / (2 x samples_per_s_1) = {result['ddp_efficiency']:.2f} on {result['device']}"
    )


def _table(source: str, positives: int, epochs: int, first: str) -> Table:
    """The report's table: one row per measured run."""
    table = Table(title=f"training: {source}; {positives:,} positives x {epochs} epochs")
    for column in (first, "samples/s", "loop seconds", "final loss"):
        table.add_column(column, justify="right")
    return table


def _cells(run: dict[str, Any]) -> tuple[str, str, str]:
    """samples/s, loop seconds and final loss of one measured run."""
    return f"{run['samples_per_s']:,.0f}", f"{run['seconds']:.1f}", f"{run['loss_last']:.4f}"


def _threads(n: int) -> str:
    return f"{n} thread{'s' if n > 1 else ''}"


def report_cuda(
    args: argparse.Namespace,
    config: Any,
    paths: dict[str, str],
    work: Path,
    thread_counts: list[int | None],
    source: str,
) -> None:
    """One process on the GPU against one process on the CPU (each thread count), same data."""
    import torch

    torch.ones(64, 64, device="cuda").matmul(torch.ones(64, 64, device="cuda")).sum().item()  # CUDA context, cuBLAS
    gpu = measure(paths, work, 1, config)
    cpu = {t: measure_cpu_child(paths, work, config.model_copy(update={"cpu_threads": t})) for t in thread_counts}
    best = max(cpu, key=lambda t: float(cpu[t]["samples_per_s"]))
    cpus = os.cpu_count() or 1
    result = {
        "samples_per_s_cuda": gpu["samples_per_s"],
        "samples_per_s_cpu": cpu[best]["samples_per_s"],
        "cuda_speedup": gpu["samples_per_s"] / cpu[best]["samples_per_s"],
        "threads_cpu": best or cpus,
        "samples_per_s_cpu_by_threads": {str(t or cpus): r["samples_per_s"] for t, r in cpu.items()},
        "device": gpu["device"],
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "positives": gpu["rows"]["positives"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seconds_cuda": gpu["seconds"],
        "seconds_cpu": cpu[best]["seconds"],
        "loss_last_cuda": gpu["loss_last"],
        "loss_last_cpu": cpu[best]["loss_last"],
        "cpus": cpus,
        "data": source,
    }
    if args.json:
        print(json.dumps(result))
        return
    table = _table(source, result["positives"], args.epochs, "1 process on")
    table.add_row(f"cuda ({result['gpu']})", *_cells(gpu))
    for threads, single in cpu.items():
        table.add_row(f"cpu ({_threads(threads or cpus)})", *_cells(single))
    Console().print(table)
    speedup = result["cuda_speedup"]
    print(f"CUDA speed-up samples_per_s_cuda / samples_per_s_cpu = {speedup:.2f} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
