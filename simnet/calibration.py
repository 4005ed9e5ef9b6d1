"""SimNet's calibration targets (docs/simnet.md) beside what a run measured.

The targets come from public logs and simulators: MovieLens-100K's item
popularity (Gini 0.63, top 10% of items = 43% of ratings), heavy-tailed user
activity, CTRs of a few percent, a few slates per session. Popularity targets
are measured on items with at least one click, as MovieLens counts only rated
items. Targets that only make sense between policies (retention under good
versus random recommendations) are judged by ``simnet compare``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simnet import concentration

if TYPE_CHECKING:
    from simnet.runner import RunSpec

CTR_BY_POLICY: dict[str, tuple[float, float]] = {
    "random": (0.0, 0.02),
    "popularity": (0.02, 0.06),
    "oracle": (0.05, 0.12),
}
"""Expected click-through per impression: random clearly below popularity, the oracle clearly above."""


def _between(lo: float, hi: float) -> Callable[[float], bool]:
    return lambda x: lo <= x <= hi


def calibrate(
    spec: RunSpec,
    summary: dict[str, float | int | str | None],
    daily: pd.DataFrame,
    item_clicks: np.ndarray,
    user_sessions: np.ndarray,
    ctr_at: np.ndarray,
) -> pd.DataFrame:
    """One row per target: target, expected, measured, ok (None where a single run cannot judge)."""
    clicked = item_clicks[item_clicks > 0]
    per_100k = float(daily["events"].mean()) * 100_000 / spec.config.population.users
    rows: list[tuple[str, str, float | None, Callable[[float], bool] | None]] = [
        ("events per day per 100k users", "3M-5M", per_100k, _between(3e6, 5e6)),
        ("click Gini, clicked items", "0.55-0.75", concentration.gini(clicked), _between(0.55, 0.75)),
        (
            "top 10% items' share of clicks",
            "0.40-0.60",
            concentration.top_share(clicked, 0.1),
            _between(0.40, 0.60),
        ),
        (
            "sessions of the most active 20% of users",
            ">= 0.45",
            concentration.activity_top_share(user_sessions),
            _between(0.45, 1),
        ),
        ("slates per session", "2-6", float(summary["slates_per_session"] or 0), _between(2, 6)),
        (
            "CTR at the last position / the first",
            "0.05-0.6",
            float(ctr_at[-1] / ctr_at[0]) if ctr_at[0] else None,
            _between(0.05, 0.6),
        ),
    ]
    if spec.policy in CTR_BY_POLICY:
        lo, hi = CTR_BY_POLICY[spec.policy]
        rows.append((f"CTR under {spec.policy}", f"{lo:.2f}-{hi:.2f}", float(summary["ctr"] or 0), _between(lo, hi)))
    for horizon in (1, 7):
        value = summary.get(f"retention_d{horizon}")
        measured = float(value) if isinstance(value, float | int) else None
        rows.append((f"D{horizon} retention ({spec.policy})", "above random's; see compare", measured, None))
    return pd.DataFrame(
        [
            {
                "target": target,
                "expected": expected,
                "measured": measured,
                "ok": None if check is None or measured is None else bool(check(measured)),
            }
            for target, expected, measured, check in rows
        ]
    )


def _ordered(rows: pd.DataFrame, metric: str, order: tuple[str, ...]) -> tuple[float | None, bool | None]:
    """Share of seeds on which ``metric`` strictly follows ``order`` (best first); ok when all do."""
    wide = rows.pivot_table(index="seed", columns="policy", values=metric)
    if wide.empty or not set(order) <= set(wide.columns):
        return None, None
    held = np.ones(len(wide), dtype=bool)
    for better, worse in zip(order, order[1:], strict=False):
        held &= (wide[better] > wide[worse]).to_numpy()
    return float(held.mean()), bool(held.all())


def calibrate_policies(rows: pd.DataFrame) -> pd.DataFrame:
    """Targets judged across policies: CTR by policy, and the ordering of score, engagement and retention."""
    out: list[dict[str, object]] = []
    for policy, (lo, hi) in CTR_BY_POLICY.items():
        runs = rows[rows["policy"] == policy]
        if len(runs):
            measured = float(runs["ctr"].mean())
            out.append(
                {
                    "target": f"CTR under {policy}",
                    "expected": f"{lo:.2f}-{hi:.2f}",
                    "measured": measured,
                    "ok": lo <= measured <= hi,
                }
            )
    checks = [
        ("score", ("oracle", "popularity", "random")),
        ("engagement_per_active_user", ("oracle", "popularity", "random")),
        ("retention_d1", ("oracle", "random")),
        ("retention_d7", ("oracle", "random")),
    ]
    for metric, order in checks:
        if metric not in rows.columns:
            continue
        share, ok = _ordered(rows, metric, order)
        out.append(
            {
                "target": f"{metric}: {' > '.join(order)}",
                "expected": "on every seed",
                "measured": share,
                "ok": ok,
            }
        )
    return pd.DataFrame(out, columns=["target", "expected", "measured", "ok"])
