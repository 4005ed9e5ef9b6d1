"""The model registry: versioned model artifacts with their facts, and the ``champion`` alias.

- :mod:`components.registry.registry`: :class:`~components.registry.registry.Registry`
  (``register``, ``set_alias``, ``get``, ``show``, ``list_versions``) and
  :class:`~components.registry.registry.ModelVersion`.
- :mod:`components.registry.store`: the fsspec storage beneath it (local folder or object
  store), with the atomic JSON replace that alias updates rely on.

A small registry of our own rather than MLflow's: MLflow 3 does not co-install with the pinned
stack (see docs/evaluation.md). Serving and deploy read ``Registry(root).get(name, "champion")``.
"""
