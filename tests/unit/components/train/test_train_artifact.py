"""The artifact contract: save/load round trip, cold start after loading, clear errors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from components.train.artifact import ModelArtifact, load_model, save_model
from tests.unit.components.train.synthetic import World


def test_round_trip(trained: ModelArtifact, world: World, tmp_path: Path) -> None:
    """A saved and loaded artifact scores and embeds new items exactly as the original."""
    save_model(trained, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    np.testing.assert_array_equal(loaded.item_ids, trained.item_ids)
    np.testing.assert_array_equal(loaded.item_embeddings, trained.item_embeddings)
    users = np.array([*list(world.user_topic)[:5], -7])
    np.testing.assert_array_equal(loaded.score(users), trained.score(users))
    np.testing.assert_array_equal(loaded.embed_items(world.items), trained.embed_items(world.items))
    assert loaded.version == trained.version
    for key in ("created_at", "data_window", "rows", "features", "params", "code_version", "metrics"):
        assert key in loaded.metadata


def test_content_embedding_of_known_item_matches_tower_without_id(trained: ModelArtifact, world: World) -> None:
    """embed_items uses content and creator only: it differs from the id-trained vector but agrees in topic."""
    content = trained.embed_items(world.items)
    assert content.shape == (len(world.items), trained.dim)
    assert not np.allclose(content, trained.item_vectors(world.items["item_id"]))


def test_unknown_items_raise_a_clear_error(trained: ModelArtifact) -> None:
    """Scoring an item the model does not know names it and points to embed_items."""
    with pytest.raises(KeyError, match="embed_items"):
        trained.score([1], [123456789])


def test_load_missing_model(tmp_path: Path) -> None:
    """Loading from a folder without a model is a FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path)


def test_artifact_without_encoder_or_users() -> None:
    """A bare artifact (arrays only) still scores; every user is cold; embed_items says why it cannot."""
    art = ModelArtifact(np.array([1, 2]), np.eye(2, dtype=np.float32), {"version": "v"})
    np.testing.assert_array_equal(art.score([5]), np.zeros((1, 2), np.float32))
    with pytest.raises(RuntimeError, match="encoder"):
        art.embed_items(np.zeros(1))  # type: ignore[arg-type]


def test_round_trip_through_a_url(trained: ModelArtifact) -> None:
    """save_model and load_model work on an object-store URL (memory:// here) as on a folder."""
    import uuid

    import fsspec

    url = f"memory://model-{uuid.uuid4().hex}"
    try:
        assert save_model(trained, url) == url
        loaded = load_model(url)
        np.testing.assert_array_equal(loaded.item_ids, trained.item_ids)
        np.testing.assert_array_equal(loaded.user_vectors, trained.user_vectors)
        assert loaded.item_encoder is not None and loaded.version == trained.version
    finally:
        fsspec.filesystem("memory").rm(fsspec.core.strip_protocol(url), recursive=True)
    with pytest.raises(FileNotFoundError, match="no model at memory://"):
        load_model(url)


def test_first_lookups_from_many_threads_at_once() -> None:
    """A fresh artifact answers concurrent first lookups (serving's threads) without a pandas index race."""
    n = 50_000
    failures: list[BaseException] = []
    for _ in range(50):
        art = ModelArtifact(
            np.arange(n),
            np.ones((n, 2), dtype=np.float32),
            {"version": "v"},
            user_ids=np.arange(n),
            user_vectors=np.ones((n, 2), dtype=np.float32),
        )
        start = threading.Barrier(4)

        def lookup(artifact: ModelArtifact = art, barrier: threading.Barrier = start) -> None:
            barrier.wait()
            try:
                artifact.user_embeddings(np.arange(20))
                artifact.has_items(np.arange(20))
            except BaseException as error:  # noqa: BLE001 (collected and asserted below)
                failures.append(error)

        threads = [threading.Thread(target=lookup) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures, failures[:1]
