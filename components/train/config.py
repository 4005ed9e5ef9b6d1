"""Hyper-parameters of one training run: a small validated pydantic model (loadable from YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Family = Literal["two-tower", "ease", "ease+two-tower"]
FAMILIES: tuple[Family, ...] = ("two-tower", "ease", "ease+two-tower")


class Selection(BaseModel):
    """How training picks the model family and its settings: on a validation split of its own data.

    Every candidate is fitted on the training rows minus a held-out part and ranked on that part
    (NDCG@``k``, the evaluator's protocol); the winner is fitted again on all the rows. The
    two-tower's epochs are chosen there too (early stopping, ``max_epochs`` at most). With
    ``validation="none"`` nothing is held out: exactly one family, weight and lambda must be
    given (a choice made before, e.g. by the night that evaluated it) and the two-tower runs
    ``TrainConfig.epochs``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the families to choose from: the two-tower alone, EASE (content only for items EASE does not
    # rank), or EASE blended with the two-tower (components.train.blend)
    families: tuple[Family, ...] = FAMILIES
    # the held-out part: each user's last rows (temporal), a seeded random share of each user's rows
    # (random), the last UTC day of the data (last-day; random when the data spans one day), or none
    validation: Literal["temporal", "random", "last-day", "none"] = "random"
    # share of each user's rows kept for fitting under temporal and random validation
    validation_ratio: float = Field(0.8, gt=0.0, lt=1.0)
    # users ranked in validation, sampled from those with a held-out positive (bounds its cost)
    validation_users: int = Field(20_000, ge=1)
    # the ranking depth of the validation metric (NDCG@k)
    k: int = Field(10, ge=1, le=1000)
    # early stopping of the two-tower: most epochs, and epochs without improvement before stopping
    max_epochs: int = Field(8, ge=1, le=1000)
    patience: int = Field(1, ge=1, le=100)
    # two-tower configurations drawn at random around the configured one (components.train.search);
    # each costs at most max_epochs epochs on the fit rows. 0: the configured one only
    search_trials: int = Field(0, ge=0, le=100)
    # EASE's L2 weights tried, half a decade apart (the paper's best were 200-1000 on 10k-40k items;
    # on SimNet 30-100 rank alike and better than 500)
    ease_lambdas: tuple[float, ...] = (30.0, 100.0, 300.0, 1000.0, 3000.0)
    # EASE inverts an items x items matrix: it ranks the most engaged items up to this many
    ease_max_items: int = Field(5_000, ge=1, le=50_000)
    # factors of EASE's weights in the served vectors (32-64 rank SimNet as well as the full matrix)
    ease_rank: int = Field(64, ge=1, le=4096)
    # weights of the two-tower in the blend, in units of the ratio of the two score spreads
    blend_weights: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    # weights of a popularity term tried on the best of the above (components.train.popularity; 0: none)
    popularity_weights: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0)

    @model_validator(mode="after")
    def _one_choice_without_validation(self) -> Self:
        if not self.families or not self.ease_lambdas or not self.blend_weights or not self.popularity_weights:
            raise ValueError("families, ease_lambdas, blend_weights and popularity_weights each need a value")
        if any(lam <= 0 for lam in self.ease_lambdas) or min(self.blend_weights + self.popularity_weights) < 0:
            raise ValueError("ease_lambdas must be > 0, blend_weights and popularity_weights >= 0")
        if self.validation == "none" and (
            len(self.families) != 1
            or (self.families[0] != "two-tower" and len(self.ease_lambdas) != 1)
            or (self.families[0] == "ease+two-tower" and len(self.blend_weights) != 1)
            or len(self.popularity_weights) != 1
        ):
            raise ValueError(
                "validation='none' trains one fixed choice: give one family, one popularity_weight and, for the "
                "EASE families, one ease_lambda (and one blend_weight for ease+two-tower); or hold out a "
                "validation split to choose"
            )
        return self

    def pinned(self, family: Family, ease_lambda: float, weight: float, popularity: float = 0.0) -> Selection:
        """This selection fixed to one choice, trained on all the rows (e.g. a refit of a chosen model)."""
        return self.model_copy(
            update={
                "families": (family,),
                "validation": "none",
                "ease_lambdas": (ease_lambda,),
                "blend_weights": (weight,),
                "popularity_weights": (popularity,),
            }
        )


class TrainConfig(BaseModel):
    """The two-tower model and its training loop. Defaults suit SimNet at 5k-100k users on 2 CPU cores."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # embedding width; 32 separates SimNet's topics, and serving scores 100k items x 32 in about 1 ms
    dim: int = Field(32, ge=2, le=1024)
    # width of the content encoders' hidden layer (text, image, user features): small, the inputs are 7-40 dims
    hidden: int = Field(64, ge=4, le=4096)
    # softmax temperature on cosine similarity: 0.05-0.1 is the usual range; 0.05 measured best on SimNet
    temperature: float = Field(0.05, gt=0.0, le=10.0)
    # Adam learning rate; embeddings and small MLPs tolerate a high rate
    lr: float = Field(3e-3, gt=0.0, le=1.0)
    # L2 on all weights (AdamW); a little keeps the rare items' id vectors from overfitting
    weight_decay: float = Field(1e-5, ge=0.0)
    # passes over the positives; 3 measured best on SimNet (recall falls again from 5: id vectors overfit)
    epochs: int = Field(3, ge=1, le=1000)
    # global batch of positives per step, split across ranks; also the number of in-batch negatives (per rank)
    batch_size: int = Field(1024, ge=2)
    # shown-but-not-clicked impressions of the same user added to each positive as extra negatives
    hard_negatives: int = Field(2, ge=0, le=64)
    # subtract log(sampling probability) from in-batch logits so popular items are not over-penalised
    logq_correction: bool = True
    # fraction of items whose id embedding is zeroed per batch, so the content path learns to stand alone
    item_id_dropout: float = Field(0.3, ge=0.0, le=1.0)
    # fraction of items whose creator is hidden, so items of new creators still embed well
    creator_dropout: float = Field(0.1, ge=0.0, le=1.0)
    # fraction of users replaced by the cold-user id, so the cold vector is trained rather than random
    user_id_dropout: float = Field(0.05, ge=0.0, le=1.0)
    # use the user_features table when given (content profile, rates); off by default: on SimNet it pulls
    # users together towards popular items (Recall@10 0.205 vs 0.220, coverage 0.06 vs 0.20; docs/training.md)
    use_user_features: bool = False
    # use the item_features table's content (text vector, image statistics) and creator when given
    use_item_content: bool = True
    # torch threads per process on CPU; None: the node's cores shared out among its processes. 1 by
    # default: the model is small, so scale out with processes (--nproc); on the shared 2-core host
    # one process ran 26x slower with 2 threads than with 1 (benchmarks/train.py, docs/training.md)
    cpu_threads: int | None = Field(1, ge=1, le=1024)
    # seeds weights, shuffling and dropout: the same seed on the same data gives the same model on CPU
    seed: int = 0
    # which family to serve and how it is chosen on a validation split (Selection)
    selection: Selection = Field(default_factory=Selection)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        """Load a config from a YAML mapping of field names to values (unknown keys are errors)."""
        with open(path, encoding="utf-8") as f:
            return cls.model_validate(yaml.safe_load(f) or {})
