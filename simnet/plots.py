"""Plots for the SimNet report, each rendered to a base64 PNG string.

Each plot function takes plain arrays and returns the PNG as base64 text ready
for an ``<img src="data:image/png;base64,...">`` tag; :func:`report_figures`
maps a :class:`~simnet.report.RunReport` onto them, in page order.

Figures are built with the object-oriented API on an explicit Agg canvas,
created inside :func:`render`: nothing selects a matplotlib backend at import,
pyplot's global figure registry is never touched (so a caller's interactive
backend is left alone and there is nothing to leak), and each figure is
cleared once it is saved. Missing values (NaN) are skipped by matplotlib; an
empty input draws a short note instead of failing, so a one-day run renders.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simnet.concentration import gini, top_share

if TYPE_CHECKING:
    from simnet.report import RunReport

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

_SIZE_ONE = (6.4, 3.6)
_SIZE_TWO = (11.0, 3.6)
_DPI = 100
_MAX_POINTS = 1000
"""Curves over users or items are thinned to about this many points; the shape is unchanged."""


def as_float(values: npt.ArrayLike) -> FloatArray:
    """A flat float64 copy of ``values``."""
    return np.asarray(values, dtype=np.float64).ravel()


def lorenz(values: npt.ArrayLike, max_points: int = _MAX_POINTS) -> tuple[FloatArray, FloatArray]:
    """Lorenz curve: (population share, cumulative value share), from (0, 0) to (1, 1), thinned."""
    x = np.sort(as_float(values))
    x = x[np.isfinite(x)]
    total = float(x.sum())
    if x.size == 0 or total <= 0.0:
        return np.zeros(0), np.zeros(0)
    cum = np.concatenate([[0.0], np.cumsum(x) / total])
    pop = np.arange(x.size + 1, dtype=np.float64) / x.size
    idx = np.unique(np.linspace(0, x.size, min(x.size + 1, max_points)).astype(np.int64))
    return pop[idx], cum[idx]


def render(draw: Callable[[Figure], None], size: tuple[float, float] = _SIZE_ONE) -> str:
    """Draws a figure with ``draw`` on an Agg canvas and returns it as base64 PNG text."""
    fig = Figure(figsize=size, dpi=_DPI)
    canvas = FigureCanvasAgg(fig)
    try:
        draw(fig)
        fig.tight_layout()
        buf = io.BytesIO()
        canvas.print_png(buf)
    finally:
        fig.clear()
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777")


def _integer_ticks(ax: Axes, x: FloatArray) -> None:
    """Whole-number x ticks; a single point gets a unit-wide axis instead of matplotlib's +-0.05."""
    finite = x[np.isfinite(x)]
    if finite.size and finite.min() == finite.max():
        ax.set_xlim(finite[0] - 1, finite[0] + 1)
        ax.set_xticks([finite[0]])
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _per_day(ax: Axes, day: FloatArray, series: Sequence[tuple[FloatArray, str, str]], ylabel: str) -> None:
    """Lines with markers (so a single day still shows a point) against the simulated day."""
    for values, label, color in series:
        ax.plot(day, values, marker="o", markersize=6, label=label, color=color)
    ax.set_xlabel("day")
    ax.set_ylabel(ylabel)
    _integer_ticks(ax, day)
    ax.grid(alpha=0.3)


def _twin_per_day(fig: Figure, day: FloatArray, left: tuple[FloatArray, str], right: tuple[FloatArray, str]) -> None:
    """Two per-day series of different scales on twin y axes with one legend."""
    ax = fig.add_subplot()
    _per_day(ax, day, [(left[0], left[1], "C0")], left[1])
    ax2 = ax.twinx()
    ax2.plot(day, right[0], marker="s", markersize=4, label=right[1], color="C1")
    ax2.set_ylabel(right[1])
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="best", fontsize="small")


def users_per_day(day: npt.ArrayLike, dau: npt.ArrayLike, alive: npt.ArrayLike) -> str:
    """Daily active users and alive (not churned) users per day."""

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        d = as_float(day)
        _per_day(ax, d, [(as_float(alive), "alive users", "C7"), (as_float(dau), "DAU", "C0")], "users")
        ax.set_ylim(bottom=0)
        ax.legend(loc="best", fontsize="small")

    return render(draw)


