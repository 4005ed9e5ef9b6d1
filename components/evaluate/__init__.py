"""Offline evaluation of a recommender and the decision to promote it.

- :mod:`components.evaluate.metrics`: Recall@K, NDCG@K, HitRate@K, MRR@K and coverage as pure
  functions with exact definitions (and batched versions over many users).
- :mod:`components.evaluate.ranking`: full-catalogue top-K for many users, in chunks (torch).
- :mod:`components.evaluate.data`: the protocol: evaluated users, relevant and excluded items,
  cold users and items, the popularity counts.
- :mod:`components.evaluate.evaluator`: :func:`~components.evaluate.evaluator.evaluate`: the
  model, the popularity baseline and the champion on the same split; the JSON report.
- :mod:`components.evaluate.promotion`: :class:`~components.evaluate.promotion.PromotionConfig`
  and :func:`~components.evaluate.promotion.decide`.

Nothing is imported here, so importing a submodule stays cheap. See docs/evaluation.md.
"""
