"""Recommendation quality: the platform's model against popularity, EASE, ALS and BPR, in the same run.

Data sets (each gives one table of NDCG@K, Recall@K, coverage and fit seconds per ranker):

- ``simnet-temporal``: per seed, SimNet's users live ``--days`` days under its popularity policy;
  the ETL's interactions are split by date (every day but the last trains, the last tests).
- ``simnet-random``: one seed lived under SimNet's random policy (logs free of a ranker's
  exposure bias), split per user at random (``--ratio`` of each user's rows train).
- ``--interactions FILE``: any table with user_id, item_id, ts[, label, weight] (``--items`` its
  content, optional), split per user at random as above.

Every ranker sees the same users, catalogue (the model's items), exclusions and K. ``platform`` is
what training serves with its defaults (:func:`components.train.families.fit_model`: the family
picked on held-out rows of the training data, cut like the data set's own split); ``two-tower``
is the two-tower alone with its defaults. :func:`components.evaluate.evaluator.evaluate` judges
the platform's model and ranks popularity and the peers beside it.

    python benchmarks/quality.py --seeds 1,2,3 --users 20000 --days 5 [--interactions t.parquet] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from components.etl.job import run_etl  # noqa: E402
from components.etl.session import build_session  # noqa: E402
from components.evaluate.evaluator import EvaluateConfig, evaluate  # noqa: E402
from components.evaluate.peers import PeersConfig  # noqa: E402
from components.split.splitters import SplitConfig, split_interactions  # noqa: E402
from components.train.artifact import ModelArtifact  # noqa: E402
from components.train.config import Selection, TrainConfig  # noqa: E402
from components.train.families import fit_model  # noqa: E402
from components.train.trainer import train  # noqa: E402
from simnet.config import WorldConfig  # noqa: E402
from simnet.runner import RunSpec, simulate  # noqa: E402

COLUMNS = ["user_id", "item_id", "ts", "label", "weight"]


def simnet_tables(policy: str, seed: int, users: int, days: int, work: Path, spark: Any) -> tuple[pd.DataFrame, ...]:
    """SimNet's interactions and item features after ``days`` days under ``policy``, through the ETL."""
    world = WorldConfig.load().with_users(users)
    out = work / f"{policy}-s{seed}"
    simulate(RunSpec(world, policy, days, seed), out=out / "sim", progress=False)
    first = date.fromisoformat(world.start_date)
    run_etl(spark, str(out / "sim" / "events"), first, first + timedelta(days=days - 1), str(out / "etl"))
    inter = pd.read_parquet(out / "etl" / "interactions", columns=COLUMNS)
    return inter, pd.read_parquet(out / "etl" / "item_features")


def judge(
    name: str,
    train_rows: pd.DataFrame,
    test_rows: pd.DataFrame,
    items: pd.DataFrame | None,
    k: int,
    validation: str,
) -> tuple[dict, ModelArtifact]:
    """Fit the platform's model on ``train_rows`` and rank it with the two-tower, popularity and the peers."""
    began = time.perf_counter()
    model = fit_model(train_rows, items, None, TrainConfig(selection=Selection(validation=validation)))
    fit_s = time.perf_counter() - began
    report = evaluate(model, train_rows, test_rows, EvaluateConfig(k=k)).to_dict()
    began = time.perf_counter()
    alone = train(train_rows, items, None)
    alone_s = time.perf_counter() - began
    quiet = EvaluateConfig(k=k, peers=PeersConfig(names=()))
    two_tower = evaluate(alone, train_rows, test_rows, quiet).to_dict()["model"]
    rankers = {"platform": {**report["model"], "seconds": round(fit_s, 1), "note": _chosen(model)}}
    rankers["two-tower"] = {**two_tower, "seconds": round(alone_s, 1)}
    rankers["popularity"] = {**report["popularity"], "seconds": 0.0}
    for peer, block in report.get("peers", {}).items():
        rankers[peer] = block
    protocol = report["protocol"]
    result = {
        "data": name,
        "users_evaluated": protocol["users_evaluated"],
        "catalogue": protocol["catalogue_size"],
        "rankers": rankers,
        "best": max(rankers, key=lambda r: rankers[r]["ndcg_at_k"]),
    }
    return result, model


def _chosen(model: ModelArtifact) -> str:
    chosen = model.metadata.get("selection", {}).get("chosen", {})
    family = str(model.metadata.get("family", "two-tower"))
    if not chosen:
        return family
    if family != "two-tower":
        family = f"{family} (lambda {chosen['ease_lambda']:g}, weight {chosen['weight']:g})"
    return f"{family} + popularity x{chosen['popularity']:g}" if chosen.get("popularity") else family


