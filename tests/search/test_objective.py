"""Objectives over histories (the export's aggregates), seeds' means, pruners."""

import statistics

import optuna
import pytest

from mlflow_sweep_plugin.search.objective import better, run_value, step_values
from mlflow_sweep_plugin.search.pruning import make_pruner, pruned_text
from mlflow_sweep_plugin.search.seeds import config_value, step_means
from mlflow_sweep_plugin.search.spec import EarlyStop

POINTS = [(0, 10, 3.0), (1, 11, 1.0), (2, 12, 2.0), (2, 9, 9.0), (3, 13, float("nan"))]


@pytest.mark.parametrize("agg, expected", [("min", 1.0), ("max", 9.0), ("last", None),
                                           ("mean", statistics.fmean([3.0, 1.0, 2.0, 9.0]))])
def test_run_value_aggregates(agg, expected):
    assert run_value(POINTS, agg) == (pytest.approx(expected) if expected is not None else None)


def test_no_history_is_no_value():
    assert run_value([], "last") is None


def test_step_values_take_a_steps_last_point():
    assert step_values(POINTS) == {0: 3.0, 1: 1.0, 2: 2.0}


def test_seed_means():
    assert config_value([1.0, None, 3.0]) == 2.0
    assert config_value([None]) is None
    # the mean at a step is over the runs that reported it
    assert step_means([{0: 1.0, 1: 2.0}, {0: 3.0}]) == {0: 2.0, 1: 2.0}


def test_better():
    assert better(1.0, None, "min") and better(1.0, 2.0, "min") and not better(1.0, 2.0, "max")


@pytest.mark.parametrize("name, args, cls", [
    ("median", {"min_steps": 3}, optuna.pruners.MedianPruner),
    ("percentile", {"percentile": 25.0}, optuna.pruners.PercentilePruner),
    ("asha", {"min_resource": 1, "reduction_factor": 2}, optuna.pruners.SuccessiveHalvingPruner),
    ("hyperband", {"min_resource": 1, "max_resource": 9}, optuna.pruners.HyperbandPruner),
])
def test_pruners(name, args, cls):
    assert isinstance(make_pruner(EarlyStop(name, args)), cls)


def test_pruned_text():
    assert pruned_text(7, "val_loss", 1.934567) == "step 7: val_loss=1.93457"
