"""Tests of the SimNet report writer (simnet/report.py) and its plots (simnet/plots.py)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simnet import plots
from simnet.report import RunReport, fmt, jsonable, summarise_policies, write_comparison, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPORT_FILES = ("report.html", "summary.json", "daily.csv", "retention.csv", "calibration.csv")
N_REPORT_PLOTS = 7


def make_report(days: int, seed: int = 0) -> RunReport:
    """A synthetic report over ``days`` days; with one day no cohort is observable."""
    rng = np.random.default_rng(seed)
    day = np.arange(days)
    daily = pd.DataFrame(
        {
            "day": day,
            "date": [f"2024-01-{d + 1:02d}" for d in day],
            "events": rng.integers(3_000_000, 5_000_000, days),
            "dau": rng.integers(40_000, 60_000, days),
            "ctr": rng.uniform(0.02, 0.05, days),
            "engagement_per_active_user": rng.uniform(5, 9, days),
            "slates_per_session": rng.uniform(2, 5, days),
            "sessions": rng.integers(80_000, 120_000, days),
            "creators": rng.integers(900, 1100, days),
            "conversions": rng.integers(5, 30, days),
            "signups": rng.integers(100, 300, days),
            "churns": rng.integers(50, 200, days),
            "coverage": rng.uniform(0.3, 0.6, days),
            "exposure_gini": rng.uniform(0.5, 0.7, days),
            "click_gini": rng.uniform(0.5, 0.7, days),
            "mean_satisfaction": rng.uniform(0.4, 0.6, days),
            "score": rng.normal(1.0, 0.1, days),
            "alive_users": 100_000 - np.arange(days) * 100,
        }
    )
    cohorts = max(days - 1, 0)
    retention = pd.DataFrame(
        {
            "cohort": np.arange(cohorts),
            "size": rng.integers(100, 1000, cohorts),
            "d1": rng.uniform(0.3, 0.6, cohorts),
            "d7": np.full(cohorts, np.nan),  # a week is never observable in these short runs
        }
    )
    calibration = pd.DataFrame(
        {
            "target": ["item Gini", "top 10% item share", "events per day", "D7 retention"],
            "expected": ["0.55-0.70", "0.40-0.50", "3.5M-4.5M", "> random"],
            "measured": [0.62, 0.38, 4.1e6, np.nan],
            "ok": [True, False, True, None],
        }
    )
    summary: dict[str, float | int | str | None] = {
        "score": 1.234,
        "ctr": 0.0345,
        "dau": 51_234.5,
        "events": 4_012_345 * days,
        "events_per_s": 123_456.7,
        "creators": 1_024,
        "coverage": 0.5,
        "exposure_gini": 0.61,
        "policy": "popularity",
        "retention_d1": 0.45 if days > 1 else None,
        "retention_d7": None,
    }
    return RunReport(
        title=f"SimNet: popularity, 100,000 users, {days} days, seed {seed}",
        summary=summary,
        daily=daily,
        retention=retention,
        retention_curve=np.linspace(1.0, 0.5, days),
        calibration=calibration,
        item_clicks=np.concatenate([np.zeros(50), rng.pareto(1.5, 950) * 10]),
        user_sessions=np.concatenate([np.zeros(100), rng.zipf(2.0, 900).astype(float)]),
        ctr_by_position=0.05 * 0.85 ** np.arange(10),
        config={"users": 100_000, "days": days, "choice": {"position_decay": 0.85, "nan": float("nan")}},
    )


def embedded_pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


@pytest.mark.parametrize("days", [1, 3])
def test_write_report_writes_every_file_and_a_self_contained_page(tmp_path: Path, days: int) -> None:
    """All five files exist; the page names every calibration target and summary key and embeds valid PNGs."""
    report = make_report(days)
    out = tmp_path / "nested" / "run"
    html_path = write_report(report, out)

    assert html_path == out / "report.html"
    for name in REPORT_FILES:
        assert (out / name).is_file(), name
    html = html_path.read_text(encoding="utf-8")
    for target in report.calibration["target"]:
        assert target in html
    for key in report.summary:
        assert key in html
    pngs = embedded_pngs(html)
    assert len(pngs) == N_REPORT_PLOTS
    assert all(png.startswith(PNG_MAGIC) for png in pngs)
    assert "n/a" in html  # the missing D7 and the unjudged calibration row
    assert "<details>" in html and "position_decay" in html  # configuration, collapsed
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched from elsewhere


@pytest.mark.parametrize("days", [1, 3])
def test_summary_json_round_trips(tmp_path: Path, days: int) -> None:
    """summary.json loads back to the summary (None stays null) and the CSVs keep their rows."""
    report = make_report(days)
    write_report(report, tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text()) == report.summary
    assert len(pd.read_csv(tmp_path / "daily.csv")) == days
    assert len(pd.read_csv(tmp_path / "retention.csv")) == len(report.retention)
    calibration = pd.read_csv(tmp_path / "calibration.csv")
    assert list(calibration["target"]) == list(report.calibration["target"])


def test_calibration_markers_follow_ok(tmp_path: Path) -> None:
    """One green, one red and one grey marker per calibration verdict, in the calibration table."""
    html = write_report(make_report(3), tmp_path).read_text()
    assert html.count('class="dot ok"') == 2
    assert html.count('class="dot bad"') == 1
    assert html.count('class="dot na"') == 1


def test_headline_cards_show_retention_only_when_known(tmp_path: Path) -> None:
    """D1 appears as a card when measured; D7, never observable here, does not."""
    html3 = write_report(make_report(3), tmp_path / "a").read_text()
    html1 = write_report(make_report(1), tmp_path / "b").read_text()
    d1, d7 = '<div class="label">D1 retention</div>', '<div class="label">D7 retention</div>'
    assert d1 in html3 and d7 not in html3
    assert d1 not in html1


def test_nan_summary_values_become_null(tmp_path: Path) -> None:
    """NaN and numpy scalars in the summary are written as valid JSON (null and plain numbers)."""
    report = make_report(1)
    summary = {**report.summary, "score": float("nan"), "events": np.int64(7), "ctr": np.float32(0.5)}
    write_report(RunReport(**{**report.__dict__, "summary": summary}), tmp_path)
    loaded = json.loads((tmp_path / "summary.json").read_text())
    assert loaded["score"] is None and loaded["events"] == 7 and loaded["ctr"] == 0.5


def test_empty_arrays_and_missing_columns_do_not_crash(tmp_path: Path) -> None:
    """A run with no clicks, no sessions, no positions and a thin daily table still renders every plot."""
    report = make_report(1)
    thin = RunReport(
        **{
            **report.__dict__,
            "daily": report.daily[["day", "dau", "events"]],
            "retention": pd.DataFrame(columns=["cohort", "size", "d1", "d7"]),
            "retention_curve": np.zeros(0),
            "item_clicks": np.zeros(10),
            "user_sessions": np.zeros(0),
            "ctr_by_position": np.zeros(0),
        }
    )
    pngs = embedded_pngs(write_report(thin, tmp_path).read_text())
    assert len(pngs) == N_REPORT_PLOTS and all(p.startswith(PNG_MAGIC) for p in pngs)


def make_rows() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [
        {
            "policy": policy,
            "seed": seed,
            "score": base + rng.normal(0, 0.05),
            "ctr": 0.01 * (1 + base),
            "dau": int(50_000 + 1000 * base),
            "engagement_per_active_user": 5 + base,
            "retention_d1": 0.3 + 0.1 * base,
        }
        for policy, base in (("random", 0.1), ("popularity", 0.6), ("oracle", 1.2))
        for seed in (1, 2, 3)
    ]
    return pd.DataFrame(rows)


def test_write_comparison(tmp_path: Path) -> None:
    """The page and both CSVs exist; policies are ranked by mean score; the bar plot is a valid PNG."""
    rows = make_rows()
    path = write_comparison(rows, tmp_path, "SimNet: policies over 3 seeds")
    assert path == tmp_path / "comparison.html"
    html = path.read_text()
    assert "SimNet: policies over 3 seeds" in html and "±" in html
    for policy in ("random", "popularity", "oracle"):
        assert policy in html
    pngs = embedded_pngs(html)
    assert len(pngs) == 1 and pngs[0].startswith(PNG_MAGIC)
    stats = pd.read_csv(tmp_path / "comparison_summary.csv")
    assert list(stats["policy"]) == ["oracle", "popularity", "random"]
    assert list(stats["seeds"]) == [3, 3, 3]
    assert pd.read_csv(tmp_path / "comparison.csv").shape == rows.shape


def test_summarise_policies_single_seed_has_undefined_std() -> None:
    """With one seed per policy the standard deviation is NaN (shown as n/a), not zero."""
    stats = summarise_policies(make_rows().query("seed == 1"))
    assert stats["score_std"].isna().all()
    assert np.allclose(stats["ctr_mean"], sorted(stats["ctr_mean"], reverse=True))


def test_lorenz_curve() -> None:
    """The Lorenz curve runs from (0, 0) to (1, 1), never falls, and is thinned to at most 1000 points."""
    pop, cum = plots.lorenz(np.arange(5000.0))
    assert pop[0] == 0 and cum[0] == 0 and pop[-1] == 1 and cum[-1] == pytest.approx(1)
    assert len(pop) <= 1000 and np.all(np.diff(cum) >= 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (float("nan"), "n/a"),
        (np.float64("nan"), "n/a"),
        (4_012_345, "4,012,345"),
        (np.int64(12), "12"),
        (123_456.7, "123,457"),
        (3.456, "3.46"),
        (0.03456, "0.0346"),
        (0.0, "0"),
        (True, "yes"),
        ("popularity", "popularity"),
    ],
)
def test_fmt(value: object, text: str) -> None:
    """Numbers get separators and a few significant digits; missing values read n/a."""
    assert fmt(value) == text


def test_jsonable_is_strict_json() -> None:
    """Nested numpy values, NaN and infinities become strict JSON."""
    data = {"a": np.arange(3), "b": {"c": np.float64("inf"), "d": (1, float("nan"))}, "e": Path("x")}
    assert json.loads(json.dumps(jsonable(data), allow_nan=False)) == {
        "a": [0, 1, 2],
        "b": {"c": None, "d": [1, None]},
        "e": "x",
    }


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    """A fresh interpreter importing the report and writing one leaves pyplot unimported and its cwd empty."""
    code = (
        "import sys; import simnet.report as r; assert 'matplotlib.pyplot' not in sys.modules; "
        "from tests.unit.simnet.test_report import make_report; "
        "r.write_report(make_report(2), r.Path('out')); assert 'matplotlib.pyplot' not in sys.modules"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", "import simnet.report"], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True)
