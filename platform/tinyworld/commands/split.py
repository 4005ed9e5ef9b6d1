"""``tinyworld split``: split any interactions table into train.parquet and test.parquet.

The lead mounts the command function with ``app.command("split")(split.split)``;
``python -m tinyworld.commands.split --interactions ... --out ...`` runs it on its own.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from tinyworld.commands.common import AsJson, Env, configure_logging, fail


def split(
    interactions: Annotated[
        str, typer.Option(help="Interactions table (Parquet file, folder or URL) with user_id, item_id, ts.")
    ],
    out: Annotated[str, typer.Option(help="Output folder (or URL) for train.parquet, test.parquet and split.json.")],
    by: Annotated[
        str | None,
        typer.Option(
            help="temporal (default): each user's latest rows are test; random: a seeded shuffle per user; "
            "date: the days before --test-day train, that day tests."
        ),
    ] = None,
    ratio: Annotated[
        float | None, typer.Option(help="Share of each user's rows kept in train (0.8 = 20% to test). Default: 0.8.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the random split. Default: 0.")] = None,
    test_day: Annotated[str | None, typer.Option(help="The test day of a date split (YYYY-MM-DD).")] = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Split INTERACTIONS into OUT/train.parquet and OUT/test.parquet (per user, or at a date)."""
    from components.split.splitters import SplitConfig
    from components.split.step import SplitParams
    from components.split.step import run as run_split
    from components.split.table import InteractionsError
    from tinyworld import steps

    settings = configure_logging(env)
    given = {"by": by, "ratio": ratio, "seed": seed, "test_day": test_day}
    try:
        config = SplitConfig.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as error:
        problems = "; ".join(f"--{'.'.join(map(str, e['loc'])) or 'by'}: {e['msg']}" for e in error.errors())
        raise fail(f"invalid options: {problems}") from None
    try:
        result = run_split(SplitParams(interactions=interactions, out=out, config=config), steps.io(settings))
    except InteractionsError as error:
        raise fail(str(error)) from None
    except (OSError, ImportError) as error:
        raise fail(f"cannot write {out}: {error}") from None
    summary = result.summary
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json"), indent=2))
        return
    typer.echo(
        f"{config.by} split of {summary.rows} rows ({summary.users} users; positives: {summary.positive_rule}):\n"
        f"  train: {summary.train_rows} rows, {summary.train_positives} positives\n"
        f"  test:  {summary.test_rows} rows, {summary.test_positives} positives, {summary.test_users} users\n"
        f"  {summary.train_only_users} users with a single row stay in train only\n"
        f"  written to {summary.out}"
    )


if __name__ == "__main__":
    typer.run(split)
