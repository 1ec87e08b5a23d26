"""mlflow_sweep_plugin.backend.project: the ``sweep`` backend MLflow loads — what it
refuses before any run is made, and how it names a sweep."""

from __future__ import annotations

import pytest
from mlflow.exceptions import ExecutionException
from mlflow.projects._project_spec import load_project
from mlflow.utils.mlflow_tags import MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_SOURCE_NAME, MLFLOW_SOURCE_TYPE

from mlflow_sweep_plugin.backend.project import (SweepBackend, _called_from_mlflow_run_command,
                                                 default_sweep_name, source_tags)
from sweep_test_helpers import write_project

MLPROJECT = """name: named
entry_points:
  main:
    parameters:
      lr: float
    command: "python train.py {lr}"
"""


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path / "proj", MLPROJECT, "")


@pytest.mark.parametrize("config, match", [
    ({}, "sweep backend config"),
    ({"grid": {"lr": [0.1]}, "executor": "cloud"}, "sweep backend config"),
    ({"grid": {"lr": [0.1]}, "executor": "submitit", "submitit": {"time": "soon"}}, "sweep backend config: time"),
    ({"grid": {"depth": [2]}}, "lr"),  # a required parameter given by no one
])
def test_a_refused_config_makes_no_run(sweep_store, project, config, match):
    exp_id = sweep_store.create_experiment("refused")
    with pytest.raises(ExecutionException, match=match):
        SweepBackend.prepare(str(project), "main", {}, None, config, sweep_store.tracking_uri, exp_id)
    assert sweep_store.client.search_runs([exp_id]) == []


def test_default_sweep_name(project):
    assert default_sweep_name(load_project(str(project)), str(project), "main") == "named:main"
    assert default_sweep_name(None, "/work/projects/cnn/#sub", "train") == "cnn:train"
    assert default_sweep_name(None, "/", "train") == "project:train"


def test_source_tags_say_where_the_sweep_came_from(project):
    tags = source_tags("https://github.com/o/r", str(project), "main")
    assert tags[MLFLOW_SOURCE_NAME] == "https://github.com/o/r"
    assert tags[MLFLOW_SOURCE_TYPE] == "PROJECT" and tags[MLFLOW_PROJECT_ENTRY_POINT] == "main"


def test_outside_the_mlflow_run_command_the_caller_waits():
    assert _called_from_mlflow_run_command() is False
