"""Reusable Hypothesis strategies for the test suite.

Strategies here build inputs that many tests need: non-negative value arrays (counts per
item, sessions per user), fractions, retention inputs (signups and activity frames) and
small, protocol-valid event tables with :data:`simnet.protocol.EVENT_SCHEMA`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simnet.config import WorldConfig
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE, ITEM_EVENTS, SLATE_EVENTS, EventType

DAY_START = datetime(2026, 1, 1, tzinfo=UTC)
"""Midnight UTC of the day that generated events fall in."""


def count_arrays(
    min_size: int = 0, max_size: int = 50, max_value: int = 1_000
) -> st.SearchStrategy[npt.NDArray[np.int64]]:
    """1-d int64 arrays of non-negative counts (zeros frequent), e.g. clicks per item."""
    elements = st.one_of(st.just(0), st.integers(min_value=0, max_value=max_value))
    return hnp.arrays(np.int64, st.integers(min_size, max_size), elements=elements)


def nonneg_float_arrays(min_size: int = 0, max_size: int = 50) -> st.SearchStrategy[npt.NDArray[np.float64]]:
    """1-d float64 arrays of exact zeros or values in [1e-6, 1e6].

    Subnormal and tiny values are left out on purpose: scaling them by a positive
    constant can underflow to zero, which changes the data, not the metric.
    """
    elements = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e6))
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=elements)


def nonneg_arrays(min_size: int = 0, max_size: int = 50) -> st.SearchStrategy[npt.NDArray[Any]]:
    """Either :func:`count_arrays` or :func:`nonneg_float_arrays`."""
    return st.one_of(count_arrays(min_size, max_size), nonneg_float_arrays(min_size, max_size))


def fractions() -> st.SearchStrategy[float]:
    """Fractions in the closed interval [0, 1]."""
    return st.floats(min_value=0.0, max_value=1.0)


def positive_scales() -> st.SearchStrategy[float]:
    """Positive multipliers in [1e-3, 1e3]."""
    return st.floats(min_value=1e-3, max_value=1e3)


@st.composite
def retention_inputs(draw: st.DrawFn, max_users: int = 30, max_day: int = 12) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(signups, activity, last_day)`` for the retention functions.

    ``signups`` (columns user_id, day) may list a user more than once; ``activity``
    (user_id, day) has duplicates and users who never signed up. Days lie in
    ``0 .. max_day``; ``last_day`` may fall before some signups.
    """
    n_users = draw(st.integers(0, max_users))
    signup_days = draw(st.lists(st.integers(0, max_day), min_size=n_users, max_size=n_users))
    extra = draw(st.lists(st.tuples(st.integers(0, max(n_users - 1, 0)), st.integers(0, max_day)), max_size=5))
    rows = list(enumerate(signup_days)) + (extra if n_users else [])
    signups = pd.DataFrame(rows, columns=["user_id", "day"], dtype=np.int64)
    active = draw(st.lists(st.tuples(st.integers(0, max_users + 5), st.integers(0, max_day)), max_size=200))
    activity = pd.DataFrame(active, columns=["user_id", "day"], dtype=np.int64)
    last_day = draw(st.integers(0, max_day))
    return signups, activity, last_day


def _event_row(draw: st.DrawFn, index: int, kind: EventType, max_users: int, max_items: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": f"e{index}",
        "ts": DAY_START + timedelta(seconds=draw(st.integers(0, 86_399))),
        "user_id": draw(st.integers(0, max_users - 1)),
        "type": kind.value,
    }
    if kind in ITEM_EVENTS:
        row["item_id"] = draw(st.integers(0, max_items - 1))
    if kind in SLATE_EVENTS:
        row["request_id"] = draw(st.one_of(st.none(), st.sampled_from([f"r{i}" for i in range(6)])))
        row["position"] = draw(st.one_of(st.none(), st.integers(0, 5)))
        row["arm"] = draw(st.sampled_from(["control", "treatment", None]))
    if kind is EventType.DWELL:
        row["dwell_ms"] = draw(st.integers(0, 60_000))
    if kind is EventType.CREATE:
        row["text"] = "words"
        row["image"] = [0] * IMAGE_SIZE
    return row


@st.composite
def event_tables(draw: st.DrawFn, max_rows: int = 40, max_users: int = 6, max_items: int = 8) -> pa.Table:
    """Small event tables with EVENT_SCHEMA whose rows obey the protocol's rules.

    Item events name an item in ``0 .. max_items - 1`` (so ``max_items`` is a valid
    catalog size), dwell events carry dwell_ms, creates carry text and image, slate events
    may carry request_id, position and arm (each possibly null). Impressions are the most
    frequent type.
    """
    kinds = st.one_of(st.just(EventType.IMPRESSION), st.sampled_from(list(EventType)))
    n = draw(st.integers(0, max_rows))
    rows = [_event_row(draw, i, draw(kinds), max_users, max_items) for i in range(n)]
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def id_matrices(
    rows: int, cols: st.SearchStrategy[int], max_id: int = 20, empty: int = -1
) -> st.SearchStrategy[npt.NDArray[np.int64]]:
    """(rows, cols) int64 matrices of ids in ``0 .. max_id`` with ``empty`` markers mixed in.

    Small id ranges make repeats within a row, and matches between rows, frequent.
    """
    elements = st.one_of(st.just(empty), st.integers(0, max_id))
    return cols.flatmap(lambda c: hnp.arrays(np.int64, (rows, c), elements=elements))


@st.composite
def needles_and_haystacks(
    draw: st.DrawFn, max_rows: int = 8, max_cols: int = 12, max_id: int = 20
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(needles, haystack)``: two id matrices with the same number of rows, for per-row membership."""
    b = draw(st.integers(0, max_rows))
    needles = draw(id_matrices(b, st.integers(0, max_cols), max_id))
    haystack = draw(id_matrices(b, st.integers(0, max_cols), max_id))
    return needles, haystack


@st.composite
def small_world_configs(draw: st.DrawFn, max_users: int = 500) -> WorldConfig:
    """Small, valid :class:`simnet.config.WorldConfig` variations of the default world.

    Varies scale, topic structure, slate size, the producer share and the behaviour's
    most influential constants, within their documented ranges.
    """
    clusters = draw(st.integers(1, 4))
    per_cluster = draw(st.integers(1 if clusters > 1 else 2, 4))
    users = draw(st.integers(100, max_users))
    cfg = WorldConfig.load(
        population={
            "topics": clusters * per_cluster,
            "clusters": clusters,
            "producer_share": draw(st.floats(0.01, 0.2)),
            "activity_sigma": draw(st.floats(0.0, 1.5)),
        },
        behaviour={
            "slate_size": draw(st.integers(1, 15)),
            "position_decay": draw(st.floats(0.5, 1.0)),
            "no_click_utility": draw(st.floats(2.0, 8.0)),
            "max_slates": draw(st.integers(1, 12)),
        },
        dynamics={
            "churn_threshold": draw(st.floats(0.0, 0.8)),
            "churn_rate": draw(fractions()),
            "satisfaction_step": draw(st.floats(0.01, 1.0)),
            "conversion_engagement": draw(st.floats(0.0, 10.0)),
        },
    )
    return cfg.with_users(users)
