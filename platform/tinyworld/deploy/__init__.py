"""The cluster side of the control plane: what the Helm chart (charts/tinyworld) runs and is generated from.

- ``chart``: render the chart for a profile (``helm template``), read its merged values.
- ``serve_config``: the RayService's Serve application, generated from the local one.
- ``environments``: ``platform/environments/<cluster>.yaml``, generated from the chart.
- ``validate``: every rendered object against its schema (core kinds and custom resources).
- ``register``: the chart's Job: upload the compiled pipelines to KFP and schedule them.
- ``feast``: the Feast feature server and UI over an environment's feature store.
- ``ui``: port forwards to the cluster's UIs (``make ui``).
"""
