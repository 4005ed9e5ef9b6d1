"""How a user responds to a slate: utility, choice, and what follows a click.

Utility is deliberately not a dot product of latent vectors. For user u and
item i shown at rank r (see docs/simnet.md):

    match   = 1 - exp(-(interests_u . mix_i) / match_scale)        saturating
    utility = w_match * match
            + w_quality * quality_i * (0.5 + 0.5 * match)          quality counts more when it matches
            + w_clickbait * clickbait_i                            choc: clicks now ...
            + w_novelty * exp(-age_i / novelty_hours)
            - w_repeat_impression * min(times shown, 3) - w_repeat_click * [clicked before]
            - w_boredom * max(0, boredom_u . mix_i - threshold)      SARDINE's boredom
            + w_follow * [follows the creator]
    P(click i)  ~ exp((utility_i - w_slate_similarity * same_topic_share_i) / T) * decay**r   (KuaiSim)
    P(no click) ~ exp((no_click + per_slate * slate index) / T)

A click's long-term value, which moves satisfaction, is
``match * (0.5 + quality) - clickbait_regret * clickbait`` (... kale later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simnet.config import Behaviour
from simnet.population import Catalogue, Users
from simnet.rowsets import EMPTY, PairSet, count_in_rows, isin_rows

US_PER_HOUR = 3_600_000_000


@dataclass(frozen=True)
class Appeal:
    """Per (user, item) terms of a batch of slates."""

    utility: np.ndarray  # (B, K) attractiveness, before position and slate effects
    value: np.ndarray  # (B, K) long-term worth of clicking it


def appeal(
    cfg: Behaviour,
    users: Users,
    items: Catalogue,
    follows: PairSet,
    who: np.ndarray,
    slates: np.ndarray,
    now_us: int | np.ndarray,
) -> Appeal:
    """Utility and value of ``slates`` (B, K item ids, EMPTY for none) for users ``who`` (B,)."""
    safe = np.where(slates == EMPTY, 0, slates)
    mix = items.mix[safe]  # (B, K, T)
    match = 1.0 - np.exp(-np.einsum("bt,bkt->bk", users.interests[who], mix) / cfg.match_scale)
    quality = items.quality[safe]
    clickbait = items.clickbait[safe]
    age_h = (now_us - items.created_us[safe]) / US_PER_HOUR
    shown = np.minimum(count_in_rows(slates, users.seen[who]), 3)
    clicked = isin_rows(slates, users.clicked[who])
    bored = np.einsum("bt,bkt->bk", users.boredom[who], mix)
    followed = follows.contains(who[:, None], items.creator[safe])
    utility = (
        cfg.w_match * match
        + cfg.w_quality * quality * (0.5 + 0.5 * match)
        + cfg.w_clickbait * clickbait
        + cfg.w_novelty * np.exp(-np.maximum(age_h, 0.0) / cfg.novelty_hours)
        - cfg.w_repeat_impression * shown
        - cfg.w_repeat_click * clicked
        - cfg.w_boredom * np.maximum(bored - cfg.boredom_threshold, 0.0)
        + cfg.w_follow * followed
    )
    value = match * (0.5 + quality) - cfg.clickbait_regret * clickbait
    return Appeal(utility=utility.astype(np.float32), value=value.astype(np.float32))


def slate_similarity(items: Catalogue, slates: np.ndarray) -> np.ndarray:
    """For each slot, the share of the other valid slots whose main topic is the same (B, K)."""
    valid = slates != EMPTY
    topic = np.where(valid, items.mix[np.where(valid, slates, 0)].argmax(axis=2), -1)
    same = (topic[:, :, None] == topic[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    others = np.maximum(valid.sum(axis=1, keepdims=True) - 1, 1)
    return (same.sum(axis=2) - 1).clip(min=0) / others


def choose(
    cfg: Behaviour,
    utility: np.ndarray,
    similarity: np.ndarray,
    valid: np.ndarray,
    slate_index: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The clicked slot of each slate by a multinomial logit with a no-click option; -1 for none."""
    b, k = utility.shape
    logits = (utility - cfg.w_slate_similarity * similarity) / cfg.choice_temperature
    logits = logits + np.arange(k) * np.log(cfg.position_decay)
    logits = np.where(valid, logits, -np.inf)
    stay = (cfg.no_click_utility + cfg.no_click_per_slate * slate_index) / cfg.choice_temperature
    options = np.concatenate([stay[:, None], logits], axis=1)
    gumbel = -np.log(-np.log(rng.random((b, k + 1))))
    return (options + gumbel).argmax(axis=1) - 1


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
