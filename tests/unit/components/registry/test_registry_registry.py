"""The registry: numbered versions with their facts, atomic aliases, local and object-store roots."""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from components.registry.registry import CHAMPION, Registry, RegistryError
from components.train.artifact import ModelArtifact, load_model, save_model

EVALUATION = {
    "model": {"ndcg_at_k": 0.3, "recall_at_k": 0.4, "hit_rate_at_k": 0.5, "mrr": 0.2, "coverage": 0.1},
    "popularity": {"ndcg_at_k": 0.1},
    "protocol": {"k": 10},
    "promotion": {"promote": True, "reason": "promoted"},
}


def _model(folder: Path, version: str = "v-a") -> Path:
    """A tiny saved artifact with training's metadata keys."""
    metadata = {
        "version": version,
        "data_window": {"min_ts": "2026-01-01", "max_ts": "2026-01-07"},
        "features": {"user": ["user_id"], "item": ["item_id", "text_vec"]},
        "code_version": "abc123",
    }
    artifact = ModelArtifact(item_ids=np.arange(4), item_embeddings=np.eye(4, dtype=np.float32), metadata=metadata)
    save_model(artifact, folder)
    return folder


def test_versions_increment_and_keep_their_facts(tmp_path: Path) -> None:
    """1, 2, 3 per name; meta holds metrics, data window, features and code version from the artifact."""
    registry = Registry(tmp_path / "reg")
    source = _model(tmp_path / "m")
    versions = [registry.register(source, "recsys", evaluation=EVALUATION).version for _ in range(3)]
    assert versions == [1, 2, 3]
    assert registry.register(source, "other").version == 1
    record = registry.show("recsys", 2)
    assert record.metrics["ndcg_at_k"] == 0.3 and record.evaluation == EVALUATION
    assert record.data_window == {"min_ts": "2026-01-01", "max_ts": "2026-01-07"}
    assert record.features == {"user": ["user_id"], "item": ["item_id", "text_vec"]}
    assert record.code_version == "abc123" and record.model_version == "v-a"
    assert [v.version for v in registry.list_versions("recsys")] == [1, 2, 3]
    assert registry.list_models() == ["other", "recsys"]
    assert load_model(registry.get("recsys", 3)).version == "v-a"


def test_champion_alias_and_lookup(tmp_path: Path) -> None:
    """set_alias moves champion; get by alias, by number, by 'v2'; history records each move."""
    registry = Registry(tmp_path / "reg")
    source = _model(tmp_path / "m")
    for _ in range(2):
        registry.register(source, "recsys")
    registry.set_alias("recsys", CHAMPION, 1)
    assert registry.get("recsys") == registry.get("recsys", 1)  # champion by default
    registry.set_alias("recsys", CHAMPION, "v2")
    assert registry.resolve("recsys", "champion") == 2 and registry.resolve("recsys", "2") == 2
    assert registry.show("recsys", 2).aliases == [CHAMPION]
    assert [(h.version, h.previous) for h in registry.alias_history("recsys")] == [(1, None), (2, 1)]
    registry.remove_alias("recsys", CHAMPION)
    with pytest.raises(RegistryError, match="no alias 'champion'"):
        registry.get("recsys")


def test_alias_update_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while replacing aliases.json leaves the old file whole and no temporary file behind."""
    registry = Registry(tmp_path / "reg")
    source = _model(tmp_path / "m")
    registry.register(source, "recsys")
    registry.register(source, "recsys")
    registry.set_alias("recsys", CHAMPION, 1)
    aliases = tmp_path / "reg" / "recsys" / "aliases.json"
    before = aliases.read_text()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        registry.set_alias("recsys", CHAMPION, 2)
    assert aliases.read_text() == before and json.loads(before)["aliases"] == {CHAMPION: 1}
    assert sorted(p.name for p in aliases.parent.iterdir()) == ["aliases.json", "versions"]


def test_incomplete_versions_are_invisible(tmp_path: Path) -> None:
    """A claimed folder without meta.json (a crashed copy) is not listed, and its number is not reused."""
    registry = Registry(tmp_path / "reg")
    source = _model(tmp_path / "m")
    registry.register(source, "recsys")
    (tmp_path / "reg" / "recsys" / "versions" / "2").mkdir()
    assert [v.version for v in registry.list_versions("recsys")] == [1]
    assert registry.register(source, "recsys").version == 3
    with pytest.raises(RegistryError, match="no version 2"):
        registry.get("recsys", 2)


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path) -> None:
    """Locally, versions are claimed with an atomic mkdir: 8 parallel registers get 1..8."""
    registry = Registry(tmp_path / "reg")
    source = _model(tmp_path / "m")
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda _: registry.register(source, "recsys").version, range(8)))
    assert sorted(numbers) == list(range(1, 9))


def test_object_store_root(tmp_path: Path) -> None:
    """An fsspec URL root (memory://) supports register, alias and get; get returns a loadable URL."""
    root = f"memory://registry-{uuid.uuid4().hex}"
    registry = Registry(root)
    first = registry.register(_model(tmp_path / "m", "v-a"), "recsys")
    second = registry.register(_model(tmp_path / "n", "v-b"), "recsys")
    registry.set_alias("recsys", CHAMPION, second.version)
    path = registry.get("recsys")
    assert path.startswith("memory://") and path.endswith("/recsys/versions/2")
    assert load_model(path).version == "v-b"
    assert first.version == 1 and registry.aliases("recsys") == {CHAMPION: 2}


def test_bad_requests_are_registry_errors(tmp_path: Path) -> None:
    """Unknown model, version or alias, bad names and a folder without a model are clear errors."""
    registry = Registry(tmp_path / "reg")
    registry.register(_model(tmp_path / "m"), "recsys")
    with pytest.raises(RegistryError, match="no model named 'nope'"):
        registry.list_versions("nope")
    with pytest.raises(RegistryError, match="no version 9"):
        registry.get("recsys", 9)
    with pytest.raises(RegistryError, match="no alias 'staging'"):
        registry.get("recsys", "staging")
    with pytest.raises(RegistryError, match="invalid model name"):
        registry.register(tmp_path / "m", "../escape")
    with pytest.raises(RegistryError, match="looks like a version"):
        registry.set_alias("recsys", "v3", 1)
    with pytest.raises(FileNotFoundError, match="no model at"):
        registry.register(tmp_path, "recsys")
