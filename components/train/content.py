"""Item and user content as matrices: text vectors, image statistics, standardisation.

Shared by training (:mod:`components.train.data`) and the artifact's content encoder
(:mod:`components.train.encoder`), so an item is featurised the same way at both ends.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from components.etl.content import IMAGE_COLUMNS, text_vectors
from components.etl.tables import TEXT_DIM

FloatArray = npt.NDArray[np.float32]


class TrainingDataError(ValueError):
    """The input tables cannot be trained on (missing columns, no rows, no positives)."""


def vectors(column: pd.Series, dim: int) -> FloatArray:
    """Stack a column of arrays (lists, numpy arrays or None) into ``(n, dim)`` float32; None -> zeros."""
    out = np.zeros((len(column), dim), dtype=np.float32)
    for i, value in enumerate(column.tolist()):
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            arr = np.asarray(value, dtype=np.float32).reshape(-1)
            if arr.shape[0] != dim:
                raise TrainingDataError(f"{column.name} row {i} has {arr.shape[0]} values, expected {dim}")
            out[i] = arr
    return out


def text_matrix(content: pd.DataFrame) -> FloatArray:
    """``(n, TEXT_DIM)`` text vectors from ``text_vec``, or hashed from a raw ``text`` column, else zeros."""
    if "text_vec" in content.columns:
        return vectors(content["text_vec"], TEXT_DIM)
    if "text" in content.columns:
        return text_vectors([None if pd.isna(t) else str(t) for t in content["text"]], TEXT_DIM)
    return np.zeros((len(content), TEXT_DIM), dtype=np.float32)


def image_matrix(content: pd.DataFrame) -> FloatArray:
    """``(n, 7)`` raw image statistics (columns :data:`IMAGE_COLUMNS`); absent columns or nulls are NaN."""
    cols = [
        content[c].to_numpy(dtype=np.float64, na_value=np.nan)
        if c in content.columns
        else np.full(len(content), np.nan)
        for c in IMAGE_COLUMNS
    ]
    return np.column_stack(cols).astype(np.float32) if cols else np.zeros((len(content), 0), np.float32)


@dataclass
class Standardiser:
    """Per-column mean and standard deviation learned on the training rows; NaN becomes the mean (0)."""

    mean: FloatArray
    std: FloatArray

    @classmethod
    def fit(cls, x: FloatArray) -> Standardiser:
        """Fit on ``x`` (``(n, d)``), ignoring NaN; constant columns get std 1."""
        if x.shape[0] == 0:
            return cls(np.zeros(x.shape[1], np.float32), np.ones(x.shape[1], np.float32))
        with warnings.catch_warnings():  # all-NaN columns (absent features) are expected: mean 0, std 1
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nan_to_num(np.nanmean(x, axis=0)).astype(np.float32)
            std = np.nan_to_num(np.nanstd(x, axis=0)).astype(np.float32)
        return cls(mean, np.where(std > 1e-6, std, 1.0).astype(np.float32))

    def __call__(self, x: FloatArray) -> FloatArray:
        return np.nan_to_num((x - self.mean) / self.std).astype(np.float32)
