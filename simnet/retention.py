"""Day-N retention by signup cohort.

A user's *cohort* is the day index of their signup. ``d{h}`` of a cohort is the
fraction of its users who were active on day ``cohort + h`` exactly (classic
"day-N" retention, not "on or after"). A horizon is *observable* only when
``cohort + h <= last_day``; otherwise ``d{h}`` is NaN rather than a misleading 0.
``overall_retention`` is the size-weighted mean of ``d{h}`` over observable cohorts,
which equals the pooled fraction of all those users who came back on day ``h``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


def _cohorts(signups: pd.DataFrame) -> pd.DataFrame:
    """One row per user: ``user_id`` and ``cohort`` (the earliest signup day)."""
    for column in ("user_id", "day"):
        if column not in signups.columns:
            raise ValueError(f"signups lacks column {column!r}")
    first = signups.groupby("user_id", sort=False)["day"].min()
    return pd.DataFrame({"user_id": first.index.to_numpy(), "cohort": first.to_numpy(dtype=np.int64)})


def _active_offsets(users: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """Distinct (user_id, cohort, offset) with ``offset = active day - cohort``."""
    for column in ("user_id", "day"):
        if column not in activity.columns:
            raise ValueError(f"activity lacks column {column!r}")
    active = activity[["user_id", "day"]].drop_duplicates()
    merged = active.merge(users, on="user_id", how="inner")
    offsets = merged["day"].to_numpy(dtype=np.int64) - merged["cohort"].to_numpy(dtype=np.int64)
    return pd.DataFrame({"user_id": merged["user_id"].to_numpy(), "cohort": merged["cohort"], "offset": offsets})


def retention_table(
    signups: pd.DataFrame,
    activity: pd.DataFrame,
    last_day: int,
    horizons: Sequence[int] = (1, 7),
) -> pd.DataFrame:
    """Day-N retention per signup cohort.

    ``signups`` has columns ``user_id`` and ``day`` (day index of the signup; a user's
    cohort is their earliest signup day). ``activity`` has ``user_id`` and ``day`` (days on
    which the user was active; duplicates allowed, users without a signup ignored).

    Output: one row per cohort present in ``signups``, sorted by cohort, with columns
    ``cohort`` (int), ``size`` (users in the cohort, int) and ``d{h}`` for each horizon
    ``h`` (float): the fraction of the cohort active on day ``cohort + h`` exactly.

    Edge cases: ``d{h}`` is NaN where ``cohort + h > last_day`` (not yet observable);
    empty ``signups`` gives an empty frame with those columns. Negative or duplicate
    horizons raise ValueError.
    """
    hs = [int(h) for h in horizons]
    if any(h < 0 for h in hs) or len(set(hs)) != len(hs):
        raise ValueError(f"horizons must be distinct and >= 0, got {list(horizons)}")
    users = _cohorts(signups)
    sizes = users.groupby("cohort").size()
    cohort_days = sizes.index.to_numpy(dtype=np.int64)
    size = sizes.to_numpy(dtype=np.int64)
    out: dict[str, Any] = {"cohort": cohort_days, "size": size}
    offsets = _active_offsets(users, activity)
    for h in hs:
        hit = offsets.loc[offsets["offset"] == h, "cohort"]
        returned = hit.value_counts().reindex(sizes.index, fill_value=0).to_numpy(dtype=np.float64)
        frac = returned / np.maximum(size, 1)
        frac[cohort_days + h > last_day] = np.nan
        out[f"d{h}"] = frac
    return pd.DataFrame(out, columns=["cohort", "size", *[f"d{h}" for h in hs]])


def overall_retention(table: pd.DataFrame, horizon: int) -> float | None:
    """Size-weighted mean of ``d{horizon}`` over the cohorts where it is observable.

    Definition: ``sum(size * d_h) / sum(size)`` over rows of a :func:`retention_table`
    output whose ``d{horizon}`` is not NaN; this is the pooled fraction of those users
    active ``horizon`` days after signup.

    Edge cases: None when no cohort is observable at that horizon (or all observable
    cohorts are empty). A missing ``d{horizon}`` column raises KeyError.
    """
    column = f"d{horizon}"
    if column not in table.columns:
        raise KeyError(f"retention table has no column {column!r}")
    values = table[column].to_numpy(dtype=np.float64)
    weights = table["size"].to_numpy(dtype=np.float64)
    observable = ~np.isnan(values)
    total = float(weights[observable].sum())
    if total <= 0.0:
        return None
    return float((weights[observable] * values[observable]).sum()) / total


def retention_curve(
    signups: pd.DataFrame, activity: pd.DataFrame, cohort: int, last_day: int
) -> npt.NDArray[np.float64]:
    """Fraction of one signup cohort active on each day ``cohort, cohort + 1, .., last_day``.

    Entry ``i`` is the fraction of the cohort's users (cohort = earliest signup day, as in
    :func:`retention_table`) active on day ``cohort + i``, so entry ``h`` equals
    ``d{h}`` of that cohort in :func:`retention_table`. Entry 0 counts activity on the
    signup day itself, which is 1 only if ``activity`` records it.

    Edge cases: ``last_day < cohort`` gives an empty array; an empty cohort (no user
    signed up that day) gives an all-NaN array, since the fraction is undefined.
    """
    length = max(int(last_day) - int(cohort) + 1, 0)
    users = _cohorts(signups)
    members = users[users["cohort"] == cohort]
    if length == 0:
        return np.zeros(0, dtype=np.float64)
    if members.empty:
        return np.full(length, np.nan)
    offsets = _active_offsets(members, activity)
    offs = offsets["offset"].to_numpy(dtype=np.int64)
    offs = offs[(offs >= 0) & (offs < length)]
    counts = np.bincount(offs, minlength=length).astype(np.float64)
    return counts / len(members)
