"""mlflow_sweep_plugin.backend.executors.local (and the executors' registry): a child run
of the entry point as a real process of this machine, through MLflow's LocalBackend,
on a real sqlite store."""

from __future__ import annotations

import os
import sys
import time

import pytest

from mlflow_sweep_plugin.backend.executors import EXECUTORS, make_executor
from mlflow_sweep_plugin.backend.executors.local import LocalChild, LocalExecutor, environ
from backend_test_helpers import code_project, local_backend_config

# no mlflow import: the child is a plain, fast process
TRAIN = """import os, sys
print("sweep", os.environ.get("MY_SWEEP_VAR"), "run", os.environ.get("MLFLOW_RUN_ID"))
sys.stderr.write("bye\\n")
sys.exit(int(sys.argv[1]))
"""


def test_the_registry_names_each_executor():
    assert EXECUTORS == ("local", "submitit")
    assert isinstance(make_executor("local", None, "s"), LocalExecutor)
    assert LocalExecutor.name == "local"


def _start(store, project, code):
    client = store.client
    exp_id = store.create_experiment("local")
    run_id = client.create_run(exp_id).info.run_id
    config = local_backend_config(run_id)
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    child = LocalExecutor().start(work_dir=str(project), entry_point="main", params={"code": code},
                                  local_config=config, tracking_uri=store.tracking_uri,
                                  experiment_id=exp_id, env={"MY_SWEEP_VAR": "s1", "PATH": path})
    return run_id, child


def _wait(child):
    while (ended := child.poll()) is None:
        time.sleep(0.05)
    return ended


@pytest.mark.parametrize("code, status", [(0, "FINISHED"), (3, "FAILED")])
def test_a_child_runs_in_its_run_with_the_sweeps_environment(sweep_store, tmp_path, code, status, capfd):
    project = code_project(tmp_path / "proj", TRAIN, "local")
    run_id, child = _start(sweep_store, project, code)
    assert isinstance(child, LocalChild)
    assert _wait(child) == (status, code, None)
    out, err = child.tails()
    assert out == [f"sweep s1 run {run_id}"]
    assert err == ["bye"]
    assert child.tags() == {} and child.describe() is None
    assert "MY_SWEEP_VAR" not in os.environ  # set only while the child was started


def test_environ_is_scoped(monkeypatch):
    monkeypatch.delenv("MY_SWEEP_VAR", raising=False)
    with environ({"MY_SWEEP_VAR": "x"}):
        assert os.environ["MY_SWEEP_VAR"] == "x"
    assert "MY_SWEEP_VAR" not in os.environ
