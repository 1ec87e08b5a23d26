"""Shared helpers for the core test suite (fixtures come from mlflow_sweep_plugin.testing)."""

from __future__ import annotations

import json
import pathlib

import pytest

DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture
def example_summary() -> dict:
    """The format's own example ``layer_0/cluster_summary.json``, as a dict."""
    return json.loads((DATA / "clustering_run" / "layer_0" / "cluster_summary.json").read_text())

