"""Materialisation into the SQLite online store and online lookups, incremental runs included."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from components.features.apply import apply
from components.features.errors import MissingEtlOutputError, NotAppliedError, UnknownEntityError
from components.features.materialize import materialize
from components.features.online import OnlineReader, lookup, missing_ids
from components.features.repo import FeatureRepo
from components.features.synthetic import marker
from components.features.training import training_set
from tests.integration.components.features.conftest import CREATORS, ITEMS, STAMPS, USERS, make_repo, write_etl


@pytest.fixture(scope="module")
def online(applied: FeatureRepo) -> FeatureRepo:
    """The shared repository, materialised up to the data's latest row (day 3)."""
    result = materialize(applied)
    assert result.end == STAMPS[-1]
    return applied


def test_first_run_writes_each_entitys_latest_row(online: FeatureRepo) -> None:
    """Materialising from end - TTL writes one row per entity; a lookup reads day 3's values."""
    frame = lookup(online, "user", [4, 1])
    assert list(frame["user_id"]) == [4, 1]
    assert list(frame["user_features__impressions_7d"]) == [marker(4, 2), marker(1, 2)]
    assert list(frame["user_features__ctr_7d"]) == [marker(4, 2) + 0.5, marker(1, 2) + 0.5]
    assert len(frame["user_features__content_profile"][0]) == 32
    items = lookup(online, "item", list(ITEMS))
    assert list(items["item_features__popularity"]) == [marker(i, 2) + 0.5 for i in ITEMS]
    creators = lookup(online, "creator_id", [CREATORS[0]])
    assert creators.loc[0, "creator_features__ctr_7d"] == marker(CREATORS[0], 2) + 0.5


def test_ids_never_materialised_come_back_null(online: FeatureRepo) -> None:
    """An id the store has never seen gets null features, and missing_ids names it."""
    frame = lookup(online, "user", [1, 999])
    assert missing_ids(frame, "user_id") == [999]
    assert frame.loc[1].drop("user_id").isna().all()


def test_an_unknown_entity_or_view_is_a_clear_error(online: FeatureRepo) -> None:
    """Unknown entity names and views raise with the known names listed."""
    with pytest.raises(UnknownEntityError, match="known entities: user, item, creator"):
        lookup(online, "driver", [1])
    with pytest.raises(UnknownEntityError, match="unknown feature view"):
        OnlineReader(online, "user", ["driver_stats"])
    with pytest.raises(ValueError, match="not keyed by entity"):
        OnlineReader(online, "user", ["item_features"])


def test_runs_are_incremental(tmp_path: Path) -> None:
    """A second run has nothing to do; a new day's rows are materialised alone and then served."""
    etl_out = write_etl(tmp_path / "etl")
    repo = make_repo(tmp_path / "state")
    with pytest.raises(NotAppliedError, match="tinyworld features apply"):
        materialize(repo)
    apply(repo, str(etl_out))
    first = materialize(repo)
    assert [v.rows for v in first.views] == [len(USERS), len(ITEMS), len(CREATORS)]
    again = materialize(repo)
    assert all(v.skipped for v in again.views) and again.rows == 0
    day4 = STAMPS[-1] + timedelta(days=1)
    write_etl(etl_out, (*STAMPS, day4))  # the ETL's next run rewrites its tables, with a fourth day
    fresh = make_repo(tmp_path / "state")  # a new process: state comes from the registry
    later = materialize(fresh)
    assert later.end == day4
    assert [(v.start, v.end) for v in later.views] == [(STAMPS[-1], day4)] * 3
    frame = lookup(fresh, "user", [2])
    assert frame.loc[0, "user_features__clicks_7d"] == marker(2, 3)
    shutil.rmtree(etl_out / "user_features")  # the ETL output applied earlier is gone
    with pytest.raises(MissingEtlOutputError, match="no ETL table at .*user_features"):
        training_set(fresh, pd.DataFrame({"user_id": [2], "event_timestamp": [day4]}))
