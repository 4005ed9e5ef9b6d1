"""The data-quality gate: Great Expectations suites for the raw event lake and the ETL's tables.

A failing suite stops the daily pipeline before features and training see bad data. The
pieces, one concept per module:

- :class:`ValidateConfig` (``config``): tolerances, freshness lag, sampling; one typed model.
- ``suites``: the suite builders. The raw events suite comes from :mod:`simnet.protocol`; a
  table's suite is generated from its definition in :mod:`components.etl.tables`.
- ``checks``: whole-data checks computed with pyarrow (row-count bounds, freshness, key
  uniqueness, column types), which a sample must not decide.
- ``engine``: runs a Great Expectations suite over a pyarrow table (pandas, column groups).
- ``read``: reading a window of the lake and the ETL's output tables, with clear errors.
- ``state``: the row counts a run remembers for the next run's bounds.
- ``results`` and ``report``: the typed outcome and the HTML page plus ``results.json``.
- ``run``: :func:`~components.validate.run.validate_events`,
  :func:`~components.validate.run.validate_tables` and
  :func:`~components.validate.run.write_report`.

Nothing is imported here, so ``import components.validate.config`` stays cheap: Great
Expectations takes seconds to import and only ``suites``, ``engine`` and ``run`` need it.
See docs/validation.md.
"""
