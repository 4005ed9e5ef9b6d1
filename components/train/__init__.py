"""The recommender's training step: a two-tower retrieval model, trained with torch (DDP under torchrun).

- :mod:`components.train.artifact`: :class:`ModelArtifact`, :func:`save_model`, :func:`load_model`,
  the contract that evaluation, the registry and serving read.
- :mod:`components.train.config`: :class:`TrainConfig`, the run's hyper-parameters.
- :mod:`components.train.data`: turns an interactions table (and optional item and user feature
  tables) into the index and feature tensors training needs.
- :mod:`components.train.model`: the two towers and the loss (in-batch sampled softmax with logQ
  correction and hard negatives).
- :mod:`components.train.encoder`: the content encoder an artifact keeps for cold-start items.
- :mod:`components.train.trainer`: :func:`train`, one code path for one process and torchrun.
- :mod:`components.train.export`: a trained model reduced to a :class:`ModelArtifact` with metadata.
- :mod:`components.train.run`: Parquet in, artifact out; the module torchrun runs on every rank.

See docs/training.md.
"""