def engagement_per_day(day: npt.ArrayLike, engagement: npt.ArrayLike, ctr: npt.ArrayLike) -> str:
    """Engagement per active user (left axis) and CTR (right axis) per day."""
    return render(
        lambda fig: _twin_per_day(
            fig, as_float(day), (as_float(engagement), "engagement per active user"), (as_float(ctr), "CTR")
        )
    )


def creators_per_day(day: npt.ArrayLike, creators: npt.ArrayLike, conversions: npt.ArrayLike) -> str:
    """Active creators (left axis) and consumer-to-creator conversions (right axis) per day."""
    return render(
        lambda fig: _twin_per_day(
            fig, as_float(day), (as_float(creators), "creators"), (as_float(conversions), "conversions")
        )
    )


def retention(curve: npt.ArrayLike, cohorts: Sequence[str], d1: npt.ArrayLike, d7: npt.ArrayLike) -> str:
    """Left: share of the day-0 cohort active on each day. Right: D1 and D7 retention per signup cohort."""

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        c = as_float(curve)
        if c.size:
            left.plot(np.arange(c.size), c, marker="o", markersize=4, color="C0")
            left.set_ylim(0, 1.05)
            _integer_ticks(left, np.arange(c.size, dtype=np.float64))
        else:
            _note(left, "no day-0 cohort")
        left.set(title="day-0 cohort", xlabel="days since day 0", ylabel="share active")
        left.grid(alpha=0.3)
        r1, r7 = as_float(d1), as_float(d7)
        if len(cohorts) and (np.isfinite(r1).any() or np.isfinite(r7).any()):
            x = np.arange(len(cohorts))
            right.plot(x, r1, marker="o", markersize=4, label="D1", color="C0")
            right.plot(x, r7, marker="s", markersize=4, label="D7", color="C2")
            step = max(1, len(cohorts) // 12)
            labels = [str(s) for s in cohorts][::step]
            long = max(len(s) for s in labels) > 3
            right.set_xticks(x[::step], labels, rotation=45 if long else 0, ha="right" if long else "center")
            if len(cohorts) == 1:
                right.set_xlim(-1, 1)
            right.set_ylim(0, 1.05)
            right.legend(loc="best", fontsize="small")
        else:
            _note(right, "no cohort observable yet")
        right.set(title="retention per signup cohort", xlabel="cohort", ylabel="retained share")
        right.grid(alpha=0.3)

    return render(draw, _SIZE_TWO)


def exposure(
    item_clicks: npt.ArrayLike, day: npt.ArrayLike, coverage: npt.ArrayLike, exposure_gini: npt.ArrayLike
) -> str:
    """Left: Lorenz curve of clicks per item. Right: catalogue coverage and exposure Gini per day."""

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        pop, cum = lorenz(item_clicks)
        left.plot([0, 1], [0, 1], linestyle="--", color="#999999", label="equality")
        if pop.size:
            g, top = gini(item_clicks), top_share(item_clicks)
            left.plot(pop, cum, color="C3", label=f"items (Gini {g:.2f}, top 10% = {top:.0%})")
        else:
            _note(left, "no clicks")
        left.set(title="clicks per item", xlabel="share of items", ylabel="share of clicks")
        left.legend(loc="upper left", fontsize="small")
        left.grid(alpha=0.3)
        _per_day(
            right,
            as_float(day),
            [(as_float(coverage), "coverage", "C0"), (as_float(exposure_gini), "exposure Gini", "C3")],
            "share",
        )
        right.set_ylim(0, 1.05)
        right.set_title("exposure per day")
        right.legend(loc="best", fontsize="small")

    return render(draw, _SIZE_TWO)


def activity_tail(user_sessions: npt.ArrayLike) -> str:
    """Left: sessions per user by rank (log-log). Right: Lorenz curve of sessions per user."""

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        s = as_float(user_sessions)
        s = np.sort(s[np.isfinite(s)])[::-1]
        positive = s[s > 0]
        if positive.size:
            idx = np.unique(np.geomspace(1, positive.size, min(positive.size, _MAX_POINTS)).astype(np.int64))
            left.plot(idx, positive[idx - 1], color="C0")
            left.set_xscale("log")
            left.set_yscale("log")
            left.set_title(f"sessions per user ({s.size - positive.size:,} users with none)")
            pop, cum = lorenz(s)
            g, top = gini(s), top_share(s)
            right.plot(pop, cum, color="C0", label=f"users (Gini {g:.2f}, top 10% = {top:.0%})")
        else:
            _note(left, "no sessions")
            left.set_title("sessions per user")
        left.set(xlabel="user rank", ylabel="sessions")
        left.grid(alpha=0.3, which="both")
        right.plot([0, 1], [0, 1], linestyle="--", color="#999999", label="equality")
        right.set(title="concentration of sessions", xlabel="share of users", ylabel="share of sessions")
        right.legend(loc="upper left", fontsize="small")
        right.grid(alpha=0.3)

    return render(draw, _SIZE_TWO)


def position_bias(ctr_by_position: npt.ArrayLike, decay: float = 0.85) -> str:
    """CTR at each slate position, with a ``ctr[0] * decay**position`` reference curve."""

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ctr = as_float(ctr_by_position)
        if ctr.size:
            pos = np.arange(ctr.size)
            ax.bar(pos, np.nan_to_num(ctr), color="C0", label="measured CTR")
            if np.isfinite(ctr[0]) and ctr[0] > 0:
                ax.plot(pos, ctr[0] * decay**pos, color="C1", linestyle="--", label=f"{decay}^position")
            _integer_ticks(ax, pos.astype(np.float64))
            ax.legend(loc="best", fontsize="small")
        else:
            _note(ax, "no impressions")
        ax.set(xlabel="position in slate", ylabel="CTR")
        ax.grid(alpha=0.3, axis="y")

    return render(draw)


def score_by_policy(policies: Sequence[str], mean: npt.ArrayLike, std: npt.ArrayLike) -> str:
    """Bar chart of the mean score per policy with one-standard-deviation error bars."""

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        m = as_float(mean)
        if m.size:
            x = np.arange(m.size)
            ax.bar(x, np.nan_to_num(m), yerr=np.nan_to_num(as_float(std)), capsize=4, color="C0")
            ax.set_xticks(x, list(policies), rotation=30 if m.size > 4 else 0, ha="right" if m.size > 4 else "center")
            ax.axhline(0, color="#555555", linewidth=0.8)
        else:
            _note(ax, "no policies")
        ax.set(ylabel="score (mean ± std over seeds)", title="score by policy")
        ax.grid(alpha=0.3, axis="y")

    return render(draw)


# ------------------------------------------------------------------------------------ the run report's plots


def column(df: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float array; all NaN when the column is missing (so plots still render)."""
    if name not in df.columns:
        logger.debug("daily table has no column %r; plotting it as missing", name)
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)


def figure(title: str, caption: str, draw: Callable[[], str]) -> dict[str, str]:
    """Renders one plot; a failing plot is logged and left out rather than losing the whole report."""
    try:
        png = draw()
    except Exception:
        logger.exception("plot %r failed", title)
        png = ""
    return {"title": title, "caption": caption, "png": png}


def report_figures(report: RunReport) -> list[dict[str, str]]:
    """The run report's plots, in page order, as template entries (title, caption, png)."""
    d = report.daily
    day = column(d, "day") if "day" in d.columns else np.arange(len(d), dtype=float)
    ret = report.retention
    cohorts = [str(c) for c in ret["cohort"]] if "cohort" in ret.columns else [str(i) for i in range(len(ret))]
    return [
        figure(
            "Users",
            "daily active users and users not churned",
            lambda: users_per_day(day, column(d, "dau"), column(d, "alive_users")),
        ),
        figure(
            "Engagement",
            "engagement per active user and click-through rate per day",
            lambda: engagement_per_day(day, column(d, "engagement_per_active_user"), column(d, "ctr")),
        ),
        figure(
            "Retention",
            "day-0 cohort active by day; D1 and D7 per signup cohort (missing where not observable yet)",
            lambda: retention(report.retention_curve, cohorts, column(ret, "d1"), column(ret, "d7")),
        ),
        figure(
            "Creators",
            "active creators and consumer-to-creator conversions per day",
            lambda: creators_per_day(day, column(d, "creators"), column(d, "conversions")),
        ),
        figure(
            "Exposure",
            "Lorenz curve of clicks per item (target: Gini about 0.6, top 10% of items "
            "40-50% of clicks); coverage and exposure Gini per day",
            lambda: exposure(report.item_clicks, day, column(d, "coverage"), column(d, "exposure_gini")),
        ),
        figure(
            "Activity tail",
            "sessions per user by rank and their concentration (target: heavy-tailed)",
            lambda: activity_tail(report.user_sessions),
        ),
        figure(
            "Position bias",
            "click-through rate by slate position",
            lambda: position_bias(report.ctr_by_position),
        ),
    ]
