"""``tinyworld split``: split any interactions table into train.parquet and test.parquet.

The lead mounts the command function with ``app.command("split")(split.split)``;
``python -m tinyworld.commands.split --interactions ... --out ...`` runs it on its own.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from tinyworld.commands.common import configure_logging, fail

Env = Annotated[str, typer.Option("--env", "-e", help="Environment: a file in platform/environments/ (without .yaml).")]


def split(
    interactions: Annotated[
        str, typer.Option(help="Interactions table (Parquet file, folder or URL) with user_id, item_id, ts.")
    ],
    out: Annotated[str, typer.Option(help="Output folder (or URL) for train.parquet, test.parquet and split.json.")],
    by: Annotated[
        str, typer.Option(help="temporal: each user's latest rows are test; random: a seeded shuffle per user.")
    ] = "temporal",
    ratio: Annotated[float, typer.Option(help="Share of each user's rows kept in train (0.8 = 20% to test).")] = 0.8,
    seed: Annotated[int, typer.Option(help="Seed of the random split (ignored by temporal).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the split's summary as JSON.")] = False,
    env: Env = "local",
) -> None:
    """Split INTERACTIONS per user into OUT/train.parquet and OUT/test.parquet (users with one row stay in train)."""
    from components.split.run import split_file
    from components.split.splitters import SplitConfig
    from components.split.table import InteractionsError

    configure_logging(env)
    try:
        config = SplitConfig.model_validate({"by": by, "ratio": ratio, "seed": seed})
    except ValidationError as error:
        problems = "; ".join(f"--{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise fail(f"invalid options: {problems}") from None
    try:
        summary = split_file(interactions, out, config)
    except InteractionsError as error:
        raise fail(str(error)) from None
    except (OSError, ImportError) as error:
        raise fail(f"cannot write {out}: {error}") from None
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json"), indent=2))
        return
    typer.echo(
        f"{config.by} split of {summary.rows} rows ({summary.users} users; positives: {summary.positive_rule}):\n"
        f"  train: {summary.train_rows} rows, {summary.train_positives} positives\n"
        f"  test:  {summary.test_rows} rows, {summary.test_positives} positives, {summary.test_users} users\n"
        f"  {summary.train_only_users} users with a single row stay in train only\n"
        f"  written to {out}"
    )


if __name__ == "__main__":
    typer.run(split)
