"""Did the challenger win the online experiment? The decision, from the ETL's experiments table.

The ETL writes one row per (date, experiment, arm) (:data:`components.etl.tables.EXPERIMENTS`):
users, per-user means, the model version that served the arm, and for each arm other than the
day's control the Welch 95% interval of ``arm - control`` on per-user CTR, engagement and D1
retention, plus the sample-ratio-mismatch (SRM) test of the users per arm. :func:`select_rows`
picks the rows of one (date, experiment); :func:`decide` turns the champion's and the
challenger's rows into one of three actions, checked in this order:

1. ``keep``: the figures cannot be trusted either way, so nothing changes: an arm has no data or
   fewer than ``min_users`` users; an arm served another model version than the one judged, or
   its main version served less than ``min_version_share`` of its impressions; the primary
   interval is undefined; or the SRM test flags the split (``srm_p_value < srm_alpha``);
2. ``promote``: the lower bound of the challenger's lift on the primary metric exceeds
   ``min_effect`` (0: the interval lies above zero) **and** no guard-rail is significantly
   worse;
3. ``retire``: the primary metric's upper bound lies below zero, or a guard-rail is
   significantly worse, or the window is complete and the challenger did not win;
4. otherwise ``keep``: inconclusive and the window is not complete yet.

Guard-rails are the other per-user metrics of the table (CTR or engagement, and D1 retention
where the day's cohort makes it defined); "significantly worse" means the upper bound of its
Welch 95% interval is below zero.

The table compares every arm with its control arm. When that is the champion's arm the
challenger's row holds the difference; when it is the challenger's, the champion's row holds
its negation. A table whose control is neither arm cannot compare them: ValueError.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from components.etl.tables import COMPARED_METRICS

CHAMPION_ARM = "control"
"""The experiment arm that serves the champion (the ETL's default control arm)."""
CHALLENGER_ARM = "treatment"
"""The experiment arm that serves the challenger."""

Metric = Literal["ctr", "engagement"]
"""Primary metrics: the experiments table has a per-user mean and a Welch interval for each."""
PRIMARY_METRIC: Metric = "ctr"
"""The metric a promotion is decided on unless one is named."""
PER_USER: dict[str, str] = {"ctr": "ctr_per_user", "engagement": "engagement_per_user"}
"""The experiments table's column holding each primary metric's per-user mean."""
COMPARED: tuple[str, ...] = COMPARED_METRICS
"""Metrics with a per-user Welch interval in the table: the primary one and the guard-rails."""

Action = Literal["promote", "retire", "keep"]
"""What to do with the challenger."""


def model_version_label(model_name: str, version: int) -> str:
    """The ``model_version`` serving echoes for a registry version (``recommender:v3``)."""
    return f"{model_name}:v{version}"


class DecisionConfig(BaseModel):
    """Thresholds of the online decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # users each arm needs before its figures count; fewer is "not enough data" (keep)
    min_users: int = Field(default=100, ge=2)
    # an SRM p-value below this means users were not split as configured: the comparison is biased
    srm_alpha: float = Field(default=0.001, gt=0.0, lt=1.0)
    # the interval's lower bound of (challenger - champion) must exceed this to promote (0: above zero)
    min_effect: float = Field(default=0.0, ge=0.0)
    # an arm's main model_version must have served at least this share of its impressions (fallbacks,
    # a version moved mid-day): below it the arm's figures are not that version's (keep)
    min_version_share: float = Field(default=0.9, ge=0.0, le=1.0)


class ArmFigures(BaseModel):
    """One arm's figures on the day, in the experiment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arm: str
    users: int
    value: float  # the primary metric's per-user mean
    impressions: int
    clicks: int
    ctr: float | None = None  # pooled clicks / impressions
    ctr_per_user: float | None = None
    engagement_per_user: float | None = None
    d1_retention: float | None = None  # None where the day's cohort is empty or its next day unseen
    model_version: str | None = None  # the version that served most of the arm's impressions
    model_version_share: float | None = None  # its share of the arm's impressions


class GuardRail(BaseModel):
    """A secondary metric the challenger must not make significantly worse."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str  # ctr, engagement or d1
    diff: float | None = None  # challenger - champion, per user
    low: float | None = None  # Welch 95% interval of diff
    high: float | None = None
    p_value: float | None = None
    worse: bool = False  # high < 0: significantly worse

    def describe(self) -> str:
        if self.diff is None or self.low is None or self.high is None:
            return f"{self.metric} undefined"
        verdict = "WORSE" if self.worse else "ok"
        return f"{self.metric} {_signed(self.diff)} [{_signed(self.low)}, {_signed(self.high)}] {verdict}"


class Decision(BaseModel):
    """The action, its reason in words and figures, and the figures themselves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    reason: str  # one line with the figures, kept in the alias history
    metric: Metric
    date: dt.date | None = None  # the day judged
    experiment: str | None = None  # the experiment judged
    champion: ArmFigures | None = None  # None when the table has no row for the arm
    challenger: ArmFigures | None = None
    diff: float | None = None  # challenger - champion, per-user mean of the metric
    low: float | None = None  # Welch 95% interval of diff
    high: float | None = None
    p_value: float | None = None  # Welch two-sided p-value of diff
    srm_p_value: float | None = None
    guard_rails: list[GuardRail] = []


def select_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    date: dt.date | None = None,
    experiment: str | None = None,
    champion_arm: str = CHAMPION_ARM,
    challenger_arm: str = CHALLENGER_ARM,
) -> tuple[dt.date | None, str | None, list[Mapping[str, Any]]]:
    """The rows of one (date, experiment) of the table: ``(date, experiment, rows)``.

    ``date`` None: the latest date in the table. ``experiment`` None: the experiment of that
    day in which both arms served; of several, the one with the most users in the two arms (the
    one live most of the day); of none, the one with the most users (its rows then say which arm
    lacked data). No rows for the day or the experiment: ``(date, experiment, [])``.
    """
    if date is None:
        dates = [r["date"] for r in rows]
        date = max(dates) if dates else None
    on_day = [r for r in rows if r["date"] == date]
    if experiment is None:
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for r in on_day:
            groups.setdefault(str(r["experiment"]), []).append(r)

        def rank(name: str) -> tuple[bool, int, str]:
            arms = {str(r["arm"]): int(r["users"]) for r in groups[name]}
            both = champion_arm in arms and challenger_arm in arms
            users = arms.get(champion_arm, 0) + arms.get(challenger_arm, 0)
            return both, users if both else sum(arms.values()), name

        experiment = max(groups, key=rank) if groups else None
    return date, experiment, [r for r in on_day if str(r["experiment"]) == experiment]


