"""Which MLflow the tests run on: ``mlflow_major()`` (2 or 3), for the few places where
the harness adapts to MLflow 2.x and the tests that check a 3.x-only behaviour
(``docs/reference/compatibility.md`` lists what differs)."""

from __future__ import annotations


def mlflow_major() -> int:
    """MLflow's major version (2 for the oldest supported, 2.16)."""
    import mlflow  # heavy: only when a test uses it

    return int(mlflow.__version__.split(".")[0])
