"""Recommendation quality on SimNet: the two-tower model against popularity, over several seeds.

For each seed: simulate a world, run the ETL over it, split by date (components.split: every day
but the last trains), and rank the full catalogue for the last day's users (components.evaluate).
Cold start is measured on the items created on the last day, which the model never saw: they are
embedded from content alone and ranked among themselves, against the expected score of a random
order (K / items).

    python benchmarks/quality.py --seeds 1,2,3 --users 20000 --days 5 [--json]
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
from rich.table import Table  # noqa: E402

from components.etl.job import run_etl  # noqa: E402
from components.etl.session import build_session  # noqa: E402
from components.evaluate.evaluator import EvaluateConfig, evaluate  # noqa: E402
from components.split.splitters import SplitConfig, split_interactions  # noqa: E402
from components.train.artifact import ModelArtifact  # noqa: E402
from components.train.trainer import train  # noqa: E402
from simnet.config import WorldConfig  # noqa: E402
from simnet.runner import RunSpec, simulate  # noqa: E402


def one_seed(seed: int, users: int, days: int, k: int, work: Path, spark: Any) -> dict[str, Any]:
    world = WorldConfig.load().with_users(users)
    out = work / f"seed{seed}"
    simulate(RunSpec(world, "popularity", days, seed), out=out / "sim", progress=False)
    first = date.fromisoformat(world.start_date)
    last = first + timedelta(days=days - 1)
    run_etl(spark, str(out / "sim" / "events"), first, last, str(out / "etl"))
    inter = pd.read_parquet(out / "etl" / "interactions", columns=["user_id", "item_id", "ts", "label", "weight"])
    items = pd.read_parquet(out / "etl" / "item_features")
    train_rows, test_rows = split_interactions(inter, SplitConfig(by="date", test_day=last))
    began = time.perf_counter()
    model = train(train_rows, items[pd.to_datetime(items["date"]) < pd.Timestamp(last)], None)
    train_s = time.perf_counter() - began
    config = EvaluateConfig(k=k)
    report = evaluate(model, train_rows, test_rows, config).to_dict()
    new = items[(pd.to_datetime(items["date"]) == pd.Timestamp(last)) & ~model.has_items(items["item_id"].to_numpy())]
    new = new.drop_duplicates("item_id")
    cold = ModelArtifact(
        new["item_id"].to_numpy(),
        model.embed_items(new),
        dict(model.metadata),
        model.user_ids,
        model.user_vectors,
        model.cold_user,
    )
    cold_report = evaluate(cold, train_rows, test_rows, config).to_dict()
    return {
        "seed": seed,
        "train_s": round(train_s, 1),
        "model": report["model"],
        "popularity": report["popularity"],
        "users_evaluated": report["protocol"]["users_evaluated"],
        "new_items": int(len(new)),
        "new_items_recall_at_k": cold_report["model"]["recall_at_k"],
        "new_items_random_recall_at_k": min(1.0, k / max(len(new), 1)),
        "new_items_users": cold_report["protocol"]["users_evaluated"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated world seeds")
    parser.add_argument("--users", type=int, default=20_000, help="users at the start")
    parser.add_argument("--days", type=int, default=5, help="simulated days; the last is the test day")
    parser.add_argument("--k", type=int, default=10, help="cut-off of the ranking metrics")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    spark = build_session()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [one_seed(int(s), args.users, args.days, args.k, Path(tmp), spark) for s in args.seeds.split(",")]
    spark.stop()
    if args.json:
        print(json.dumps({"k": args.k, "users": args.users, "days": args.days, "runs": rows}))
        return
    table = Table(title=f"two-tower vs popularity on SimNet ({args.users:,} users, test = day {args.days}, K={args.k})")
    for column in ("seed", "recall model", "recall pop", "ndcg model", "ndcg pop", "new items recall", "random"):
        table.add_column(column, justify="right")
    for r in rows:
        m, p = r["model"], r["popularity"]
        table.add_row(
            str(r["seed"]),
            f"{m['recall_at_k']:.3f}",
            f"{p['recall_at_k']:.3f}",
            f"{m['ndcg_at_k']:.3f}",
            f"{p['ndcg_at_k']:.3f}",
            f"{r['new_items_recall_at_k']:.3f}",
            f"{r['new_items_random_recall_at_k']:.3f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
