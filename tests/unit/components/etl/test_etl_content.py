"""Content features: hashed text vectors and image statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.etl.content import IMAGE_COLUMNS, image_stats, text_vector, text_vectors
from simnet.protocol import IMAGE_SIZE

words = st.lists(st.from_regex(r"w[0-9]{4}", fullmatch=True), max_size=30)


@given(words)
def test_text_vector_is_unit_or_zero(tokens: list[str]) -> None:
    """The vector has norm 1, or is all zeros when words cancel or there are none."""
    vec = text_vector(" ".join(tokens))
    assert vec.shape == (32,) and vec.dtype == np.float32
    norm = float(np.linalg.norm(vec))
    assert norm == pytest.approx(1.0, abs=1e-5) or norm == 0.0


@given(words, st.randoms())
def test_text_vector_ignores_word_order_and_spacing(tokens: list[str], rnd: object) -> None:
    """A bag of words: shuffling words or adding spaces changes nothing."""
    shuffled = list(tokens)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(text_vector(" ".join(tokens)), text_vector("  ".join(shuffled) + " "))


def test_text_vector_known_values() -> None:
    """Repeated words add up before normalising; empty text is all zeros; dims are configurable."""
    one = text_vector("w0412")
    assert np.count_nonzero(one) == 1 and abs(one).max() == pytest.approx(1.0)
    assert text_vector("w0412 w0412") == pytest.approx(one)
    assert not text_vector("").any() and not text_vector(None).any()
    assert text_vector("w1 w2", dim=8).shape == (8,)
    np.testing.assert_array_equal(text_vectors(["w0412", None]), np.stack([one, np.zeros(32, np.float32)]))


def test_image_stats_known_values() -> None:
    """A flat image has no spread or texture; a checkerboard has maximal texture."""
    flat = np.full(IMAGE_SIZE, 51)  # 51 / 255 = 0.2
    stats = image_stats(flat)[0]
    np.testing.assert_allclose(stats, [0.2, 0.2, 0.2, 0.0, 0.0, 0.0, 0.0], atol=1e-12)
    board = np.indices((8, 8)).sum(axis=0) % 2 * 255
    checker = np.repeat(board[:, :, None], 3, axis=2).ravel()
    stats = image_stats(checker)[0]
    np.testing.assert_allclose(stats[:3], 0.5)
    np.testing.assert_allclose(stats[3:6], 0.5)
    assert stats[6] == pytest.approx(1.0)


def test_image_stats_channels_are_hwc() -> None:
    """Pixels are row-major HWC: every third value is red."""
    red = np.zeros((8, 8, 3))
    red[:, :, 0] = 255
    stats = image_stats(red.ravel())[0]
    np.testing.assert_allclose(stats[:3], [1.0, 0.0, 0.0])


@given(st.lists(st.integers(0, 255), min_size=IMAGE_SIZE, max_size=IMAGE_SIZE))
def test_image_stats_are_in_unit_range(pixels: list[int]) -> None:
    """Means, stds and texture of uint8 images lie in [0, 1]."""
    stats = image_stats(pixels)
    assert stats.shape == (1, len(IMAGE_COLUMNS))
    assert np.all((stats >= 0) & (stats <= 1))


def test_image_stats_rejects_wrong_sizes() -> None:
    """A wrong number of pixels is an error."""
    with pytest.raises(ValueError):
        image_stats(np.zeros(10))
