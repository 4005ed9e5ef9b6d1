"""The SimNet run report: one self-contained HTML page plus machine-readable files.

The simulation runner builds a :class:`RunReport` and calls :func:`write_report`,
which writes ``report.html`` (headline cards, the calibration table of
``/work/shared/SIMNET.md``, plots as inline base64 PNG, the summary, daily and
cohort tables and the world configuration), ``summary.json``, ``daily.csv``,
``retention.csv`` and ``calibration.csv``. :func:`write_comparison` does the same
for a table of runs of several policies over several seeds.

Missing or unobservable values (None, NaN) are shown as ``n/a`` and written to
JSON as ``null``. Nothing happens at import: directories are created by the
writers, and plots use an explicit Agg canvas (see :mod:`simnet.plots`).
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from simnet import plots

logger = logging.getLogger(__name__)

TEMPLATE = "report.html.j2"
NA = "n/a"

# Headline cards: (label, summary keys tried in order, aggregation of the daily column if not in the summary).
_CARDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("score", ("score",), "mean"),
    ("events", ("events",), "sum"),
    ("events / s", ("events_per_s",), ""),
    ("CTR", ("ctr",), "mean"),
    ("DAU", ("dau",), "mean"),
    ("creators", ("creators",), "last"),
    ("coverage", ("coverage",), "mean"),
    ("exposure Gini", ("exposure_gini",), "mean"),
)
# Retention cards appear only when a value is known (summary first, then the size-weighted cohort mean).
_RETENTION_CARDS = (
    ("D1 retention", ("retention_d1", "d1_retention", "d1"), "d1"),
    ("D7 retention", ("retention_d7", "d7_retention", "d7"), "d7"),
)


@dataclass(frozen=True)
class RunReport:
    """Everything the runner measured in one run; the hidden state of the world is not in here."""

    title: str  # e.g. "SimNet: popularity, 100,000 users, 7 days, seed 7"
    summary: dict[str, float | int | str | None]  # the headline JSON (score, ctr, dau, events, ...)
    daily: pd.DataFrame  # one row per simulated day (day, date, events, dau, ctr, ..., alive_users)
    retention: pd.DataFrame  # one row per signup cohort: cohort, size, d1, d7 (NaN where not observable)
    retention_curve: np.ndarray  # fraction of the day-0 cohort active on day 0, 1, 2, ...
    calibration: pd.DataFrame  # target (str), expected (str, "0.55-0.70"), measured (float), ok (bool | None)
    item_clicks: np.ndarray  # clicks per item over the run (whole catalogue, zeros included)
    user_sessions: np.ndarray  # sessions per user over the run
    ctr_by_position: np.ndarray  # clicks/impressions at positions 0..K-1
    config: dict[str, object]  # the world configuration used (nested dict), shown collapsed at the end
    # one row per day and arm (the arm each slate's policy echoed): users, dau, reach, ctr, value, score, ...
    arms: pd.DataFrame = field(default_factory=pd.DataFrame)


# ----------------------------------------------------------------------------------------------- formatting


def is_missing(value: object) -> bool:
    """True for None, pandas NA and NaN (of any float type)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and math.isnan(value)


def fmt(value: object) -> str:
    """Human-readable value: thousands separators, about 3-4 significant digits, ``n/a`` when missing."""
    if is_missing(value):
        return NA
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if v == 0.0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.1f}"
        return f"{v:.3g}"
    return str(value)


