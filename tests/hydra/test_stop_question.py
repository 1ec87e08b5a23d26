"""mlflow_sweep_plugin.hydra.stop_question.should_stop: a task reports its objective and
learns whether the sweeper pruned it — on a real sqlite run."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.hydra.stop_question import should_stop
from mlflow_sweep_plugin.tags import ENV_RUN_ID, ENV_SWEEP_OBJECTIVE, TAG_PRUNED


@pytest.fixture
def job_run(sweep_store, monkeypatch):
    client = sweep_store.client
    run_id = client.create_run(sweep_store.create_experiment("pruning")).info.run_id
    monkeypatch.setenv(ENV_SWEEP_OBJECTIVE, "val_loss")
    monkeypatch.setenv(ENV_RUN_ID, run_id)
    return client, run_id


def test_each_point_is_logged_once_and_the_answer_follows_the_pruned_tag(job_run):
    client, run_id = job_run
    assert should_stop(0, 1.5) is False
    assert should_stop(0, 1.5) is False  # asked again: not logged twice
    assert should_stop(1, 1.2) is False
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "val_loss")] == [(0, 1.5), (1, 1.2)]
    client.set_tag(run_id, TAG_PRUNED, "step 1: val_loss=1.2")
    assert should_stop(2, 1.1) is True


def test_outside_a_sweepers_job_nothing_is_logged(job_run, monkeypatch):
    client, run_id = job_run
    monkeypatch.delenv(ENV_SWEEP_OBJECTIVE)
    assert should_stop(0, 1.0) is False
    assert client.get_metric_history(run_id, "val_loss") == []
