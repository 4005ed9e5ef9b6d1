"""``tinyworld evaluate``: a model against popularity, EASE, ALS, BPR (and the champion) on a train/test split.

The lead mounts the command function with ``app.command("evaluate")(evaluate.evaluate)``;
``python -m tinyworld.commands.evaluate --model ... --train ... --test ...`` runs it on its own.
Unusable inputs (missing columns, empty tables, no model) exit 2 with one line, no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tinyworld.commands.common import AsJson, Env, configure_logging, fail, step_progress


def _print(report: dict[str, Any]) -> None:
    """The metric blocks side by side, the protocol in one line, and the promotion verdict."""
    console = Console()
    blocks = {name: report[name] for name in ("model", "popularity", "champion") if report.get(name)}
    blocks |= report.get("peers", {})
    protocol = report["protocol"]
    table = Table(title=f"Offline evaluation at K = {protocol['k']}")
    table.add_column("metric")
    for name in blocks:
        table.add_column(name, justify="right")
    for metric in ("recall_at_k", "ndcg_at_k", "hit_rate_at_k", "mrr", "coverage"):
        table.add_row(metric, *(f"{block[metric]:.4f}" for block in blocks.values()))
    table.add_row("seconds", *(f"{block['seconds']:.1f}" if "seconds" in block else "" for block in blocks.values()))
    console.print(table)
    for name, block in report.get("peers", {}).items():
        if block.get("note"):
            console.print(f"{name}: {block['note']}", highlight=False)
    console.print(
        f"{protocol['users_evaluated']} users over {protocol['catalogue_size']} items; "
        f"positives: {protocol['positive_rule']}; cold users {protocol['cold_users']}, "
        f"cold items {protocol['cold_items']}; {protocol['seconds']['total']} s",
        highlight=False,
        soft_wrap=True,
    )
    promotion = report.get("promotion")
    if promotion:
        colour = "green" if promotion["promote"] else "yellow"
        console.print(f"[{colour}]{promotion['reason']}[/{colour}]", highlight=False, soft_wrap=True)


def _peer_names(text: str) -> tuple[str, ...]:
    """``ease,als`` -> ('ease', 'als'); ``none`` or an empty string -> ()."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    return () if names == ("none",) else names


def evaluate(
    model: Annotated[str, typer.Option(help="The candidate model's folder (or URL), as training saves it.")],
    train: Annotated[
        str, typer.Option(help="TRAIN interactions (Parquet): fits popularity; its positives are never recommended.")
    ],
    test: Annotated[str, typer.Option(help="TEST interactions (Parquet): the positives to retrieve.")],
    k: Annotated[
        int | None, typer.Option("--k", help="Length of the list every metric judges. Default: 10.", min=1)
    ] = None,
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
    device: Annotated[str | None, typer.Option(help="torch device for scoring: cpu or cuda. Default: cpu.")] = None,
    peers: Annotated[
        str | None,
        typer.Option(help="Peers ranked beside the model: comma-separated of ease, als, bpr, or none. Default: all."),
    ] = None,
    out: Annotated[str | None, typer.Option(help="Also write the JSON report to this file (or URL).")] = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Rank the full catalogue for each TEST user (TRAIN positives excluded); report model, popularity, protocol."""
    from components.evaluate.data import EvaluationInputError
    from components.evaluate.evaluator import EvaluateConfig
    from components.evaluate.peers import PeersConfig
    from components.evaluate.promotion import PromotionConfig
    from components.evaluate.step import EvaluateParams
    from components.evaluate.step import run as run_evaluation
    from components.split.table import InteractionsError
    from tinyworld import steps

    settings = configure_logging(env)
    given = {"k": k, "chunk_users": chunk_users, "device": device}
    try:
        chosen = PeersConfig() if peers is None else PeersConfig(names=_peer_names(peers))
        config = EvaluateConfig(
            **{key: value for key, value in given.items() if value is not None},
            include_cold_users=not exclude_cold_users,
            peers=chosen,
        )
        thresholds = PromotionConfig.from_yaml(promotion_config) if promotion_config else PromotionConfig()
        params = EvaluateParams(
            model=model, train=train, test=test, report=out, champion=champion, config=config, promotion=thresholds
        )
    except (ValidationError, OSError, ValueError) as error:
        raise fail(f"invalid options: {error}") from None
    try:
        with step_progress("evaluation", disable=as_json) as progress:
            result = run_evaluation(params, steps.io(settings, progress))
    except (InteractionsError, EvaluationInputError, ValueError) as error:  # unusable inputs, K too large
        raise fail(str(error)) from None
    except RuntimeError as error:  # e.g. an unavailable torch device
        raise fail(f"evaluation failed: {error}") from None
    except OSError as error:  # writing the report
        raise fail(f"I/O error: {error}") from None
    if as_json:
        typer.echo(json.dumps(result.evaluation, indent=2))
    else:
        _print(result.evaluation)


if __name__ == "__main__":
    typer.run(evaluate)
