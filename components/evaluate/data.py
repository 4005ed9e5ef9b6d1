"""Turn a train and a test table into what ranking needs: users, relevant items, exclusions.

For a catalogue (the candidate model's ``item_ids``) and the positives of each half (see
:func:`components.split.table.positive_mask`):

- a user is **evaluated** when they have at least one relevant item; with
  ``include_cold_users=False`` they must also have a row in TRAIN;
- a user's **relevant** items are the distinct items of their TEST positives that are in the
  catalogue and are not already TRAIN positives of that user (repeats cannot be recommended,
  so they cannot be hit; they are counted as ``repeat_positives``);
- a user's **excluded** items are their TRAIN positives: never recommended back;
- **cold items** are TEST-positive items outside the catalogue (no model can rank them; their
  rows are dropped and counted); **cold users** are evaluated users with no TRAIN row;
- **popularity** is the number of TRAIN positive rows of each catalogue item.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from components.evaluate.ranking import pair_matrix
from components.split.table import check_interactions, integer_ids, positive_mask, positive_rule

log = logging.getLogger(__name__)


class EvaluationInputError(ValueError):
    """Train, test and catalogue leave nothing to evaluate, or cannot be used together."""


@dataclass(frozen=True)
class EvaluationData:
    """Everything the ranking loop reads; users are rows, catalogue positions are columns."""

    user_ids: npt.NDArray[np.int64]  # evaluated users, ascending
    item_ids: npt.NDArray[np.int64]  # the catalogue, in the model's item order
    relevant: sparse.csr_matrix  # (users, items) relevant test positives
    exclude: sparse.csr_matrix  # (users, items) train positives, never recommended
    popularity: npt.NDArray[np.float64]  # train positive rows per catalogue item
    counts: dict[str, int]  # the protocol's counts (see build_evaluation_data)
    positive_rule: str  # which rows count as positives

    @property
    def n_relevant(self) -> npt.NDArray[np.int64]:
        """|R| per evaluated user."""
        return np.asarray(np.diff(self.relevant.indptr), dtype=np.int64)


def _positive_pairs(frame: pd.DataFrame, source: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    mask = positive_mask(frame)
    return integer_ids(frame, "user_id", source)[mask], integer_ids(frame, "item_id", source)[mask]


def build_evaluation_data(
    train: pd.DataFrame,
    test: pd.DataFrame,
    item_ids: npt.NDArray[np.int64],
    include_cold_users: bool = True,
) -> EvaluationData:
    """Index train and test against the catalogue ``item_ids`` (module doc for every rule).

    Raises :class:`~components.split.table.InteractionsError` for a malformed table and
    :class:`EvaluationInputError` when no user is left to evaluate.
    """
    check_interactions(train, "train")
    check_interactions(test, "test")
    catalogue = pd.Index(np.asarray(item_ids, dtype=np.int64))
    n_items = len(catalogue)
    if n_items == 0:
        raise EvaluationInputError("the model's catalogue is empty")
    if not catalogue.is_unique:
        raise EvaluationInputError("the model's catalogue repeats item ids")
    train_users_all = np.unique(integer_ids(train, "user_id", "train"))
    tr_users, tr_items = _positive_pairs(train, "train")
    te_users, te_items = _positive_pairs(test, "test")

    te_pos = catalogue.get_indexer(pd.Index(te_items))
    cold_item = te_pos < 0
    known = ~cold_item
    candidates = np.unique(te_users[known])
    if not include_cold_users:
        candidates = candidates[np.isin(candidates, train_users_all)]
    tr_pos = catalogue.get_indexer(pd.Index(tr_items))
    user_index = pd.Index(candidates)

    te_rows = user_index.get_indexer(pd.Index(te_users[known]))
    te_cols = te_pos[known]
    keep = te_rows >= 0
    te_keys = np.unique(te_rows[keep].astype(np.int64) * n_items + te_cols[keep])
    tr_rows = user_index.get_indexer(pd.Index(tr_users))
    in_scope = (tr_rows >= 0) & (tr_pos >= 0)
    tr_keys = np.unique(tr_rows[in_scope].astype(np.int64) * n_items + tr_pos[in_scope])
    repeat = np.isin(te_keys, tr_keys)
    rel_keys = te_keys[~repeat]

    rel_rows = rel_keys // n_items
    evaluated = np.unique(rel_rows)
    if len(evaluated) == 0:
        raise EvaluationInputError(
            f"no user to evaluate: the test table has {len(te_users)} positive row(s) "
            f"({positive_rule(test)}), none of them on a catalogue item new to its user"
        )
    remap = np.full(len(candidates), -1, dtype=np.int64)
    remap[evaluated] = np.arange(len(evaluated))
    shape = (len(evaluated), n_items)
    relevant = pair_matrix(remap[rel_rows], rel_keys % n_items, shape)
    ex_rows = remap[tr_keys // n_items]
    ex_keep = ex_rows >= 0
    exclude = pair_matrix(ex_rows[ex_keep], (tr_keys % n_items)[ex_keep], shape)
    popularity = np.bincount(tr_pos[tr_pos >= 0], minlength=n_items).astype(np.float64)

    user_ids = candidates[evaluated]
    test_users = np.unique(integer_ids(test, "user_id", "test"))
    counts = {
        "train_rows": len(train),
        "test_rows": len(test),
        "train_positives": len(tr_users),
        "test_positives": len(te_users),
        "test_users": len(test_users),
        "test_users_with_positives": len(np.unique(te_users)),
        "users_evaluated": len(user_ids),
        "cold_users": int((~np.isin(user_ids, train_users_all)).sum()),
        "cold_users_skipped": int((~np.isin(np.unique(te_users[known]), train_users_all)).sum())
        if not include_cold_users
        else 0,
        "cold_items": len(np.unique(te_items[cold_item])),
        "cold_item_positives": int(cold_item.sum()),
        "repeat_positives": int(repeat.sum()),
        "relevant_pairs": int(relevant.nnz),
        "excluded_pairs": int(exclude.nnz),
    }
    log.info(
        "evaluating %d users over %d items (%d relevant, %d excluded pairs)",
        len(user_ids),
        n_items,
        relevant.nnz,
        exclude.nnz,
    )
    return EvaluationData(
        user_ids=user_ids,
        item_ids=np.asarray(catalogue.to_numpy(), dtype=np.int64),
        relevant=relevant,
        exclude=exclude,
        popularity=popularity,
        counts=counts,
        positive_rule=positive_rule(test),
    )
