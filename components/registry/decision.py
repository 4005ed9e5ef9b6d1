"""Did the challenger win the online experiment? The decision, from the ETL's experiments table.

The ETL writes one row per arm over a window (:data:`components.etl.tables.EXPERIMENTS`): users,
per-user means, and for each arm other than the control the Welch 95% interval of
``arm - control`` on per-user CTR and engagement, plus the sample-ratio-mismatch (SRM) test of
the users per arm. :func:`decide` turns the rows of the champion's and the challenger's arms
into one of three actions, checked in this order:

1. ``keep``: no data (an arm is missing or has fewer than ``min_users`` users), the interval
   is undefined, or the SRM test flags the split (``srm_p_value < srm_alpha``): the figures
   cannot be trusted either way, so nothing changes;
2. ``promote``: the lower bound of the challenger's lift over the champion exceeds
   ``min_effect`` (0: the interval lies above zero);
3. ``retire``: the upper bound lies below zero (significantly worse), or the window is
   complete and the challenger did not win;
4. otherwise ``keep``: inconclusive and the window is not complete yet.

The table compares every arm with its control arm. When that is the champion's arm the
challenger's row holds the difference; when it is the challenger's, the champion's row holds
its negation. A table whose control is neither arm cannot compare them: ValueError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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

Action = Literal["promote", "retire", "keep"]
"""What to do with the challenger."""


class DecisionConfig(BaseModel):
    """Thresholds of the online decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # users each arm needs before its figures count; fewer is "not enough data" (keep)
    min_users: int = Field(default=100, ge=2)
    # an SRM p-value below this means users were not split as configured: the comparison is biased
    srm_alpha: float = Field(default=0.001, gt=0.0, lt=1.0)
    # the interval's lower bound of (challenger - champion) must exceed this to promote (0: above zero)
    min_effect: float = Field(default=0.0, ge=0.0)


class ArmFigures(BaseModel):
    """One arm's figures over the window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arm: str
    users: int
    value: float  # the primary metric's per-user mean
    impressions: int
    clicks: int


class Decision(BaseModel):
    """The action, its reason in words and figures, and the figures themselves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    reason: str  # one line with the figures, kept in the alias history
    metric: Metric
    champion: ArmFigures | None = None  # None when the table has no row for the arm
    challenger: ArmFigures | None = None
    diff: float | None = None  # challenger - champion, per-user mean of the metric
    low: float | None = None  # Welch 95% interval of diff
    high: float | None = None
    p_value: float | None = None  # Welch two-sided p-value of diff
    srm_p_value: float | None = None


def _figures(row: Mapping[str, Any], metric: Metric) -> ArmFigures:
    return ArmFigures(
        arm=str(row["arm"]),
        users=int(row["users"]),
        value=float(row[PER_USER[metric]]),
        impressions=int(row["impressions"]),
        clicks=int(row["clicks"]),
    )


def _difference(
    rows: Mapping[str, Mapping[str, Any]], champion_arm: str, challenger_arm: str, metric: Metric
) -> tuple[float | None, float | None, float | None, float | None]:
    """(diff, low, high, p) of challenger - champion, read from whichever row is not the control."""
    control = str(rows[challenger_arm]["control_arm"])
    if control == champion_arm:
        row = rows[challenger_arm]
        return row[f"{metric}_diff"], row[f"{metric}_diff_low"], row[f"{metric}_diff_high"], row[f"{metric}_p_value"]
    if control == challenger_arm:
        row = rows[champion_arm]
        diff, low, high = row[f"{metric}_diff"], row[f"{metric}_diff_low"], row[f"{metric}_diff_high"]
        return (
            None if diff is None else -diff,
            None if high is None else -high,
            None if low is None else -low,
            row[f"{metric}_p_value"],
        )
    raise ValueError(
        f"the experiments table compares every arm with {control!r}, neither the champion's arm {champion_arm!r} "
        f"nor the challenger's {challenger_arm!r}: run the ETL with control_arm={champion_arm!r}"
    )


def _signed(value: float) -> str:
    return f"{value:+.4f}"


def decide(
    rows: Sequence[Mapping[str, Any]],
    *,
    champion_arm: str = CHAMPION_ARM,
    challenger_arm: str = CHALLENGER_ARM,
    metric: Metric = PRIMARY_METRIC,
    config: DecisionConfig | None = None,
    window_complete: bool = True,
) -> Decision:
    """The action for the challenger from the experiments table's ``rows`` (dicts, one per arm).

    ``window_complete``: the window is the experiment's whole planned duration, so a challenger
    that has not won by now is retired rather than kept. See the module doc for the rule.
    ValueError when the two arms are the same, a metric is unknown, or the table's control is
    neither arm.
    """
    if champion_arm == challenger_arm:
        raise ValueError(f"the champion and the challenger need different arms, both are {champion_arm!r}")
    if metric not in PER_USER:
        raise ValueError(f"unknown primary metric {metric!r}: use one of {sorted(PER_USER)}")
    config = config or DecisionConfig()
    by_arm = {str(r["arm"]): r for r in rows}
    champion = _figures(by_arm[champion_arm], metric) if champion_arm in by_arm else None
    challenger = _figures(by_arm[challenger_arm], metric) if challenger_arm in by_arm else None
    srm_p = float(rows[0]["srm_p_value"]) if rows else None

    def keep(reason: str) -> Decision:
        return Decision(
            action="keep", reason=reason, metric=metric, champion=champion, challenger=challenger, srm_p_value=srm_p
        )

    arms = sorted(by_arm) or "none"
    if challenger is None or challenger.users == 0:
        return keep(f"keep: no data for the challenger's arm {challenger_arm!r} in the window (arms: {arms})")
    if champion is None or champion.users == 0:
        return keep(f"keep: no data for the champion's arm {champion_arm!r} in the window (arms: {arms})")
    users = f"users {challenger.users} vs {champion.users}"
    if min(champion.users, challenger.users) < config.min_users:
        return keep(f"keep: not enough data, {users} (need {config.min_users} per arm)")
    diff, low, high, p_value = _difference(by_arm, champion_arm, challenger_arm, metric)
    if diff is None or low is None or high is None:
        return keep(f"keep: the {metric} interval is undefined (no variance within an arm), {users}")
    srm_text = f"SRM p={srm_p:.3g}" if srm_p is not None else "SRM p unknown"
    figures_text = (
        f"{challenger_arm} (challenger) {metric} {challenger.value:.4f} vs {champion_arm} (champion) "
        f"{champion.value:.4f} per user, diff {_signed(diff)} [95% CI {_signed(low)}, {_signed(high)}]"
        f"{f', p={p_value:.3g}' if p_value is not None else ''}; {users}; {srm_text}"
    )
    action: Action
    if srm_p is not None and srm_p < config.srm_alpha:
        action, verdict = "keep", f"sample-ratio mismatch (p < {config.srm_alpha:g}): the split is biased"
    elif low > config.min_effect:
        action, verdict = "promote", f"the challenger wins (lower bound > {config.min_effect:g})"
    elif high < 0.0:
        action, verdict = "retire", "the challenger is significantly worse"
    elif window_complete:
        action, verdict = "retire", "the window is complete and the challenger did not win"
    else:
        action, verdict = "keep", "inconclusive so far; the window is not complete"
    return Decision(
        action=action,
        reason=f"{action}: {verdict}: {figures_text}",
        metric=metric,
        champion=champion,
        challenger=challenger,
        diff=float(diff),
        low=float(low),
        high=float(high),
        p_value=None if p_value is None else float(p_value),
        srm_p_value=srm_p,
    )
