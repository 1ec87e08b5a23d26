"""The package mlflow_sweep_plugin.sweep: its docstring names each of its modules."""

from __future__ import annotations

import mlflow_sweep_plugin.sweep as package
from package_test_helpers import modules_missing_from_docstring


def test_the_docstring_names_every_module():
    assert modules_missing_from_docstring(package) == []
