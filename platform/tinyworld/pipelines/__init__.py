"""The Kubeflow pipelines: ``daily`` (etl -> validate -> features -> split -> train -> evaluate ->
register) and ``promote`` (the online experiment decides), compiled to ``platform/pipelines/``."""
