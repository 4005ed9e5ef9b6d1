"""Launching the heavy steps as cluster jobs: training as a Kubeflow Trainer TrainJob, the ETL as a
Spark Operator SparkApplication.

A launched job runs the very step a local call runs (:mod:`tinyworld.launch.entry`, in the platform's
image), writes the step's result JSON under the artifacts root, and the launcher hands that result
back, so a pipeline task returns the same JSON wherever the step ran. Which way a step runs is the
environment's choice (``Settings.train_launcher``, ``Settings.etl_launcher``; see
:mod:`tinyworld.launch.dispatch`).
"""