def _figures(row: Mapping[str, Any], metric: Metric) -> ArmFigures:
    def optional(column: str) -> Any:
        value = row.get(column)
        return None if value is None or value != value else value  # NaN (pandas' null) as None

    return ArmFigures(
        arm=str(row["arm"]),
        users=int(row["users"]),
        value=float(row[PER_USER[metric]]),
        impressions=int(row["impressions"]),
        clicks=int(row["clicks"]),
        ctr=optional("ctr"),
        ctr_per_user=optional("ctr_per_user"),
        engagement_per_user=optional("engagement_per_user"),
        d1_retention=optional("d1_retention"),
        model_version=optional("model_version"),
        model_version_share=optional("model_version_share"),
    )


Difference = tuple[float | None, float | None, float | None, float | None]
"""(diff, low, high, p-value) of challenger - champion on one metric."""


def _difference(
    rows: Mapping[str, Mapping[str, Any]], champion_arm: str, challenger_arm: str, metric: str
) -> Difference:
    """(diff, low, high, p) of challenger - champion, read from whichever row is not the control."""
    control = str(rows[challenger_arm]["control_arm"])

    def read(row: Mapping[str, Any], suffix: str) -> float | None:
        value = row.get(f"{metric}{suffix}")
        return None if value is None or value != value else float(value)

    if control == champion_arm:
        row = rows[challenger_arm]
        return read(row, "_diff"), read(row, "_diff_low"), read(row, "_diff_high"), read(row, "_p_value")
    if control == challenger_arm:
        row = rows[champion_arm]
        diff, low, high = read(row, "_diff"), read(row, "_diff_low"), read(row, "_diff_high")
        return (
            None if diff is None else -diff,
            None if high is None else -high,
            None if low is None else -low,
            read(row, "_p_value"),
        )
    raise ValueError(
        f"the experiments table compares every arm with {control!r}, neither the champion's arm {champion_arm!r} "
        f"nor the challenger's {challenger_arm!r}: run the ETL with control_arm={champion_arm!r}"
    )


def _guard_rails(
    rows: Mapping[str, Mapping[str, Any]], champion_arm: str, challenger_arm: str, metric: Metric
) -> list[GuardRail]:
    rails = []
    for other in COMPARED:
        if other == metric:
            continue
        diff, low, high, p_value = _difference(rows, champion_arm, challenger_arm, other)
        worse = high is not None and high < 0.0
        rails.append(GuardRail(metric=other, diff=diff, low=low, high=high, p_value=p_value, worse=worse))
    return rails


def _signed(value: float) -> str:
    return f"{value:+.4f}"


def _version_problem(figures: ArmFigures, role: str, expected: str | None, config: DecisionConfig) -> str | None:
    """Why an arm's figures are not those of the version judged, or None when they are (or unknown)."""
    if figures.model_version is None:
        return None
    if expected is not None and figures.model_version != expected:
        return f"the {role}'s arm {figures.arm!r} served {figures.model_version}, not {expected}"
    share = figures.model_version_share
    if share is not None and share < config.min_version_share:
        return (
            f"the {role}'s arm {figures.arm!r} served {figures.model_version} for only {share:.0%} of its "
            f"impressions (need {config.min_version_share:.0%}; fallbacks or a version change)"
        )
    return None


