"""The split step: an interactions table in, ``train.parquet`` and ``test.parquet`` out.

``run(SplitParams(...), StepIO(...))`` is what ``tinyworld split``, the ``daily`` pipeline (a
date split: the days before D train, day D tests) and the benchmarks call.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from components.split.run import SPLIT_FILE, TEST_FILE, TRAIN_FILE, SplitSummary, split_file
from components.split.splitters import SplitConfig
from components.step import Lineage, StepIO, Window, timed


class SplitParams(BaseModel):
    """Which table to split, where the halves go, and how to split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interactions: str  # a Parquet file or folder (or URL) with user_id, item_id, ts[, label, weight]
    out: str  # the folder (or URL) for train.parquet, test.parquet and split.json
    config: SplitConfig = Field(default_factory=SplitConfig)  # method, ratio, seed, test day


class SplitResult(BaseModel):
    """Where the halves are, their counts, and the lineage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train: str  # train.parquet
    test: str  # test.parquet
    summary: SplitSummary  # method, rows, users and positives of each half (split.json)
    lineage: Lineage


def run(params: SplitParams, io: StepIO) -> SplitResult:
    """Split ``params.interactions`` into ``params.out``; InteractionsError for an unusable table."""
    source, out = io.root(params.interactions), io.root(params.out)
    with timed() as elapsed:
        io.progress("splitting", 0.0)
        summary = split_file(source.url, out.url, params.config, storage=io.storage)
        io.progress("done", 1.0)
    day = params.config.test_day
    lineage = Lineage(
        step="split",
        inputs={"interactions": source.url},
        outputs={
            "train": out.join(TRAIN_FILE).url,
            "test": out.join(TEST_FILE).url,
            "summary": out.join(SPLIT_FILE).url,
        },
        window=Window(start=day, end=day) if day else None,
        params=params.model_dump(mode="json"),
        seconds=elapsed(),
    )
    return SplitResult(train=lineage.outputs["train"], test=lineage.outputs["test"], summary=summary, lineage=lineage)
