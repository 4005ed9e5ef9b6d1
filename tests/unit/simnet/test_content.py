"""Tests for :mod:`simnet.content`: texts and images carry their topic, through the noise."""

from __future__ import annotations

import re

import numpy as np
import pytest

from simnet.config import Content
from simnet.content import ContentModel
from simnet.protocol import IMAGE_SHAPE

TOPICS = 6
PER_TOPIC = 200


def _model(seed: int = 0, **overrides: float) -> ContentModel:
    return ContentModel(Content(**overrides), TOPICS, np.random.default_rng(seed))


def _one_hot() -> tuple[np.ndarray, np.ndarray]:
    topic = np.repeat(np.arange(TOPICS), PER_TOPIC)
    return np.eye(TOPICS, dtype=np.float32)[topic], topic


def test_texts_have_the_configured_form() -> None:
    """Each text is text_length space-separated words ``wNNNN`` with ids below vocab_size."""
    cfg = Content()
    mix, _ = _one_hot()
    texts = _model().texts(mix[:50])
    assert len(texts) == 50
    for text in texts:
        words = text.split(" ")
        assert len(words) == cfg.text_length
        assert all(re.fullmatch(r"w\d{4}", w) and int(w[1:]) < cfg.vocab_size for w in words)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_texts_use_their_topic_vocabulary(seed: int) -> None:
    """Texts about topic t use t's vocabulary at least 3x as often as any other topic's,
    and a nearest-vocabulary guess recovers the topic of most single texts."""
    model = _model(seed)
    mix, topic = _one_hot()
    words = model.words(mix)
    # share[i, s]: fraction of text i's words that lie in topic s's vocabulary
    share = np.stack([np.isin(words, model.vocab[s]).mean(axis=1) for s in range(TOPICS)], axis=1)
    for t in range(TOPICS):
        own = share[topic == t, t].mean()
        others = np.delete(share[topic == t].mean(axis=0), t)
        assert own > 3 * others.max(), (t, own, others)
    assert (share.argmax(axis=1) == topic).mean() > 0.8


def test_texts_mix_topics_in_proportion() -> None:
    """A 50/50 mixture of topics a and b draws from both vocabularies, and from each less than a pure text."""
    model = _model()
    half = np.zeros((PER_TOPIC, TOPICS), dtype=np.float32)
    half[:, [0, 1]] = 0.5
    pure = np.eye(TOPICS, dtype=np.float32)[np.zeros(PER_TOPIC, dtype=int)]
    mixed_words, pure_words = model.words(half), model.words(pure)
    in_a = np.isin(mixed_words, model.vocab[0]).mean()
    in_b = np.isin(mixed_words, model.vocab[1]).mean()
    assert in_a > 0.1 and in_b > 0.1
    assert in_a < np.isin(pure_words, model.vocab[0]).mean()


def test_texts_carry_noise() -> None:
    """Two texts on the same topic differ: content is noisy, not a topic label."""
    mix, _ = _one_hot()
    texts = _model().texts(mix[:PER_TOPIC])
    assert len(set(texts)) == PER_TOPIC


def _mean_colours(model: ContentModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mix, topic = _one_hot()
    images = model.images(mix)
    return images, images.reshape(len(mix), -1, 3).mean(axis=1), topic


@pytest.mark.parametrize("noise", [0.0, 28.0, 80.0])
def test_images_of_different_topics_differ_more_in_mean_colour(noise: float) -> None:
    """Mean colours of images of different topics lie further apart than those of the same topic,
    at no, default and heavy pixel noise."""
    _, colour, topic = _mean_colours(_model(3, image_noise=noise))
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(topic), size=(2, 5000))
    distance = np.linalg.norm(colour[a] - colour[b], axis=1)
    same = topic[a] == topic[b]
    assert same.any() and (~same).any()
    assert distance[same].mean() < 0.5 * distance[~same].mean()
    # a nearest-centroid guess from the mean colour recovers the topic of most single images
    centroids = np.stack([colour[topic == t].mean(axis=0) for t in range(TOPICS)])
    guess = np.linalg.norm(colour[:, None, :] - centroids[None], axis=2).argmin(axis=1)
    assert (guess == topic).mean() > 0.7


def test_images_have_the_protocol_shape_and_noise() -> None:
    """Images are uint8 of IMAGE_SHAPE; with pixel noise two images of one topic differ."""
    images, _, topic = _mean_colours(_model())
    assert images.dtype == np.uint8
    assert images.shape[1:] == IMAGE_SHAPE
    first = images[topic == 0]
    assert not (first[0] == first[1]).all()
    quiet, _, _ = _mean_colours(_model(image_noise=0.0))
    assert (quiet[topic == 0] == quiet[topic == 0][0]).all(), "without noise one topic has one image"


def test_common_words_must_be_fewer_than_vocab() -> None:
    """A configuration whose common words fill the whole vocabulary is refused."""
    with pytest.raises(ValueError, match="common_words"):
        ContentModel(Content(vocab_size=64, common_words=64), TOPICS, np.random.default_rng(0))
