"""Applying the repository: what lands in Feast's registry, idempotence, removal of dropped views."""

from __future__ import annotations

from pathlib import Path

from components.etl.tables import USER_FEATURES
from components.features.apply import apply
from components.features.repo import FeatureRepo
from tests.integration.components.features.conftest import FEATURE_REPO, make_repo

ONLY_USERS = '''
"""A repository that declares the user view only."""
from datetime import timedelta

from feast import Entity, ValueType

from components.etl.tables import USER_FEATURES
from components.features.views import ViewSpec

PROJECT = "tinyworld"
user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
ENTITIES = (user,)
VIEWS = (ViewSpec(USER_FEATURES, user, timedelta(days=2)),)
'''


def test_the_registry_holds_every_view_with_the_etl_schema(applied: FeatureRepo, etl_out: Path) -> None:
    """Each table becomes a view of its entity, with every non-key column as a typed feature."""
    store = applied.store
    assert {e.name for e in store.list_entities()} >= {"user", "item", "creator"}
    view = store.get_feature_view("user_features")
    assert [f.name for f in view.features] == applied.definitions.view("user_features").feature_names
    assert view.entities == ["user"] and view.batch_source.path == f"{etl_out}/{USER_FEATURES.name}"
    assert str(view.features[-1].dtype) == "Array(Float32)"
    assert Path(applied.registry_path).is_file() and Path(applied.registry_path).parent == applied.workdir


def test_apply_is_idempotent_and_drops_what_the_definitions_drop(tmp_path: Path, etl_out: Path) -> None:
    """Applying twice changes nothing; applying a repository without views removes them from the registry."""
    repo = make_repo(tmp_path)
    first = apply(repo, str(etl_out))
    assert [(v.name, v.entity, v.rows) for v in first.views] == [
        ("user_features", "user", 12),
        ("item_features", "item", 15),
        ("creator_features", "creator", 9),
    ]
    assert apply(repo, str(etl_out)).deleted == []
    smaller = tmp_path / "smaller_repo"
    smaller.mkdir()
    (smaller / "definitions.py").write_text(ONLY_USERS, encoding="utf-8")
    narrowed = make_repo(tmp_path, source_dir=smaller)
    result = apply(narrowed, str(etl_out))
    assert "FeatureView item_features" in result.deleted and "Entity creator" in result.deleted
    assert [fv.name for fv in narrowed.store.list_feature_views()] == ["user_features"]
    assert FEATURE_REPO.is_dir()  # the source repository itself is untouched
