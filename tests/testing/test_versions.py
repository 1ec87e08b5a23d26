"""``mlflow_major()``: the MLflow major version the harness and tests adapt to."""

import mlflow

from mlflow_sweep_plugin.testing.versions import mlflow_major


def test_mlflow_major_is_the_installed_major_version():
    assert mlflow_major() == int(mlflow.__version__.split(".")[0]) and mlflow_major() in (2, 3)
