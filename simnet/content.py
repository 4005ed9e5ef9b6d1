"""What an item looks like from outside: a text and a small image.

Content is the only observable trace of an item's hidden topics, so a model
that reads it can recommend an item before anyone has clicked it. Both are
noisy: texts mix topic words with common words and random words, and images
mix topic palettes and textures with pixel noise.
"""

from __future__ import annotations

import numpy as np

from simnet.config import Content as ContentConfig
from simnet.protocol import IMAGE_SHAPE


class ContentModel:
    """Topic vocabularies, palettes and textures, drawn once per world."""

    def __init__(self, cfg: ContentConfig, topics: int, rng: np.random.Generator) -> None:
        if cfg.common_words >= cfg.vocab_size:
            raise ValueError("common_words must be fewer than vocab_size")
        self.cfg, self.topics, self.rng = cfg, topics, rng
        topical = np.arange(cfg.common_words, cfg.vocab_size)
        self.vocab = rng.choice(topical, size=(topics, cfg.topic_words))  # overlaps by chance
        self.palette = rng.uniform(30, 225, size=(topics, 3))
        h, w, _ = IMAGE_SHAPE
        yy, xx = np.mgrid[0:h, 0:w]
        freq = rng.uniform(0.3, 1.6, size=(topics, 2))
        phase = rng.uniform(0, 2 * np.pi, size=topics)
        self.texture = np.sin(freq[:, 0, None, None] * xx + freq[:, 1, None, None] * yy + phase[:, None, None])

    def words(self, mix: np.ndarray) -> np.ndarray:
        """Word ids (n, text_length): topic words by the mixture, common words and noise."""
        cfg, rng = self.cfg, self.rng
        n, length = mix.shape[0], cfg.text_length
        cum = mix.astype(np.float64).cumsum(axis=1)
        topic = (cum[:, None, :] < rng.random((n, length, 1)) * cum[:, None, -1:]).sum(axis=2)
        topic = topic.clip(max=self.topics - 1)
        topical = self.vocab[topic, rng.integers(0, cfg.topic_words, size=(n, length))]
        common = rng.integers(0, cfg.common_words, size=(n, length))
        noise = rng.integers(0, cfg.vocab_size, size=(n, length))
        source = rng.random((n, length))
        words = np.where(source < cfg.topic_word_share, topical, common)
        return np.where(source > 1.0 - cfg.noise_word_share, noise, words)

    def texts(self, mix: np.ndarray) -> list[str]:
        """Texts as space-separated words such as ``w0412``."""
        return [" ".join(f"w{w:04d}" for w in row) for row in self.words(mix).tolist()]

    def images(self, mix: np.ndarray) -> np.ndarray:
        """Images (n, H, W, C) uint8: the mixture's palette modulated by its textures, plus noise."""
        cfg = self.cfg
        mix64 = mix.astype(np.float64)
        colour = mix64 @ self.palette  # (n, 3)
        texture = np.tensordot(mix64, self.texture, axes=(1, 0))  # (n, H, W)
        image = colour[:, None, None, :] + cfg.texture_amplitude * texture[..., None]
        image += self.rng.normal(0.0, cfg.image_noise, size=image.shape)
        return image.clip(0, 255).astype(np.uint8)
