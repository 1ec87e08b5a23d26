"""A fast MLflow project for the backend's tests, and the backend config MLflow's local
backend expects (what ``mlflow run`` puts into it)."""

from __future__ import annotations

import pathlib

from mlflow.projects.utils import (MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG, PROJECT_BUILD_IMAGE,
                                   PROJECT_DOCKER_ARGS, PROJECT_DOCKER_AUTH, PROJECT_ENV_MANAGER,
                                   PROJECT_STORAGE_DIR, PROJECT_SYNCHRONOUS)

from sweep_test_helpers import write_project

#: one entry point, ``python train.py {code}``: the test's ``train.py`` decides what it does
#: (none imports mlflow, so a child is a plain, fast process)
MLPROJECT = """name: {name}
entry_points:
  main:
    parameters:
      code: {{type: int, default: 0}}
    command: "python train.py {{code}}"
"""


def code_project(root: pathlib.Path, train: str, name: str = "fast") -> pathlib.Path:
    """The project at ``root`` with ``train`` as its ``train.py``."""
    return write_project(root, MLPROJECT.format(name=name), train)


def local_backend_config(run_id: str | None = None, synchronous: bool = True) -> dict:
    """MLflow's own keys of a local backend config (``--env-manager local``), naming the
    run to use when ``run_id`` is given."""
    config = {PROJECT_ENV_MANAGER: "local", PROJECT_SYNCHRONOUS: synchronous, PROJECT_DOCKER_ARGS: None,
              PROJECT_STORAGE_DIR: None, PROJECT_BUILD_IMAGE: False, PROJECT_DOCKER_AUTH: None}
    if run_id is not None:
        config[MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG] = run_id
    return config
