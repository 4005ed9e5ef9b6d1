"""A hand-built lake with known answers, for the ETL's integration tests.

Eight days, D0 = 2026-03-01 .. D7 = 2026-03-08. Users 1, 2, 3 sign up on D0 and user 4 on
D1; creator 10 posts items 100 and 101 on D0, creator 11 posts item 102 on D1. Arms:
``control`` (requests r1, r3, r4) and ``treatment`` (r2, r5, r6).

=====  ====  ====  ======  ===========================================================
day    req   user  arm     events
=====  ====  ====  ======  ===========================================================
D0     r1    1     ctrl    impressions 100 (pos 0), 101 (pos 1); click, like, dwell 30 s on 100
D0     r2    2     treat   impressions 100, 101; click, share, dwell 120 s on 101
D0     r3    3     ctrl    impression 101
D1     r4    1     ctrl    impression 102
D1     r5    4     treat   impression 100; click 100; then user 4 follows on item 100
D7     r6    2     treat   impression 102; click 102
=====  ====  ====  ======  ===========================================================
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from simnet.lake import write_partitioned
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE

D0 = date(2026, 3, 1)
DAYS = [D0 + timedelta(days=i) for i in range(8)]

TEXTS = {100: "w0001 w0002 w0003", 101: "w0004 w0004 w0005", 102: "w0006"}
CREATORS = {100: 10, 101: 10, 102: 11}


def image_of(item: int) -> list[int]:
    """A deterministic image per item."""
    return np.random.default_rng(item).integers(0, 256, IMAGE_SIZE).tolist()


def _at(day: int, hour: int, second: float = 0.0) -> datetime:
    return datetime(D0.year, D0.month, D0.day, hour, tzinfo=UTC) + timedelta(days=day, seconds=second)


def events() -> pa.Table:
    """The fixture's events (EVENT_SCHEMA), in time order."""
    rows: list[dict[str, Any]] = []

    def add(ts: datetime, user: int, kind: str, item: int | None = None, **extra: Any) -> None:
        rows.append({"event_id": f"e{len(rows)}", "ts": ts, "user_id": user, "type": kind, "item_id": item, **extra})

    def slate(day: int, hour: int, req: str, user: int, arm: str, items: list[int]) -> None:
        for pos, item in enumerate(items):
            add(_at(day, hour, pos), user, "impression", item, request_id=req, position=pos, arm=arm)

    def act(day: int, hour: int, sec: float, req: str, user: int, arm: str, kind: str, item: int, **kw: Any) -> None:
        add(_at(day, hour, sec), user, kind, item, request_id=req, arm=arm, **kw)

    for user in (1, 2, 3):
        add(_at(0, 0), user, "signup")
    for item in (100, 101):
        add(_at(0, 0), CREATORS[item], "create", item, text=TEXTS[item], image=image_of(item))
    slate(0, 9, "r1", 1, "control", [100, 101])
    act(0, 9, 10, "r1", 1, "control", "click", 100)
    act(0, 9, 20, "r1", 1, "control", "like", 100)
    act(0, 9, 40, "r1", 1, "control", "dwell", 100, dwell_ms=30_000)
    slate(0, 10, "r2", 2, "treatment", [100, 101])
    act(0, 10, 10, "r2", 2, "treatment", "click", 101)
    act(0, 10, 20, "r2", 2, "treatment", "share", 101)
    act(0, 10, 130, "r2", 2, "treatment", "dwell", 101, dwell_ms=120_000)
    slate(0, 11, "r3", 3, "control", [101])

    add(_at(1, 0), 4, "signup")
    add(_at(1, 1), CREATORS[102], "create", 102, text=TEXTS[102], image=image_of(102))
    slate(1, 9, "r4", 1, "control", [102])
    slate(1, 10, "r5", 4, "treatment", [100])
    act(1, 10, 10, "r5", 4, "treatment", "click", 100)
    add(_at(1, 10, 30), 4, "follow", 100)

    slate(7, 12, "r6", 2, "treatment", [102])
    act(7, 12, 10, "r6", 2, "treatment", "click", 102)
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def write_lake(root: Path) -> Path:
    """Write the fixture under ``root`` in the lake layout; returns ``root``."""
    write_partitioned(events(), str(root), "fixture")
    return root


def row(frame: pd.DataFrame, **keys: Any) -> pd.Series:
    """The one row of ``frame`` whose columns equal ``keys``; fails unless exactly one matches."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in keys.items():
        mask &= (frame[column] == value).to_numpy()
    rows = frame[mask]
    assert len(rows) == 1, f"{len(rows)} rows match {keys}"
    return rows.iloc[0]
