"""The world's configuration: one validated model, loaded from a YAML file.

Every constant of the simulation lives here, with the reason for its value.
``simnet/configs/default.yaml`` holds the calibrated defaults; other files in
that folder are alternative behaviour configurations used to check that
results hold beyond one setting. ``docs/simnet.md`` explains the equations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

CONFIG_DIR = Path(__file__).parent / "configs"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Population(_Section):
    users: int = Field(100_000, ge=1, description="users at the start")
    producer_share: float = Field(0.03, ge=0, le=1, description="a few percent post at the start")
    topics: int = Field(24, ge=2, description="hidden topics items are about")
    clusters: int = Field(6, ge=1, description="topics come in clusters of related interests")
    cluster_skew: float = Field(1.2, gt=0, description="Zipf exponent of cluster popularity: uneven tastes")
    second_cluster_p: float = Field(0.35, ge=0, le=1, description="chance a user also likes a second cluster")
    interest_alpha: float = Field(0.4, gt=0, description="Dirichlet alpha inside a cluster: low = few topics")
    interest_tail: float = Field(0.04, ge=0, lt=1, description="interest mass spread over all topics")
    activity_mean: float = Field(1.5, gt=0, description="mean base sessions per day")
    activity_sigma: float = Field(1.0, ge=0, description="lognormal sigma of activity: the heavy tail")
    initial_items: int = Field(20_000, ge=1, description="catalogue at the start")


class Content(_Section):
    vocab_size: int = Field(4096, ge=64, description="distinct words")
    common_words: int = Field(400, ge=1, description="topic-free words (the, and, ...)")
    topic_words: int = Field(80, ge=1, description="words in each topic's vocabulary, overlapping by chance")
    text_length: int = Field(24, ge=1, description="words per item text")
    topic_word_share: float = Field(0.45, ge=0, le=1, description="share of words from the item's topics")
    noise_word_share: float = Field(0.15, ge=0, le=1, description="share of words drawn from the whole vocabulary")
    image_noise: float = Field(28.0, ge=0, description="pixel noise (0-255 scale)")
    texture_amplitude: float = Field(40.0, ge=0, description="strength of the topic texture in the image")


class Items(_Section):
    secondary_topic_p: float = Field(0.5, ge=0, le=1, description="chance an item mixes in a second topic")
    creator_skill_sd: float = Field(0.6, ge=0, description="spread of creators' mean quality")
    quality_sd: float = Field(0.5, ge=0, description="spread of quality around the creator's skill")
    clickbait_creator_share: float = Field(0.12, ge=0, le=1, description="creators who write clickbait")


class Behaviour(_Section):
    slate_size: int = Field(10, ge=1, le=100, description="items per feed request")
    position_decay: float = Field(0.85, gt=0, le=1, description="examination falls as decay**rank (SARDINE)")
    match_scale: float = Field(0.25, gt=0, description="interest match saturates as 1 - exp(-m / scale)")
    w_match: float = Field(4.0, description="utility of a saturated interest match")
    w_quality: float = Field(1.5, description="utility per unit quality, scaled by the match")
    w_clickbait: float = Field(1.6, description="clickbait attracts clicks ...")
    clickbait_regret: float = Field(1.8, description="... and costs satisfaction after the click")
    w_novelty: float = Field(0.8, description="utility of a brand-new item")
    novelty_hours: float = Field(18.0, gt=0, description="e-folding time of novelty")
    w_repeat_impression: float = Field(0.45, description="penalty per earlier impression, up to 3")
    w_repeat_click: float = Field(3.0, description="penalty for an item already clicked")
    w_follow: float = Field(0.6, description="bonus for items of followed creators")
    boredom_threshold: float = Field(2.5, ge=0, description="recent clicks on a topic before boredom (SARDINE)")
    w_boredom: float = Field(0.7, description="penalty per recent click beyond the threshold")
    boredom_half_life_hours: float = Field(8.0, gt=0, description="how fast boredom fades")
    w_slate_similarity: float = Field(1.0, description="penalty of a same-topic slate (KuaiSim)")
    no_click_utility: float = Field(5.5, description="utility of leaving the slate unclicked")
    no_click_per_slate: float = Field(0.12, description="fatigue: scrolling on gets less attractive")
    choice_temperature: float = Field(1.0, gt=0, description="noise of the multinomial logit")
    continue_bias: float = Field(0.9, description="logit of going on after a slate")
    continue_value: float = Field(1.1, description="a rewarding slate keeps the user going")
    continue_satisfaction: float = Field(1.5, description="satisfied users scroll longer")
    continue_per_slate: float = Field(0.12, description="patience runs down slate after slate")
    max_slates: int = Field(30, ge=1, description="hard cap on slates per session")
    slate_seconds: float = Field(25.0, gt=0, description="time spent per slate without a click")
    like_base: float = Field(-1.6, description="logit of a like after a click, plus the click's value")
    share_base: float = Field(-3.6, description="logit of a share after a click, plus the click's value")
    follow_base: float = Field(-4.2, description="logit of a follow after a click, plus the click's value")
    dwell_seconds: float = Field(40.0, gt=0, description="median dwell of a neutral click")
    memory: int = Field(64, ge=4, description="recent impressions a user remembers (repetition)")
    click_memory: int = Field(32, ge=2, description="recent clicks a user remembers")


class Dynamics(_Section):
    initial_satisfaction: float = Field(0.55, ge=0, le=1, description="satisfaction of a new user")
    satisfaction_step: float = Field(0.12, gt=0, le=1, description="how far one slate moves satisfaction")
    value_gain: float = Field(1.6, gt=0, description="slope mapping a slate's value to a satisfaction target")
    no_click_value: float = Field(-0.5, description="value of a slate with nothing worth clicking")
    return_floor: float = Field(0.25, ge=0, description="return rate multiplier of an unsatisfied user")
    return_gain: float = Field(1.5, ge=0, description="return rate gained per unit satisfaction")
    drift: float = Field(0.05, ge=0, le=1, description="interests move toward clicked topics (RecSim)")
    churn_threshold: float = Field(0.35, ge=0, le=1, description="below this satisfaction users may leave")
    churn_rate: float = Field(0.25, ge=0, le=1, description="daily churn chance at zero satisfaction")
    signup_rate: float = Field(0.002, ge=0, description="organic signups per alive user per day")
    referrals_per_share: float = Field(0.03, ge=0, description="signups brought by each share")
    conversion_engagement: float = Field(12.0, ge=0, description="daily clicks+likes+shares to consider posting")
    conversion_p: float = Field(0.05, ge=0, le=1, description="daily chance an engaged consumer starts posting")
    post_rate: float = Field(0.8, ge=0, description="posts per day of a producer with no audience")
    post_gain: float = Field(0.6, ge=0, description="extra posts per day per log(1 + engagement)")
    engagement_decay: float = Field(0.96, ge=0, le=1, description="daily decay of a creator's engagement count")
    creator_quit_days: int = Field(5, ge=1, description="days without a click before a creator stops posting")


class WorldConfig(_Section):
    """Everything that defines a world; hidden state derives from it and a seed."""

    population: Population = Population()
    content: Content = Content()
    items: Items = Items()
    behaviour: Behaviour = Behaviour()
    dynamics: Dynamics = Dynamics()
    start_date: str = Field("2026-01-01", pattern=r"^\d{4}-\d{2}-\d{2}$", description="the first simulated day")

    @classmethod
    def load(cls, path: Path | str | None = None, **overrides: Any) -> WorldConfig:
        """The default configuration, or the YAML file ``path``; ``overrides`` set top-level sections."""
        data: dict[str, Any] = {}
        source = Path(path) if path else CONFIG_DIR / "default.yaml"
        if not source.is_file():
            raise FileNotFoundError(f"no world configuration file at {source}")
        try:
            loaded = yaml.safe_load(source.read_text()) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"{source} is not valid YAML: {err}") from err
        if not isinstance(loaded, dict):
            raise ValueError(f"{source} must hold a mapping of sections")
        data.update(loaded)
        for key, value in overrides.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        return cls.model_validate(data)

    def with_users(self, users: int) -> WorldConfig:
        """The same world at another scale; the catalogue scales with it."""
        scale = users / self.population.users
        items = max(1, round(self.population.initial_items * scale))
        return self.model_copy(
            update={"population": self.population.model_copy(update={"users": users, "initial_items": items})}
        )
