"""mlflow_sweep_plugin.backend.plan: the search space as the entry point types it (with a
warning for what does not fit), the configurations checked before anything runs, and each
proposed run's params."""

from __future__ import annotations

import pytest
from mlflow.exceptions import ExecutionException
from mlflow.projects._project_spec import load_project

from mlflow_sweep_plugin.backend.plan import (declared_types, logged_params, run_name, run_params, samples,
                                              typed_spec)
from mlflow_sweep_plugin.search.engine import Proposal
from mlflow_sweep_plugin.search.spec import parse_search
from mlflow_sweep_plugin.warning_types import SweepWarning
from sweep_test_helpers import write_project

MLPROJECT = """name: planned
entry_points:
  main:
    parameters:
      lr: float
      depth: {type: int, default: 2}
      tag: {type: string, default: a}
    command: "python train.py --lr {lr} --depth {depth}"
"""
SEARCH = {"strategy": "random", "space": {"lr": {"low": 0.001, "high": 0.1, "log": True}, "depth": [2, 4]},
          "max_trials": 3, "objective": {"metric": "loss", "mode": "min"}}


@pytest.fixture
def entry(tmp_path):
    return load_project(str(write_project(tmp_path / "proj", MLPROJECT, ""))).get_entry_point("main")


def test_grid_values_are_typed_as_declared(entry):
    spec = typed_spec(parse_search({"grid": {"lr": [1, 0.5], "depth": ["3"]}}), entry, "main")
    assert spec.space["lr"].choices == ("1.0", "0.5") and spec.space["depth"].choices == ("3",)
    assert samples(spec) == [{"lr": "1.0", "depth": "3"}, {"lr": "0.5", "depth": "3"}]
    assert declared_types(entry) == {"lr": "float", "depth": "int", "tag": "string"}
    assert declared_types(None) == {}


def test_undeclared_keys_and_values_that_do_not_fit_are_warned_about(entry):
    with pytest.warns(SweepWarning) as seen:
        spec = typed_spec(parse_search({"grid": {"lr": ["fast", 0.1], "depth": [2.5], "epochs": [3]}}),
                          entry, "main")
    assert spec.space["lr"].choices == ("fast", "0.1")  # kept as written
    messages = [str(w.message) for w in seen]
    assert any("grid key 'epochs' is not a parameter of entry point 'main'" in m and "--epochs VALUE" in m
               for m in messages)
    assert any("'fast' of 'lr' is not a number" in m for m in messages)
    assert any("2.5 of 'depth' is not a whole number" in m for m in messages)
    spec = parse_search({"grid": {"x": [1]}})
    assert typed_spec(spec, None, "train.py") is spec


def test_a_search_space_is_checked_at_its_ends(entry):
    spec = typed_spec(parse_search(SEARCH), entry, "main")
    assert samples(spec) == [{"lr": 0.001, "depth": "2"}, {"lr": 0.1, "depth": "4"}]


def test_a_proposed_runs_params_as_p_texts():
    proposal = Proposal(index=0, trial=0, seed=None, config={"lr": 1, "depth": 2.0, "opt": "adam"},
                        params={"lr": "1", "depth": "2.0", "opt": "adam"})
    params = run_params(proposal, {"lr": "float", "depth": "int"})
    assert params == {"lr": "1.0", "depth": "2", "opt": "adam"}
    assert run_name(params) == "lr=1.0,depth=2,opt=adam"


def test_what_the_entry_point_refuses_is_named(entry):
    assert logged_params(entry, {"lr": "0.1"}, "grid point 0") == {"lr": "0.1", "depth": "2", "tag": "a"}
    with pytest.raises(ExecutionException, match=r"sweep grid point 3 \(depth=3\)"):
        logged_params(entry, {"depth": "3"}, "grid point 3 (depth=3)")  # lr is required
    assert logged_params(None, {"x": "1"}, "space") == {}
