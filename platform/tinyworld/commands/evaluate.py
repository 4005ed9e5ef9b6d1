"""``tinyworld evaluate``: a model against popularity (and the champion) on a train/test split.

The lead mounts the command function with ``app.command("evaluate")(evaluate.evaluate)``;
``python -m tinyworld.commands.evaluate --model ... --train ... --test ...`` runs it on its own.
Unusable inputs (missing columns, empty tables, no model) exit 2 with one line, no traceback.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tinyworld.commands.common import configure_logging, fail

if TYPE_CHECKING:
    from components.evaluate.evaluator import EvaluationReport
    from components.train.artifact import ModelArtifact

Env = Annotated[str, typer.Option("--env", "-e", help="Environment: a file in platform/environments/ (without .yaml).")]
_LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError, EOFError, ImportError, zipfile.BadZipFile)


def _load(path: str, role: str) -> ModelArtifact:
    from components.train.artifact import load_model

    try:
        return load_model(path)
    except _LOAD_ERRORS as error:
        raise fail(f"cannot load the {role} model at {path}: {error}") from None


def _print(report: EvaluationReport) -> None:
    console = Console()
    blocks: dict[str, Any] = {"model": report.model, "popularity": report.popularity}
    if report.champion is not None:
        blocks["champion"] = report.champion
    k = report.protocol["k"]
    table = Table(title=f"Offline evaluation at K = {k}")
    table.add_column("metric")
    for name in blocks:
        table.add_column(name, justify="right")
    for metric in ("recall_at_k", "ndcg_at_k", "hit_rate_at_k", "mrr", "coverage"):
        table.add_row(metric, *(f"{getattr(block, metric):.4f}" for block in blocks.values()))
    console.print(table)
    p = report.protocol
    console.print(
        f"{p['users_evaluated']} users over {p['catalogue_size']} items; positives: {p['positive_rule']}; "
        f"cold users {p['cold_users']}, cold items {p['cold_items']}; {p['seconds']['total']} s",
        highlight=False,
        soft_wrap=True,
    )
    if report.promotion is not None:
        colour = "green" if report.promotion.promote else "yellow"
        console.print(f"[{colour}]{report.promotion.reason}[/{colour}]", highlight=False, soft_wrap=True)


def evaluate(
    model: Annotated[str, typer.Option(help="The candidate model's folder (or URL), as training saves it.")],
    train: Annotated[
        str, typer.Option(help="TRAIN interactions (Parquet): fits popularity; its positives are never recommended.")
    ],
    test: Annotated[str, typer.Option(help="TEST interactions (Parquet): the positives to retrieve.")],
    k: Annotated[int, typer.Option("--k", help="Length of the recommendation list every metric judges.", min=1)] = 10,
    champion: Annotated[
        str | None, typer.Option(help="The current champion's folder: evaluated on the same split for promotion.")
    ] = None,
    promotion_config: Annotated[
        Path | None, typer.Option(help="YAML with promotion thresholds (min_ndcg_gain, max_recall_drop, ...).")
    ] = None,
    exclude_cold_users: Annotated[
        bool, typer.Option(help="Skip test users without a TRAIN row (they are counted either way).")
    ] = False,
    chunk_users: Annotated[
        int | None, typer.Option(help="Users scored per matrix product. Default: about 16M scores.", min=1)
    ] = None,
    device: Annotated[str, typer.Option(help="torch device for scoring: cpu or cuda.")] = "cpu",
    out: Annotated[Path | None, typer.Option(help="Also write the JSON report to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
    env: Env = "local",
) -> None:
    """Rank the full catalogue for each TEST user (TRAIN positives excluded); report model, popularity, protocol."""
    from components.evaluate.data import EvaluationInputError
    from components.evaluate.evaluator import EvaluateConfig
    from components.evaluate.evaluator import evaluate as run_evaluation
    from components.evaluate.promotion import PromotionConfig
    from components.split.run import read_split_summary
    from components.split.table import InteractionsError, read_interactions

    configure_logging(env)
    try:
        config = EvaluateConfig(k=k, chunk_users=chunk_users, device=device, include_cold_users=not exclude_cold_users)
        thresholds = PromotionConfig.from_yaml(promotion_config) if promotion_config else PromotionConfig()
    except (ValidationError, OSError, ValueError) as error:
        raise fail(f"invalid options: {error}") from None
    candidate = _load(model, "candidate")
    current = _load(champion, "champion") if champion else None
    try:
        train_frame = read_interactions(train, columns=())
        test_frame = read_interactions(test, columns=())
        split = read_split_summary(test) or {"train": train, "test": test}
        report = run_evaluation(candidate, train_frame, test_frame, config, current, thresholds, split)
    except (InteractionsError, EvaluationInputError, ValueError) as error:
        raise fail(str(error)) from None
    except RuntimeError as error:  # e.g. an unavailable torch device
        raise fail(f"evaluation failed: {error}") from None
    report.protocol["model"] = {"path": model, "version": candidate.version}
    if current is not None:
        report.protocol["champion"] = {"path": champion, "version": current.version}
    payload = report.to_dict()
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        except OSError as error:
            raise fail(f"cannot write {out}: {error}") from None
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print(report)


if __name__ == "__main__":
    typer.run(evaluate)
