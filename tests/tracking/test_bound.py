"""mlflow_sweep_plugin.tracking.bound: the logging API bound to one run (through
ResultLogger, its simplest binding), on a real sqlite store."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.testing import artifact_paths
from mlflow_sweep_plugin.tracking.bound import BoundLogging
from mlflow_sweep_plugin.tracking.params import ParamChanged
from mlflow_sweep_plugin.tracking.results import ResultLogger


@pytest.fixture
def run_id(sweep_store):
    exp_id = sweep_store.create_experiment("bound")
    return sweep_store.client.create_run(exp_id).info.run_id


def test_everything_goes_to_the_bound_run(sweep_store, run_id, tmp_path):
    logger = ResultLogger(run_id)
    assert logger.log_params({"a b/c?": 1, "lr": 0.1}) == {"a b/c_-3F": "1", "lr": "0.1"}
    logger.log_metrics({"acc": {"top1": 0.5}}, prefix="eval", step=2)
    logger.set_tags({"stage": 3})
    files = tmp_path / "results"
    files.mkdir()
    (files / "r.json").write_text("{}")
    (files / "p.png").write_bytes(b"png")
    assert logger.log_artifacts_selectively(files, "out") == ["out/r.json"]
    data = sweep_store.client.get_run(run_id).data
    assert data.params == {"a b/c_-3F": "1", "lr": "0.1"}
    assert data.metrics == {"eval.acc.top1": 0.5}
    assert data.tags["stage"] == "3"
    assert artifact_paths(sweep_store.client, run_id) == ["out/r.json"]


def test_params_again_are_a_no_op_and_a_changed_one_logs_nothing(sweep_store, run_id):
    logger = ResultLogger(run_id)
    logger.log_params({"lr": 0.1})
    assert logger.log_params({"lr": 0.1}) == {}
    with pytest.raises(ParamChanged, match="lr"):
        logger.log_params({"lr": 0.2, "new": 1})
    assert sweep_store.client.get_run(run_id).data.params == {"lr": "0.1"}


def test_a_binding_must_say_its_target():
    with pytest.raises(NotImplementedError):
        BoundLogging().log_params({"a": 1})
