"""The package mlflow_sweep_plugin.report: its docstring names each of its modules, and
importing it loads none of the report's heavy dependencies (the CLI loads it cheaply)."""

from __future__ import annotations

import subprocess
import sys

import mlflow_sweep_plugin.report as package
from package_test_helpers import modules_missing_from_docstring


def test_the_docstring_names_every_module():
    assert modules_missing_from_docstring(package) == []


def test_importing_the_package_loads_no_heavy_dependency():
    heavy = ("pandas", "numpy", "scipy", "matplotlib", "jinja2", "mlflow")
    code = ("import sys, mlflow_sweep_plugin.report; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
