"""Online user features for the recommender: who a user is today, for users the model never saw.

A user who signed up after the model was trained has no learned embedding. Their online
``content_profile`` (the mean text vector of what they clicked over 7 days, materialised by
``tinyworld features materialize``) says what they like; the recommender embeds it with the
model's content encoder, as an item made of that text, and ranks items by similarity to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from components.etl.tables import TEXT_DIM, USER_FEATURES

PROFILE = f"{USER_FEATURES.name}:content_profile"
"""The feature reference read per user."""


class UserProfiles(Protocol):
    """Content profiles of users: ``(len(user_ids), TEXT_DIM)``, a row of NaN where none is known."""

    def __call__(self, user_ids: Sequence[int], /) -> npt.NDArray[np.float32]: ...


class FeastProfiles:
    """:class:`UserProfiles` read from Feast's online store (SQLite locally, Redis in a cluster)."""

    def __init__(self, feature_store_dir: Path) -> None:
        """Open the store whose rendered ``feature_store.yaml`` is in ``feature_store_dir``."""
        from components.features.feast_import import feast

        if not (feature_store_dir / "feature_store.yaml").is_file():
            raise FileNotFoundError(
                f"no feature_store.yaml in {feature_store_dir}: run `tinyworld features apply` first"
            )
        self._store = feast.FeatureStore(repo_path=str(feature_store_dir))

    def __call__(self, user_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        rows = {USER_FEATURES.key[0]: [int(u) for u in user_ids]}
        values = self._store.get_online_features(features=[PROFILE], entity_rows=rows).to_dict()
        out = np.full((len(user_ids), TEXT_DIM), np.nan, dtype=np.float32)
        for i, profile in enumerate(values["content_profile"]):
            if profile is not None and len(profile) == TEXT_DIM and any(profile):
                out[i] = np.asarray(profile, dtype=np.float32)
        return out
