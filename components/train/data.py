"""Turn an interactions table (plus optional item and user feature tables) into training arrays.

Works on any table with ``user_id``, ``item_id`` and ``ts``; ``label`` (1 = positive, other
values = shown but not clicked) and ``weight`` are optional. Positives follow evaluation's
rule (:func:`components.split.table.positive_mask`). Feature tables are optional and are cut
to the interactions' window (rows dated after the last interaction are ignored, so a feature
table covering the test period cannot leak into training); the latest row per item or user
is used.

Indexing: catalogue position ``c`` (0-based) is an item; items seen in interactions come
first and own id-embedding row ``c + 1``; items only in the feature table (never shown) have
id row 0, the "no id" row, and are embedded from content. Users own row ``u + 1``; row 0 is
the learned cold user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from components.etl.content import IMAGE_COLUMNS
from components.etl.tables import TEXT_DIM
from components.split.table import positive_mask, positive_rule
from components.train.content import Standardiser, TrainingDataError, image_matrix, text_matrix, vectors

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("user_id", "item_id", "ts")
"""Columns every interactions table must have."""

USER_NUMERIC = ("ctr_7d", "like_rate_7d", "active_days_7d", "impressions_7d", "clicks_7d", "mean_dwell_ms_7d")
"""Numeric user features used when present (counts and durations through log1p, then standardised)."""

_LOG_FEATURES = {"impressions_7d", "clicks_7d", "mean_dwell_ms_7d", "active_days_7d"}

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise TrainingDataError(f"{what} is missing column(s) {missing}; it has {list(df.columns)}")


def latest(df: pd.DataFrame, key: str, until: pd.Timestamp | None) -> pd.DataFrame:
    """One row per ``key``: the latest by ``date`` (if present) among rows dated on or before ``until``."""
    if "date" in df.columns:
        dates = pd.to_datetime(df["date"])
        if until is not None:
            dates_naive = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates
            df = df[(dates_naive <= until.tz_localize(None).normalize()).to_numpy()]
            dates = pd.to_datetime(df["date"])
        df = df.assign(_date=dates).sort_values([key, "_date"], kind="stable").drop(columns="_date")
    return df.drop_duplicates(key, keep="last").reset_index(drop=True)


@dataclass
class TrainingData:
    """Everything the trainer needs, as numpy arrays; built identically on every rank."""

    user_ids: IntArray  # user u owns embedding row u + 1
    user_features: FloatArray  # (n_users + 1, F); row 0 (cold user) is the average user
    user_feature_names: list[str]
    item_ids: IntArray  # the catalogue, position c
    n_id_items: int  # items 0..n_id_items-1 have id rows c + 1; the rest row 0
    item_creator: IntArray  # creator row per catalogue item (0 = unknown)
    item_text: FloatArray  # (n_catalogue, TEXT_DIM)
    item_image: FloatArray  # (n_catalogue, 7), standardised
    item_feature_names: list[str]
    creator_ids: IntArray  # creator k owns row k + 1
    image_scaler: Standardiser
    pos_user: IntArray  # user row (>= 1) of each positive
    pos_item: IntArray  # catalogue position of each positive
    pos_weight: FloatArray
    log_q: FloatArray  # log in-batch sampling probability per catalogue item (positives' frequency)
    neg_item: IntArray  # hard negatives' catalogue positions, sorted by user row
    neg_start: IntArray  # (n_users + 1,): where each user row's negatives start in neg_item
    neg_count: IntArray  # (n_users + 1,)
    log_q_hard: FloatArray  # log frequency of each item among the hard negatives
    window: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def id_rows(self, positions: IntArray) -> IntArray:
        """Id-embedding rows of catalogue positions (0 for content-only items)."""
        return np.where(positions < self.n_id_items, positions + 1, 0).astype(np.int64)

    def sample_hard(self, rows: IntArray, k: int, rng: np.random.Generator) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        """``k`` hard negatives per positive in ``rows`` (with replacement) and a mask of which exist."""
        users = self.pos_user[rows]
        count = self.neg_count[users][:, None]
        pick = self.neg_start[users][:, None] + (rng.random((len(rows), k)) * np.maximum(count, 1)).astype(np.int64)
        mask = np.broadcast_to(count > 0, pick.shape).copy()
        items = np.where(mask, self.neg_item[np.minimum(pick, max(len(self.neg_item) - 1, 0))], 0)
        if len(self.neg_item) == 0:
            items = np.zeros_like(pick)
        mask &= items != self.pos_item[rows][:, None]  # an item the user also clicked is no negative
        return items.astype(np.int64), mask


def _ids(values: pd.Series, column: str) -> npt.NDArray[np.int64]:
    if not pd.api.types.is_integer_dtype(values.dtype):
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.isna().any() or not (numeric == numeric.round()).all():
            raise TrainingDataError(f"{column} must be integers (artifacts key by int64); map other ids first")
        values = numeric
    return values.to_numpy(np.int64)


def check_interactions(interactions: pd.DataFrame) -> pd.DataFrame:
    """Validate and clean an interactions table; raises :class:`TrainingDataError` with the reason.

    Adds ``positive`` (the rule of :func:`components.split.table.positive_mask`, shared with
    evaluation: ``label == 1``, else ``weight > 0``, else every row) and ``negative`` (a row
    that has a label or weight and is not positive: shown, not engaged). ``weight`` (default
    1) becomes the positive's loss weight.
    """
    if not isinstance(interactions, pd.DataFrame):
        raise TrainingDataError(f"interactions must be a pandas DataFrame, got {type(interactions).__name__}")
    _require(interactions, REQUIRED_COLUMNS, "interactions")
    if interactions.empty:
        raise TrainingDataError("interactions table is empty: nothing to train on")
    df = interactions.dropna(subset=["user_id", "item_id"])
    if len(df) < len(interactions):
        logger.warning("dropped %d interactions with a null user_id or item_id", len(interactions) - len(df))
    if "label" in df.columns and not pd.api.types.is_numeric_dtype(df["label"].dtype):
        raise TrainingDataError(f"label must be numeric (1 = positive), got {df['label'].dtype}")
    weight = df["weight"].astype(np.float64).fillna(1.0) if "weight" in df.columns else pd.Series(1.0, index=df.index)
    if (weight < 0).any():
        raise TrainingDataError("weight must be non-negative")
    positive = positive_mask(df)
    negative = ~positive if ("label" in df.columns or "weight" in df.columns) else np.zeros(len(df), dtype=bool)
    df = df.assign(
        user_id=_ids(df["user_id"], "user_id"),
        item_id=_ids(df["item_id"], "item_id"),
        weight=weight,
        positive=positive,
        negative=negative,
    )
    if not positive.any():
        raise TrainingDataError(f"interactions has {len(df)} rows but no positives ({positive_rule(df)})")
    return df


def _user_table(users: pd.DataFrame | None, user_ids: IntArray, until: pd.Timestamp) -> tuple[FloatArray, list[str]]:
    if users is None or users.empty:
        return np.zeros((len(user_ids) + 1, 0), np.float32), []
    _require(users, ("user_id",), "user features")
    table = latest(users, "user_id", until).set_index("user_id").reindex(user_ids)
    parts: list[FloatArray] = []
    names: list[str] = []
    numeric = [c for c in USER_NUMERIC if c in table.columns]
    if numeric:
        x = table[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        for j, name in enumerate(numeric):
            if name in _LOG_FEATURES:
                x[:, j] = np.log1p(np.maximum(x[:, j], 0.0))
        parts.append(Standardiser.fit(x.astype(np.float32))(x.astype(np.float32)))
        names += numeric
    if "content_profile" in table.columns:
        parts.append(vectors(table["content_profile"], TEXT_DIM))
        names.append("content_profile")
    feats = np.concatenate(parts, axis=1) if parts else np.zeros((len(user_ids), 0), np.float32)
    return np.concatenate([np.zeros((1, feats.shape[1]), np.float32), feats]).astype(np.float32), names


def _item_table(items: pd.DataFrame | None, id_items: IntArray, until: pd.Timestamp) -> pd.DataFrame:
    if items is None or items.empty:
        return pd.DataFrame({"item_id": id_items})
    _require(items, ("item_id",), "item features")
    table = latest(items, "item_id", until)
    extra = np.setdiff1d(table["item_id"].to_numpy(np.int64), id_items)
    order = pd.Index(np.concatenate([id_items, extra]))
    return table.set_index("item_id").reindex(order).rename_axis("item_id").reset_index()


def build(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None,
    users: pd.DataFrame | None,
    *,
    use_items: bool,
    use_users: bool,
) -> TrainingData:
    """Index, clean and featurise the tables (deterministic: the same inputs give the same arrays)."""
    df = check_interactions(interactions)
    ts = pd.to_datetime(df["ts"], utc=True) if not pd.api.types.is_numeric_dtype(df["ts"]) else df["ts"]
    until = pd.Timestamp(ts.max()) if not pd.api.types.is_numeric_dtype(ts) else None
    user_ids = np.unique(df["user_id"].to_numpy())
    id_items = np.unique(df["item_id"].to_numpy())
    cutoff = until if until is not None else pd.Timestamp.max
    catalogue = _item_table(items if use_items else None, id_items, cutoff)
    item_ids = catalogue["item_id"].to_numpy(np.int64)
    user_row = pd.Index(user_ids).get_indexer(df["user_id"].to_numpy()) + 1
    item_pos = pd.Index(id_items).get_indexer(df["item_id"].to_numpy())
    pos, neg = df["positive"].to_numpy(), df["negative"].to_numpy()

    user_features, user_names = _user_table(users if use_users else None, user_ids, cutoff)
    item_names: list[str] = []
    if "creator_id" in catalogue.columns:
        creators = catalogue["creator_id"]
        creator_ids = np.unique(creators.dropna().to_numpy(np.int64))
        item_creator = np.where(creators.isna(), -1, pd.Index(creator_ids).get_indexer(creators.fillna(-1))) + 1
        item_names.append("creator_id")
    else:
        creator_ids, item_creator = np.zeros(0, np.int64), np.zeros(len(catalogue), np.int64)
    text = text_matrix(catalogue)
    if "text_vec" in catalogue.columns or "text" in catalogue.columns:
        item_names.append("text_vec")
    raw_image = image_matrix(catalogue)
    item_names += [c for c in IMAGE_COLUMNS if c in catalogue.columns]
    scaler = Standardiser.fit(raw_image)

    pos_item = item_pos[pos]
    counts = np.bincount(pos_item, minlength=len(item_ids)).astype(np.float64)
    log_q = np.log(np.maximum(counts, 0.5) / counts.sum()).astype(np.float32)
    neg_user, neg_item = user_row[neg], item_pos[neg]
    order = np.argsort(neg_user, kind="stable")
    neg_count = np.bincount(neg_user, minlength=len(user_ids) + 1).astype(np.int64)
    neg_start = (np.cumsum(neg_count) - neg_count).astype(np.int64)
    hard_counts = np.bincount(neg_item, minlength=len(item_ids)).astype(np.float64)
    log_q_hard = np.log(np.maximum(hard_counts, 0.5) / max(hard_counts.sum(), 1.0)).astype(np.float32)
    window: dict[str, Any] = {"min_ts": str(ts.min()), "max_ts": str(ts.max())}
    data = TrainingData(
        user_ids=user_ids,
        user_features=user_features,
        user_feature_names=user_names,
        item_ids=item_ids,
        n_id_items=len(id_items),
        item_creator=item_creator.astype(np.int64),
        item_text=text,
        item_image=scaler(raw_image),
        item_feature_names=item_names,
        creator_ids=creator_ids,
        image_scaler=scaler,
        pos_user=user_row[pos].astype(np.int64),
        pos_item=pos_item.astype(np.int64),
        pos_weight=df["weight"].to_numpy(np.float32)[pos],
        log_q=log_q,
        neg_item=neg_item[order].astype(np.int64),
        neg_start=neg_start,
        neg_count=neg_count,
        log_q_hard=log_q_hard,
        window=window,
        rows={
            "interactions": len(df),
            "positives": int(pos.sum()),
            "hard_negatives": int(neg.sum()),
            "users": len(user_ids),
            "items": len(id_items),
            "catalogue_items": len(item_ids),
            "creators": len(creator_ids),
        },
    )
    logger.info("training data: %s", data.rows)
    return data
