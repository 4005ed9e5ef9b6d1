"""The feature store: Feast over the ETL's feature tables, SQLite or Redis online, point-in-time training sets.

The pieces, one concept per module:

- ``step``: the step's entry point, :func:`~components.features.step.run` (apply, then materialise).
- ``config``: :class:`~components.features.config.FeatureStoreConfig`, where the definitions and
  Feast's state live and which online and offline stores to use.
- ``views``: a :class:`~components.features.views.ViewSpec` turns an ETL table of
  :mod:`components.etl.tables` into a Feast source and feature view (names, types, descriptions).
- ``repo``: :func:`~components.features.repo.open_repo` loads ``feature_repo/definitions.py`` and
  renders ``feature_store.yaml`` from a ``FeatureStoreConfig`` into a local working directory.
- ``etl_output``: Arrow checks and stats over the ETL's tables, with clear errors.
- ``apply``: :func:`~components.features.apply.apply` registers everything over an ETL output.
- ``materialize``: :func:`~components.features.materialize.materialize`, incremental up to the
  data's latest day.
- ``training``: :func:`~components.features.training.training_set`, the point-in-time join.
- ``online``: :func:`~components.features.online.lookup` and the reusable
  :class:`~components.features.online.OnlineReader`.
- ``errors``: what goes wrong, each with the fix in its message.

Nothing is imported here, so importing a module does not import Feast (seconds) until it needs it.
See docs/features.md.
"""
