"""Installing mlflow-sweep must not change ``import mlflow``: no output, no failure,
nothing heavy imported (timing is measured in benchmarks/bench_import.py, not here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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
sys.modules["mlflow_sweep_plugin.commands.export"] = None  # makes importing our export command fail
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


# -- mlflow run --backend sweep on a new sqlite store (issue 23 item 5) -------------------------
def test_only_mlflow_run_with_the_sweep_backend_prepares_the_store():
    from mlflow_sweep_plugin.mlflow_hooks.mlflow_cli import sweep_backend_requested

    for argv in (["mlflow", "run", ".", "--backend", "sweep"], ["mlflow", "run", "-b", "sweep", "."],
                 ["m", "run", ".", "--backend=sweep", "-P", "a=1"]):
        assert sweep_backend_requested(argv), argv
    for argv in (["mlflow", "run", "."], ["mlflow", "run", ".", "--backend", "local"], ["mlflow", "ui"],
                 ["mlflow", "server", "--backend", "sweep"], ["mlflow"]):
        assert not sweep_backend_requested(argv), argv


@pytest.mark.slow
def test_two_sweeps_started_at_once_on_a_new_sqlite_store_both_run(tmp_path):
    """MLflow's ``run`` command opens the store before it loads the backend: without our
    hook, one of two starting at once crashed in alembic's migration."""
    import pathlib

    project = pathlib.Path(__file__).resolve().parents[2] / "examples" / "search_project"
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/new.db", MLFLOW_EXPERIMENT_NAME="e")
    procs = [subprocess.Popen([sys.executable, "-m", "mlflow", "run", str(project), "-e", "idle",
                               "--env-manager", "local", "--backend", "sweep", "--backend-config",
                               json.dumps({"grid": {"seconds": [0.1]}, "sweep_name": f"s{i}", "report": False})],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
             for i in range(2)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    for proc, err in zip(procs, errors):
        assert proc.returncode == 0, err[-3000:]
        assert "alembic" not in err and "Traceback" not in err
