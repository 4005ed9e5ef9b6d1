"""Content features of an item from its create event: hashed text and image statistics.

Pure numpy, no Spark: the ETL applies these to the catalogue in batches, and the serving
side can compute the very same vector for an item that has just been created (cold start).

Text
    Signed feature hashing of the space-separated words: word ``w`` adds ``sign(w)`` at
    index ``h(w) mod dim``, with ``h = crc32(utf-8 bytes)`` and ``sign = +1`` when bit 31
    of ``h`` is 0, else ``-1``; the vector is then L2-normalised (all zeros for empty text).
Image
    ``8*8*3`` uint8 pixels, row-major HWC. Per channel mean and standard deviation (scaled
    to [0, 1] by 255) and a texture measure, the gradient energy of the grey image
    ``g = mean over channels``: ``(mean(dx^2) + mean(dy^2)) / 2 / 255^2`` where ``dx`` and
    ``dy`` are differences between horizontal and vertical neighbours.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from components.etl.tables import TEXT_DIM
from simnet.protocol import IMAGE_SHAPE, IMAGE_SIZE

IMAGE_COLUMNS = (
    "img_mean_r",
    "img_mean_g",
    "img_mean_b",
    "img_std_r",
    "img_std_g",
    "img_std_b",
    "img_texture",
)
"""The image statistics, in the order :func:`image_stats` returns them."""


@lru_cache(maxsize=1 << 16)
def _slot(word: str, dim: int) -> tuple[int, float]:
    h = zlib.crc32(word.encode("utf-8"))
    return h % dim, (-1.0 if h >> 31 else 1.0)


def text_vector(text: str | None, dim: int = TEXT_DIM) -> npt.NDArray[np.float32]:
    """The L2-normalised signed hashed bag of words of ``text`` (zeros if empty or None)."""
    vec = np.zeros(dim, dtype=np.float64)
    for word in (text or "").split():
        index, sign = _slot(word, dim)
        vec[index] += sign
    norm = float(np.linalg.norm(vec))
    if norm > 0.0:
        vec /= norm
    return vec.astype(np.float32)


def text_vectors(texts: list[str | None], dim: int = TEXT_DIM) -> npt.NDArray[np.float32]:
    """:func:`text_vector` of each text, stacked: shape ``(len(texts), dim)``."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        out[i] = text_vector(text, dim)
    return out


def image_stats(pixels: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Image statistics of a batch: ``(n, IMAGE_SIZE)`` pixels in, ``(n, 7)`` out.

    Columns as in :data:`IMAGE_COLUMNS`. A single image (``IMAGE_SIZE`` values) gives
    shape ``(1, 7)``. Raises ValueError for a wrong number of pixels.
    """
    arr = np.asarray(pixels, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != IMAGE_SIZE:
        raise ValueError(f"expected (n, {IMAGE_SIZE}) pixels, got shape {arr.shape}")
    img = arr.reshape(-1, *IMAGE_SHAPE) / 255.0
    flat = img.reshape(img.shape[0], -1, IMAGE_SHAPE[2])
    mean = flat.mean(axis=1)
    std = flat.std(axis=1)
    grey = img.mean(axis=3)
    dx = np.diff(grey, axis=2)
    dy = np.diff(grey, axis=1)
    texture = ((dx**2).mean(axis=(1, 2)) + (dy**2).mean(axis=(1, 2))) / 2.0
    return np.column_stack([mean, std, texture])
