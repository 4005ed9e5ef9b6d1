"""``tinyworld train``: fit the recommender from Parquet tables into a model folder.

``tinyworld train --interactions TRAIN.parquet --out MODEL_DIR [--items ITEM_FEATURES]
[--users USER_FEATURES] [--family auto] [--validation random] [--popularity W] [--nproc 2]`` picks
the model family (and the weight of a popularity term) on a validation split of the rows
(:mod:`components.train.families`) and fits the winner on all of them, in this process or, with
``--nproc`` above 1, under ``torchrun`` on :mod:`components.train.run` (gloo on CPU, nccl on
CUDA); then it prints a summary (or ``--json``).
Exit code 2 for bad input. The lead mounts :func:`train` as a command of the main app;
``python -m tinyworld.commands.train`` runs it on its own.
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


def _print(result: dict[str, Any]) -> None:
    table = Table(title=f"model {result['version']} -> {result['out']}")
    table.add_column("", style="bold")
    table.add_column("value")
    rows = result["rows"]
    window = result["data_window"]
    table.add_row("data window", f"{window['min_ts']} .. {window['max_ts']}")
    table.add_row("interactions", f"{rows['interactions']:,} ({rows['positives']:,} positives)")
    table.add_row("users / items", f"{rows['users']:,} / {rows['items']:,} (catalogue {rows['catalogue_items']:,})")
    table.add_row("features", ", ".join(result["features"]["user"] + result["features"]["item"]))
    table.add_row("family", _selection(result))
    table.add_row("loss", f"{result['loss_first']:.4f} -> {result['loss_last']:.4f} over {result['epochs']} epochs")
    table.add_row("speed", f"{result['samples_per_s']:,.0f} samples/s, {result['seconds']:.1f} s")
    table.add_row("processes", f"{result['world_size']} on {result['device']}")
    table.add_row("code", result["code_version"])
    Console().print(table)


def _selection(result: dict[str, Any]) -> str:
    chosen = result["selection"].get("chosen", {})
    text = str(result["family"])
    if chosen.get("ease_lambda") is not None and result["family"] != "two-tower":
        text += f" (EASE lambda {chosen['ease_lambda']:g}, two-tower weight {chosen['weight']:g})"
    if chosen.get("popularity"):
        text += f" + popularity term, weight {chosen['popularity']:g}"
    scores = [c["score"] for c in result["selection"].get("candidates", [])]
    if scores:
        text += f"; best of {len(scores)} on {result['selection']['validation']} validation, NDCG {max(scores):.4f}"
    return text


FAMILIES = ("auto", "two-tower", "ease", "ease+two-tower")


def train(
    interactions: Annotated[
        str, typer.Option(help="Interactions Parquet (file or folder): user_id, item_id, ts[, label, weight].")
    ],
    out: Annotated[str, typer.Option(help="Model folder to write (a path or an object-store URL).")],
    items: Annotated[str | None, typer.Option(help="item_features Parquet: content and creator (cold start).")] = None,
    users: Annotated[str | None, typer.Option(help="user_features Parquet: content profile and rates.")] = None,
    config: Annotated[Path | None, typer.Option(help="TrainConfig YAML; the options below override it.")] = None,
    family: Annotated[
        str,
        typer.Option(help="auto (pick on validation), two-tower, ease or ease+two-tower."),
    ] = "auto",
    validation: Annotated[
        str | None,
        typer.Option(help="Held-out part that picks family, settings and epochs: random, temporal, last-day or none."),
    ] = None,
    popularity: Annotated[
        float | None,
        typer.Option(help="Weight of a popularity term (0: none). Default: picked on validation; 0 without.", min=0),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Passes over the positives (with a validation split, the most: early stopping may stop sooner).", min=1
        ),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Global batch of positives per step.", min=2)] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for weights, shuffling and dropout.")] = None,
    nproc: Annotated[int | None, typer.Option(help="Processes; above 1 launches torchrun (DDP). Default: 1.")] = None,
    env: Env = "local",
    as_json: AsJson = False,
) -> None:
    """Fit the best model family for an interactions table (picked on held-out rows) and save it under OUT."""
    from components.train.config import TrainConfig
    from components.train.data import TrainingDataError
    from components.train.step import TrainParams
    from components.train.step import run as run_training
    from tinyworld import steps

    settings = configure_logging(env)
    try:
        base = TrainConfig.from_yaml(config) if config else TrainConfig()
        if family not in FAMILIES:
            raise fail(f"unknown --family {family!r}: choose one of {', '.join(FAMILIES)}")
        overrides = {"epochs": epochs, "batch_size": batch_size, "seed": seed}
        merged = {**base.model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
        picks: dict[str, Any] = {"validation": validation} if validation else {}
        if epochs is not None:
            picks["max_epochs"] = epochs
        if family != "auto":
            picks["families"] = (family,)
        if popularity is not None or validation == "none":
            picks["popularity_weights"] = (popularity or 0.0,)
        merged["selection"] = {**merged["selection"], **picks}
        cfg = TrainConfig.model_validate(merged)
        params = TrainParams.model_validate(
            {"interactions": interactions, "out": out, "items": items, "users": users, "config": cfg}
            | ({"nproc": nproc} if nproc is not None else {})
        )
    except (OSError, ValidationError) as error:
        raise fail(f"bad training config: {error}") from None
    try:
        with step_progress("training", disable=as_json) as progress:
            result = run_training(params, steps.io(settings, progress))
    except TrainingDataError as error:
        raise fail(str(error)) from None
    except RuntimeError as error:
        raise fail(error, code=1) from None
    if as_json:
        typer.echo(json.dumps(result.summary))
    else:
        _print(result.summary)


app = typer.Typer(name="train", add_completion=False, help="Fit the recommender (the family picked on held-out rows).")
app.command("train")(train)

if __name__ == "__main__":
    app()
