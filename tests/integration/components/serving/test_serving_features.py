"""The recommender's online features: content profiles read from a real Feast store (SQLite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.features.apply import apply
from components.features.materialize import materialize
from components.features.online import lookup
from components.serving.features import FeastProfiles
from tests.integration.components.features.conftest import USERS, make_repo, write_etl


def test_profiles_come_from_the_online_store_and_unknown_users_get_none(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "state")
    apply(repo, str(write_etl(tmp_path / "etl")))
    materialize(repo)
    profiles = FeastProfiles(repo.workdir)
    got = profiles([USERS[0], 999_999, USERS[1]])
    expected = lookup(repo, "user", [USERS[0], USERS[1]])["user_features__content_profile"]
    np.testing.assert_allclose(got[0], np.asarray(expected[0], np.float32))
    np.testing.assert_allclose(got[2], np.asarray(expected[1], np.float32))
    assert np.isnan(got[1]).all()
    assert not np.isnan(got[0]).any() and np.abs(got[0]).sum() > 0


def test_a_folder_without_a_rendered_store_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tinyworld features apply"):
        FeastProfiles(tmp_path)