def _marker(ok: object) -> str:
    if is_missing(ok):
        return "na"
    return "ok" if bool(ok) else "bad"


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars and arrays to Python, NaN/inf to None, unknown objects to str."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series):
        return [jsonable(v) for v in (value.tolist() if isinstance(value, np.ndarray | pd.Series) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if is_missing(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ----------------------------------------------------------------------------------------------- page parts


def table_section(
    title: str, df: pd.DataFrame, *, note: str = "", open_: bool = False, marker_col: str | None = None
) -> dict[str, Any]:
    """A table for the template: numbers right-aligned and formatted, an optional status marker column."""
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    rows = []
    for record in df.itertuples(index=False, name=None):
        row = []
        for col, value, num in zip(df.columns, record, numeric, strict=True):
            if col == marker_col:
                row.append(
                    {
                        "text": NA if is_missing(value) else ("pass" if value else "fail"),
                        "marker": _marker(value),
                        "num": False,
                    }
                )
            else:
                row.append({"text": fmt(value), "marker": "", "num": num})
        rows.append(row)
    return {
        "title": title,
        "columns": [str(c) for c in df.columns],
        "numeric": numeric,
        "rows": rows,
        "note": note,
        "open": open_,
    }


def _aggregate(daily: pd.DataFrame, column: str, how: str) -> object:
    if not how or column not in daily.columns or daily.empty:
        return None
    values = pd.to_numeric(daily[column], errors="coerce").dropna()
    if values.empty:
        return None
    value = values.iloc[-1] if how == "last" else values.sum() if how == "sum" else values.mean()
    return value.item() if isinstance(value, np.generic) else value


def _cohort_mean(retention: pd.DataFrame, column: str) -> float | None:
    """Size-weighted mean of an observable retention column over cohorts; None when nothing is observable."""
    if column not in retention.columns or retention.empty:
        return None
    values = pd.to_numeric(retention[column], errors="coerce")
    weights = pd.to_numeric(retention["size"], errors="coerce") if "size" in retention.columns else None
    mask = values.notna() & (weights.notna() if weights is not None else True)
    if not mask.any():
        return None
    w = weights[mask].to_numpy(float) if weights is not None else np.ones(int(mask.sum()))
    return float(np.average(values[mask].to_numpy(float), weights=w)) if w.sum() > 0 else None


def _cards(report: RunReport) -> list[dict[str, str]]:
    cards = []
    for label, keys, how in _CARDS:
        key = next((k for k in keys if k in report.summary), keys[0])
        value = report.summary[key] if key in report.summary else _aggregate(report.daily, keys[0], how)
        cards.append({"label": label, "key": key, "value": fmt(value)})
    for label, keys, column in _RETENTION_CARDS:
        key = next((k for k in keys if k in report.summary and not is_missing(report.summary[k])), "")
        value = report.summary[key] if key else _cohort_mean(report.retention, column)
        if not is_missing(value):
            cards.append({"label": label, "key": key or column, "value": fmt(value)})
    return cards


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(page: Mapping[str, Any]) -> str:
    """Renders the page template; ``page`` has title, subtitle, cards, tables_top, figures, tables_bottom,
    config_text."""
    defaults: dict[str, Any] = {
        "subtitle": "",
        "cards": [],
        "tables_top": [],
        "figures": [],
        "tables_bottom": [],
        "config_text": "",
    }
    return _environment().get_template(TEMPLATE).render(page={**defaults, **page})


# ----------------------------------------------------------------------------------------------- writers


def write_report(report: RunReport, out_dir: Path) -> Path:
    """Writes out_dir/report.html (self-contained: plots as inline base64 PNG), out_dir/summary.json,
    out_dir/daily.csv, out_dir/retention.csv, out_dir/calibration.csv and, when slates named arms,
    out_dir/arms.csv; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(
        json.dumps(jsonable(report.summary), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    report.daily.to_csv(out_dir / "daily.csv", index=False)
    report.retention.to_csv(out_dir / "retention.csv", index=False)
    report.calibration.to_csv(out_dir / "calibration.csv", index=False)
    if not report.arms.empty:
        report.arms.to_csv(out_dir / "arms.csv", index=False)

    calibration = report.calibration
    n_days = len(report.daily)
    verdicts = [_marker(v) for v in calibration["ok"]] if "ok" in calibration.columns else []
    note = (
        f"{verdicts.count('ok')} met, {verdicts.count('bad')} missed, {verdicts.count('na')} not judged"
        if verdicts
        else ""
    )
    summary = pd.DataFrame({"key": list(report.summary), "value": [fmt(v) for v in report.summary.values()]})
    page = {
        "title": report.title,
        "subtitle": f"{n_days:,} simulated day{'s' if n_days != 1 else ''}",
        "cards": _cards(report),
        "tables_top": [table_section("Calibration", calibration, note=note, marker_col="ok")],
        "figures": plots.report_figures(report),
        "tables_bottom": [
            table_section("Summary", summary, open_=True),
            table_section("Per day", report.daily),
            *([table_section("Per day and arm", report.arms, open_=True)] if not report.arms.empty else []),
            table_section("Retention by signup cohort", report.retention, note="n/a: not observable within the run"),
        ],
        "config_text": json.dumps(jsonable(report.config), indent=2, allow_nan=False),
    }
    path = out_dir / "report.html"
    path.write_text(render_page(page), encoding="utf-8")
    logger.info("wrote SimNet report to %s", path)
    return path


def summarise_policies(rows: pd.DataFrame) -> pd.DataFrame:
    """Per policy: the number of runs, then mean and std over seeds of each numeric metric; best first."""
    metrics = [
        c
        for c in rows.columns
        if c not in ("policy", "seed")
        and pd.api.types.is_numeric_dtype(rows[c])
        and not pd.api.types.is_bool_dtype(rows[c])
    ]
    grouped = rows.groupby("policy", sort=False)
    out = pd.DataFrame({"policy": list(grouped.groups), "seeds": grouped.size().to_numpy()})
    for metric in metrics:
        out[f"{metric}_mean"] = grouped[metric].mean().to_numpy(dtype=float)
        out[f"{metric}_std"] = grouped[metric].std(ddof=1).to_numpy(dtype=float)
    if "score_mean" in out.columns:
        out = out.sort_values("score_mean", ascending=False, kind="stable")
    return out.reset_index(drop=True)


def _mean_std_table(stats: pd.DataFrame, metrics: Sequence[str]) -> dict[str, Any]:
    table = table_section("Policies (mean ± std over seeds)", stats[["policy", "seeds"]])
    for metric in metrics:
        table["columns"].append(metric)
        table["numeric"].append(True)
        for row, mean, std in zip(table["rows"], stats[f"{metric}_mean"], stats[f"{metric}_std"], strict=True):
            text = fmt(mean) if is_missing(std) else f"{fmt(mean)} ± {fmt(std)}"
            row.append({"text": text, "marker": "", "num": True})
    return table


def write_comparison(rows: pd.DataFrame, out_dir: Path, title: str, calibration: pd.DataFrame | None = None) -> Path:
    """Writes out_dir/comparison.html (mean ± std per policy and a bar plot of score), out_dir/comparison.csv
    (the rows as given) and out_dir/comparison_summary.csv (per-policy statistics); returns the HTML path.
    ``calibration`` (target, expected, measured, ok) adds the targets judged across policies."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out_dir / "comparison.csv", index=False)
    tables_top = []
    if calibration is not None:
        calibration.to_csv(out_dir / "comparison_calibration.csv", index=False)
        tables_top.append(table_section("Calibration across policies", calibration, marker_col="ok"))
    stats = summarise_policies(rows)
    stats.to_csv(out_dir / "comparison_summary.csv", index=False)
    metrics = [c[: -len("_mean")] for c in stats.columns if c.endswith("_mean")]
    figures = []
    if "score_mean" in stats.columns:
        figures.append(
            plots.figure(
                "Score by policy",
                "error bars: one standard deviation over seeds",
                lambda: plots.score_by_policy(
                    [str(p) for p in stats["policy"]], stats["score_mean"], stats["score_std"]
                ),
            )
        )
    n_seeds = rows["seed"].nunique() if "seed" in rows.columns else len(rows)
    page = {
        "title": title,
        "subtitle": f"{len(stats):,} policies, {n_seeds:,} seeds, {len(rows):,} runs",
        "tables_top": [*tables_top, _mean_std_table(stats, metrics)],
        "figures": figures,
        "tables_bottom": [table_section("All runs", rows)],
    }
    path = out_dir / "comparison.html"
    path.write_text(render_page(page), encoding="utf-8")
    logger.info("wrote policy comparison to %s", path)
    return path
