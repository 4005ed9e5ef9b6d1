"""Train/test splits of any interactions table (user_id, item_id, ts, optional label/weight).

- :mod:`components.split.table`: reading and checking an interactions table, and what counts
  as a positive (``label == 1``, else ``weight > 0``, else every row).
- :mod:`components.split.splitters`: :class:`~components.split.splitters.SplitConfig` and
  :func:`~components.split.splitters.split_interactions` (temporal per user, or a random split
  stratified by user).
- :mod:`components.split.run`: :func:`~components.split.run.split_file`, the step behind
  ``tinyworld split``: read, split, write ``train.parquet``, ``test.parquet`` and ``split.json``.

See docs/evaluation.md.
"""
