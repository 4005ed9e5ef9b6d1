"""The model registry: versioned model artifacts with their facts, the aliases, and the promotion rule.

- :mod:`components.registry.registry`: :class:`~components.registry.registry.Registry`
  (``register``, ``promote``, ``retire``, ``set_alias``, ``get``, ``show``, ``list_versions``,
  ``alias_history``), :class:`~components.registry.registry.ModelVersion` and the names
  defined once: ``DEFAULT_MODEL_NAME``, ``CHAMPION``, ``CHALLENGER``.
- :mod:`components.registry.decision`: the online decision (promote, retire or keep the
  challenger) from the ETL's experiments table, and the arms' default names.
- :mod:`components.registry.experiments`: the experiments' arms (:class:`ExperimentConfig`) and
  the log of every experiment that went live, read by serving and by the ETL.
- :mod:`components.registry.step`: the register and promote steps (``run_register``,
  ``run_promote``) the pipelines, the closed loop and the CLI call.
- :mod:`components.registry.store`: the fsspec storage beneath it (local folder or object
  store), with the atomic JSON replace that alias updates rely on.

A small registry of our own rather than MLflow's: MLflow 3 does not co-install with the pinned
stack (see docs/evaluation.md). Serving and deploy read ``Registry(root).get(name, "champion")``.
"""