def decide(
    rows: Sequence[Mapping[str, Any]],
    *,
    champion_arm: str = CHAMPION_ARM,
    challenger_arm: str = CHALLENGER_ARM,
    metric: Metric = PRIMARY_METRIC,
    config: DecisionConfig | None = None,
    window_complete: bool = True,
    champion_version: str | None = None,
    challenger_version: str | None = None,
) -> Decision:
    """The action for the challenger from the rows of one (date, experiment) (dicts, one per arm).

    ``window_complete``: the window is the experiment's whole planned duration, so a challenger
    that has not won by now is retired rather than kept. ``champion_version`` /
    ``challenger_version``: the ``model_version`` each arm should have served
    (:func:`model_version_label`); an arm that served another is not judged. See the module doc
    for the rule. ValueError when the two arms are the same, a metric is unknown, the rows span
    several days or experiments, or the table's control is neither arm.
    """
    if champion_arm == challenger_arm:
        raise ValueError(f"the champion and the challenger need different arms, both are {champion_arm!r}")
    if metric not in PER_USER:
        raise ValueError(f"unknown primary metric {metric!r}: use one of {sorted(PER_USER)}")
    groups = {(r["date"], str(r["experiment"])) for r in rows}
    if len(groups) > 1:
        raise ValueError(f"the rows span {len(groups)} (date, experiment) pairs: select one with select_rows")
    day, experiment = next(iter(groups)) if groups else (None, None)
    config = config or DecisionConfig()
    by_arm = {str(r["arm"]): r for r in rows}
    champion = _figures(by_arm[champion_arm], metric) if champion_arm in by_arm else None
    challenger = _figures(by_arm[challenger_arm], metric) if challenger_arm in by_arm else None
    srm_p = float(rows[0]["srm_p_value"]) if rows else None
    where = f"experiment {experiment} on {day}" if groups else "no experiment"
    common: dict[str, Any] = {
        "metric": metric,
        "date": day,
        "experiment": experiment,
        "champion": champion,
        "challenger": challenger,
        "srm_p_value": srm_p,
    }

    def keep(reason: str) -> Decision:
        return Decision(action="keep", reason=f"keep: {reason} ({where})", **common)

    arms = sorted(by_arm) or "none"
    if challenger is None or challenger.users == 0:
        return keep(f"no data for the challenger's arm {challenger_arm!r} (arms: {arms})")
    if champion is None or champion.users == 0:
        return keep(f"no data for the champion's arm {champion_arm!r} (arms: {arms})")
    users = f"users {challenger.users} vs {champion.users}"
    if min(champion.users, challenger.users) < config.min_users:
        return keep(f"not enough data, {users} (need {config.min_users} per arm)")
    for figures, role, expected in (
        (champion, "champion", champion_version),
        (challenger, "challenger", challenger_version),
    ):
        if (problem := _version_problem(figures, role, expected, config)) is not None:
            return keep(problem)
    diff, low, high, p_value = _difference(by_arm, champion_arm, challenger_arm, metric)
    if diff is None or low is None or high is None:
        return keep(f"the {metric} interval is undefined (no variance within an arm), {users}")
    rails = _guard_rails(by_arm, champion_arm, challenger_arm, metric)
    worse = [rail.metric for rail in rails if rail.worse]
    srm_text = f"SRM p={srm_p:.3g}" if srm_p is not None else "SRM p unknown"
    versions = f"{challenger.model_version or '?'} vs {champion.model_version or '?'}"
    figures_text = (
        f"{challenger_arm} (challenger) {metric} {challenger.value:.4f} vs {champion_arm} (champion) "
        f"{champion.value:.4f} per user, diff {_signed(diff)} [95% CI {_signed(low)}, {_signed(high)}]"
        f"{f', p={p_value:.3g}' if p_value is not None else ''}; guard-rails: "
        f"{', '.join(rail.describe() for rail in rails)}; {users}; {srm_text}; versions {versions}; {where}"
    )
    action: Action
    if srm_p is not None and srm_p < config.srm_alpha:
        action, verdict = "keep", f"sample-ratio mismatch (p < {config.srm_alpha:g}): the split is biased"
    elif low > config.min_effect and not worse:
        action, verdict = "promote", f"the challenger wins (lower bound > {config.min_effect:g}), no guard-rail worse"
    elif high < 0.0:
        action, verdict = "retire", "the challenger is significantly worse"
    elif worse:
        action, verdict = "retire", f"a guard-rail is significantly worse ({', '.join(worse)})"
    elif window_complete:
        action, verdict = "retire", "the window is complete and the challenger did not win"
    else:
        action, verdict = "keep", "inconclusive so far; the window is not complete"
    return Decision(
        action=action,
        reason=f"{action}: {verdict}: {figures_text}",
        diff=diff,
        low=low,
        high=high,
        p_value=p_value,
        guard_rails=rails,
        **common,
    )
