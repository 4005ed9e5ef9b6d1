"""split_file on an object-store URL: the halves and split.json written and read through the resolver."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import fsspec
import numpy as np
import pandas as pd
import pytest

from components.split.run import read_split_summary, split_file
from components.split.splitters import SplitConfig
from components.split.table import InteractionsError, read_interactions


@pytest.fixture()
def memory_url() -> Iterator[str]:
    """A fresh memory:// folder, removed afterwards."""
    name = f"split-{uuid.uuid4().hex}"
    yield f"memory://{name}"
    memory = fsspec.filesystem("memory")
    if memory.exists(f"/{name}"):
        memory.rm(f"/{name}", recursive=True)


def _interactions(url: str, rows: int = 120) -> str:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 10, rows),
            "item_id": rng.integers(0, 30, rows),
            "ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s"),
            "label": (rng.random(rows) < 0.3).astype(np.int32),
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    path = f"{url}/interactions.parquet"
    fs = fsspec.filesystem("memory")
    fs.pipe_file(fsspec.core.strip_protocol(path), buffer.getvalue())
    return path


def test_split_reads_and_writes_urls(memory_url: str) -> None:
    """The table is read from a URL; train, test and split.json land under the output URL and read back."""
    source = _interactions(memory_url)
    summary = split_file(source, f"{memory_url}/split", SplitConfig(by="random", seed=1))
    train = read_interactions(f"{memory_url}/split/train.parquet")
    test = read_interactions(f"{memory_url}/split/test.parquet")
    assert (len(train), len(test)) == (summary.train_rows, summary.test_rows) and summary.rows == 120
    assert read_split_summary(f"{memory_url}/split/test.parquet") == summary.model_dump(mode="json")


def test_a_missing_url_is_a_clear_error(memory_url: str) -> None:
    """A table that is not there is an InteractionsError naming it; a missing split.json is None."""
    with pytest.raises(InteractionsError, match="no such file or folder"):
        read_interactions(f"{memory_url}/absent.parquet")
    assert read_split_summary(f"{memory_url}/absent/test.parquet") is None
