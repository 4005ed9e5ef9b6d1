"""The platform's steps, one module each, as plain typed functions.

Each step is framework-free logic, unit-tested on its own; the KFP components, Ray Serve
deployments and Feast definitions in :mod:`tinyworld` are thin wrappers that import and call it.

- ``ingest``: accept SimNet's events over HTTP, validate them and append them durably to the lake.
- ``etl``: Spark jobs that turn the raw event lake into daily interaction and metrics tables.
- ``validate``: Great Expectations suites that gate each day's data before it is used.
- ``features``: Feast feature definitions, ``apply`` and materialisation to the online store.
- ``train``: the recommender's training loop (torch, one process or DDP under torchrun).
- ``evaluate``: offline metrics of a candidate model against the current champion.
- ``registry``: versioned model artifacts with their metrics, data window and ``champion`` alias.
- ``serving``: the recommendation API (Ray Serve) with A/B arms and model versions.

Dependency direction: ``components`` may import :mod:`simnet.protocol` and nothing else of SimNet.
"""
