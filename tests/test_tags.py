"""mlflow_sweep_plugin.tags: every name we write or read, once, and the run context
provider reading its environment variable names from here."""

from __future__ import annotations

import ast
import pathlib

import mlflow.environment_variables as mlflow_env
import pytest

from mlflow_sweep_plugin import tags
from mlflow_sweep_plugin.mlflow_hooks.context import SweepRunContextProvider, sweep_tags


def _names(prefix):
    return {k: v for k, v in vars(tags).items() if k.startswith(prefix) and isinstance(v, str)}


@pytest.mark.parametrize("prefix", ["TAG_", "ENV_"])
def test_no_two_names_share_a_value(prefix):
    names = _names(prefix)
    by_value = {}
    for name, value in names.items():
        by_value.setdefault(value, []).append(name)
    assert {v: n for v, n in by_value.items() if len(n) > 1} == {}
    assert len(names) > 5


def test_our_tags_are_namespaced_and_mlflows_are_mlflows():
    for name, value in _names("TAG_").items():
        assert value.startswith(("mlflow_sweep.", "mlflow.")), name
    assert tags.TAG_PARENT == "mlflow.parentRunId" and tags.TAG_RUN_NAME == "mlflow.runName"


def test_each_environment_variable_is_ours_or_one_mlflow_defines():
    mlflows = {v.name for v in vars(mlflow_env).values()
               if isinstance(getattr(v, "name", None), str) and callable(getattr(v, "get", None))}
    names = set(_names("ENV_").values())
    ours = {v for v in names if v.startswith("MLFLOW_SWEEP_")}
    assert ours and names - ours <= mlflows
    assert tags.ENV_TRACKING_URI in mlflows and not ours & mlflows


def test_best_key():
    assert tags.best_key("lr") == "mlflow_sweep.best.lr"
    assert tags.best_key("lr").startswith(tags.TAG_BEST_PREFIX)


def test_the_module_imports_nothing():
    # MLflow loads the run context provider, which reads these names, on every import mlflow
    tree = ast.parse(pathlib.Path(tags.__file__).read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [getattr(n, "module", None) for n in imports] == ["__future__"]


def test_the_run_context_provider_reads_the_environment_names_from_here(monkeypatch):
    environ = {tags.ENV_SWEEP_ID: "s1", tags.ENV_SWEEP_INDEX: "3", tags.ENV_SWEEP_NAME: "grid",
               tags.ENV_PARENT_RUN_ID: "p0"}
    assert sweep_tags(environ) == {tags.TAG_SWEEP_ID: "s1", tags.TAG_SWEEP_INDEX: "3",
                                   tags.TAG_SWEEP_NAME: "grid", tags.TAG_PARENT: "p0"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    provider = SweepRunContextProvider()
    assert provider.in_context()
    assert provider.tags()[tags.TAG_ROLE] == tags.ROLE_JOB
    monkeypatch.delenv(tags.ENV_SWEEP_ID)
    assert not provider.in_context()
