"""Helpers for the export-at-scale tests (importable: tests/ is on sys.path)."""

from __future__ import annotations

import contextlib

from mlflow_sweep_plugin.testing import log_sweep


@contextlib.contextmanager
def tracking_uri_set_to(uri: str):
    """MLflow 2.x resolves ``mlflow-artifacts:/`` URIs against the process-wide tracking
    URI even for an ``MlflowClient(uri)``: point it at the server while logging."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def log_to_server(server, runs, name):
    """``log_sweep`` through a real server (artifacts go to ``mlflow-artifacts:/``)."""
    with tracking_uri_set_to(server.url):
        return log_sweep(None, runs, name, tracking_uri=server.url)
