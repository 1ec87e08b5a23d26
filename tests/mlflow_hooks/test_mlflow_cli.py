"""Installing mlflow-sweep must not change ``import mlflow``: no output, no failure,
nothing heavy imported (timing is measured in benchmarks/bench_import.py, not here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = r"""
import sys, json
before = set(sys.modules)
import mlflow
ours = sorted(m for m in sys.modules if m.startswith("mlflow_sweep"))
import mlflow.cli
print(json.dumps({"ours": ours, "has_cmd": "sweep-export" in mlflow.cli.cli.commands,
                  "pluggy": "pluggy" in sys.modules and "pluggy" not in before}))
"""


def _run(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, **env), timeout=180)


def test_import_mlflow_loads_only_our_light_modules_and_prints_nothing():
    proc = _run(PROBE)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ours"] == ["mlflow_sweep_plugin", "mlflow_sweep_plugin.mlflow_hooks",
                           "mlflow_sweep_plugin.mlflow_hooks.context",
                           "mlflow_sweep_plugin.mlflow_hooks.mlflow_cli",
                           "mlflow_sweep_plugin.tags"]  # the tag names: constants only
    assert out["has_cmd"] is True
    assert "mlflow_sweep" not in proc.stderr and "sweep" not in proc.stderr.lower()


def test_import_mlflow_survives_a_broken_cli_hook():
    # our CLI module failing to import must not break `mlflow` or `import mlflow`
    code = r"""
import sys
sys.modules["mlflow_sweep_plugin.commands.export"] = None  # makes the command fail to import
import mlflow, mlflow.cli
print("sweep-export" in mlflow.cli.cli.commands, "runs" in mlflow.cli.cli.commands)
"""
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_mlflow_help_lists_sweep_export():
    mlflow_exe = os.path.join(os.path.dirname(sys.executable), "mlflow")
    proc = subprocess.run([mlflow_exe, "--help"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0
    assert "sweep-export" in proc.stdout


def test_add_command_attaches_sweep_export_once_and_never_raises():
    import click

    from mlflow_sweep_plugin.commands.export import export_command
    from mlflow_sweep_plugin.mlflow_hooks.mlflow_cli import COMMAND_NAME, add_command

    class FakeCliModule:  # what mlflow.cli holds: a click group named ``cli``
        cli = click.Group("mlflow")

    add_command(FakeCliModule)
    add_command(FakeCliModule)
    assert FakeCliModule.cli.commands == {COMMAND_NAME: export_command}
    add_command(object())  # no group: nothing, no error
    add_command(None)


def test_install_adds_the_command_to_an_already_imported_mlflow_cli():
    import mlflow.cli

    from mlflow_sweep_plugin.mlflow_hooks.mlflow_cli import COMMAND_NAME, _Finder, install

    install()
    assert COMMAND_NAME in mlflow.cli.cli.commands
    assert sum(isinstance(f, _Finder) for f in sys.meta_path) <= 1
