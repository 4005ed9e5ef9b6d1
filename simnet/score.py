"""The headline SimNet score: one number that rewards long-term health, not clicks alone.

Per day, in [0, 100]:

    score = 100 * (0.30 * reach + 0.30 * value + 0.30 * satisfaction + 0.10 * creator_health)

- reach: DAU over every user who ever signed up (churned users count against it,
  so losing users cannot raise the ratio);
- value: long-term value of clicks per active user, squashed as v / (1 + v);
  clickbait adds clicks but subtracts value (RecSim's choc and kale);
- satisfaction: mean hidden satisfaction of the users still alive;
- creator_health: share of producers whose items were clicked that day.

The headline is the mean of the daily scores.
"""

from __future__ import annotations

WEIGHTS = {"reach": 0.30, "value": 0.30, "satisfaction": 0.30, "creator_health": 0.10}
"""Long-term user health carries the score; creator health is a smaller counterweight, since
spreading exposure at random keeps every creator clicked while serving users badly."""


def day_score(reach: float, value_per_active_user: float, satisfaction: float, creator_health: float) -> float:
    """The day's score from its four parts (each in [0, 1] after squashing value)."""
    parts = {
        "reach": reach,
        "value": max(value_per_active_user, 0.0) / (1.0 + max(value_per_active_user, 0.0)),
        "satisfaction": satisfaction,
        "creator_health": creator_health,
    }
    for name, part in parts.items():
        if not 0.0 <= part <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {part}")
    return 100.0 * sum(WEIGHTS[name] * part for name, part in parts.items())
