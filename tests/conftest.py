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


@pytest.fixture
def report_cli(sweep_cli, sweep_store):
    """``mlflow-sweep report ...`` in-process (through the CLI group when it has the
    command, else the command itself, with the same exit-code handling)."""
    from mlflow_sweep_plugin.cli import main

    if "report" in main.commands:
        return lambda *args: sweep_cli("report", *args)
    import inspect

    from click.testing import CliRunner

    from mlflow_sweep_plugin.commands.report import report_command
    from mlflow_sweep_plugin.testing import CliResult

    kwargs = {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters else {}

    def run(*args):
        res = CliRunner(**kwargs).invoke(report_command, [str(a) for a in args])
        exc = res.exception if not isinstance(res.exception, SystemExit) else None
        return CliResult(res.exit_code, res.stdout, res.stderr, exc)

    return run