def cold_start(
    model: ModelArtifact, items: pd.DataFrame, day: date, train_rows: pd.DataFrame, test_rows: pd.DataFrame, k: int
) -> dict:
    """The items created on the test day, embedded from content alone and ranked among themselves."""
    new = items[(pd.to_datetime(items["date"]) == pd.Timestamp(day)) & ~model.has_items(items["item_id"].to_numpy())]
    new = new.drop_duplicates("item_id")
    fresh = ModelArtifact(
        new["item_id"].to_numpy(),
        model.embed_items(new),
        dict(model.metadata),
        model.user_ids,
        model.user_vectors,
        model.cold_user,
    )
    report = evaluate(fresh, train_rows, test_rows, EvaluateConfig(k=k, peers=PeersConfig(names=()))).to_dict()
    return {
        "items": len(new),
        "users": report["protocol"]["users_evaluated"],
        "recall_at_k": report["model"]["recall_at_k"],
        "random_recall_at_k": min(1.0, k / max(len(new), 1)),
    }


def simnet_temporal(seed: int, args: argparse.Namespace, work: Path, spark: Any) -> dict:
    inter, items = simnet_tables("popularity", seed, args.users, args.days, work, spark)
    last = date.fromisoformat(WorldConfig.load().start_date) + timedelta(days=args.days - 1)
    train_rows, test_rows = split_interactions(inter, SplitConfig(by="date", test_day=last))
    known = items[pd.to_datetime(items["date"]) < pd.Timestamp(last)]
    result, model = judge(f"simnet-temporal s{seed}", train_rows, test_rows, known, args.k, "last-day")
    return {**result, "new_items": cold_start(model, items, last, train_rows, test_rows, args.k)}


def random_split(name: str, inter: pd.DataFrame, items: pd.DataFrame | None, args: argparse.Namespace) -> dict:
    train_rows, test_rows = split_interactions(inter, SplitConfig(by="random", ratio=args.ratio, seed=0))
    return judge(name, train_rows, test_rows, items, args.k, "random")[0]


def _table(result: dict, k: int) -> Table:
    title = f"{result['data']}: {result['users_evaluated']:,} users, {result['catalogue']:,} items, K={k}"
    if "new_items" in result:
        new = result["new_items"]
        title += (
            f"; new items from content: Recall@{k} {new['recall_at_k']:.3f} vs random {new['random_recall_at_k']:.3f}"
        )
    table = Table(title=title)
    for column in ("ranker", f"NDCG@{k}", f"Recall@{k}", "coverage", "fit s", "note"):
        table.add_column(column, justify="right")
    for name, block in sorted(result["rankers"].items(), key=lambda kv: -kv[1]["ndcg_at_k"]):
        table.add_row(
            name,
            f"{block['ndcg_at_k']:.4f}",
            f"{block['recall_at_k']:.4f}",
            f"{block['coverage']:.3f}",
            f"{block['seconds']:.1f}",
            block.get("note") or "",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated world seeds of simnet-temporal")
    parser.add_argument("--users", type=int, default=20_000, help="SimNet users at the start")
    parser.add_argument("--days", type=int, default=5, help="simulated days; the last is simnet-temporal's test day")
    parser.add_argument("--ratio", type=float, default=0.75, help="share of each user's rows kept by random splits")
    parser.add_argument("--interactions", type=Path, help="also judge this interactions table (Parquet or CSV)")
    parser.add_argument("--items", type=Path, help="item_features of --interactions (optional)")
    parser.add_argument("--no-simnet", action="store_true", help="only the --interactions table")
    parser.add_argument("--k", type=int, default=10, help="cut-off of the ranking metrics")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.no_simnet and args.interactions is None:
        parser.error("--no-simnet leaves nothing to judge without --interactions")
    seeds = [] if args.no_simnet else [int(s) for s in args.seeds.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp, Progress(disable=args.json, transient=True) as bar:
        task = bar.add_task("data sets", total=len(seeds) + (0 if args.no_simnet else 1) + bool(args.interactions))
        spark = build_session() if seeds else None
        for seed in seeds:
            results.append(simnet_temporal(seed, args, Path(tmp), spark))
            bar.advance(task)
        if seeds:
            inter, items = simnet_tables("random", seeds[0], args.users, args.days, Path(tmp), spark)
            results.append(random_split(f"simnet-random s{seeds[0]}", inter, items, args))
            bar.advance(task)
        if spark is not None:
            spark.stop()
        if args.interactions is not None:
            read = pd.read_csv if args.interactions.suffix == ".csv" else pd.read_parquet
            content = pd.read_parquet(args.items) if args.items else None
            results.append(random_split(args.interactions.name, read(args.interactions), content, args))
            bar.advance(task)
    if args.json:
        print(json.dumps({"k": args.k, "users": args.users, "days": args.days, "results": results}))
        return
    console = Console()
    for result in results:
        console.print(_table(result, args.k))


if __name__ == "__main__":
    main()
