"""The Spark ETL: the event lake in, metrics, experiment, feature and training tables out.

Entry point: :func:`components.etl.job.run_etl` (handed a session from
:func:`components.etl.session.build_session`). Table names and columns are defined once in
:mod:`components.etl.tables`; docs/data.md describes them.
"""
