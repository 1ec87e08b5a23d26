"""mlflow_sweep_plugin.backend.executors.submitit: settings refused before any run, and
the job a node runs (``run_grid_point``), run here in-process on a real sqlite store."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from mlflow_sweep_plugin.backend.executors import make_executor
from mlflow_sweep_plugin.backend.executors.submitit import SubmititExecutor, run_grid_point
from mlflow_sweep_plugin.backend.executors.submitit_config import SubmititConfigError
from backend_test_helpers import code_project, local_backend_config

HAS_SUBMITIT = importlib.util.find_spec("submitit") is not None

TRAIN = """import os, sys
open("seen.txt", "w").write(os.environ["MLFLOW_SWEEP_ID"] + " " + os.environ["MLFLOW_TRACKING_URI"])
sys.exit(int(sys.argv[1]))
"""


@pytest.mark.skipif(HAS_SUBMITIT, reason="checks the message shown when submitit is not installed")
def test_without_submitit_the_setting_is_refused_naming_the_extra():
    with pytest.raises(SubmititConfigError, match=r"pip install \"mlflow-sweep-plugin\[launchers\]\""):
        make_executor("submitit", {}, "sweep")


@pytest.mark.skipif(not HAS_SUBMITIT, reason="submitit is not installed (the launchers extra)")
def test_submitit_refuses_a_parameter_it_does_not_know(tmp_path):
    with pytest.raises(SubmititConfigError, match="submitit refused the settings"):
        SubmititExecutor({"cluster": "local", "folder": str(tmp_path), "no_such_parameter": 1}, "sweep")
    executor = SubmititExecutor({"cluster": "debug", "folder": str(tmp_path), "time": "0:05:00"}, "grid")
    assert executor.name == "submitit"


@pytest.mark.parametrize("code", [0, 2])
def test_run_grid_point_runs_the_entry_point_in_its_child_run(sweep_store, tmp_path, monkeypatch, code):
    for name in ("MLFLOW_SWEEP_ID", "MLFLOW_TRACKING_URI", "PATH"):  # the job sets them: restored after
        monkeypatch.setenv(name, os.environ.get(name, ""))
    project = code_project(tmp_path / "proj", TRAIN, "node")
    exp_id = sweep_store.create_experiment("node")
    run_id = sweep_store.client.create_run(exp_id).info.run_id
    config = local_backend_config(run_id)
    env = {"MLFLOW_SWEEP_ID": "s1", "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    assert run_grid_point(str(project), "main", {"code": code}, config, sweep_store.tracking_uri, exp_id,
                          env) == code
    assert (project / "seen.txt").read_text() == f"s1 {sweep_store.tracking_uri}"
