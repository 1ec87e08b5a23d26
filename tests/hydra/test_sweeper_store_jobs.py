"""mlflow_sweep_plugin.hydra.sweeper_store (and the sweeper's grouping): the jobs the Hydra
sweeper finds and writes in the tracking store — on a real sqlite store."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.hydra.record import write_record
from mlflow_sweep_plugin.hydra.sweeper import groups
from mlflow_sweep_plugin.hydra.sweeper_store import NoCallback, SweeperStore, sweep_identity
from mlflow_sweep_plugin.search.engine import Proposal
from mlflow_sweep_plugin.tags import (ENV_PARENT_RUN_ID, ENV_SWEEP_ID, TAG_HYDRA_JOB, TAG_HYDRA_SWEEP_DIR,
                                      TAG_PARENT, TAG_PRUNED, TAG_ROLE, TAG_SEED, TAG_SUPERSEDED, TAG_TRIAL,
                                      ROLE_CHILD)


def _proposal(index, trial=0, seed=None, supersedes=None):
    return Proposal(index=index, trial=trial, seed=seed, config={}, params={}, supersedes=supersedes)


@pytest.fixture
def sweep(sweep_store, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_PARENT_RUN_ID, raising=False)
    monkeypatch.delenv(ENV_SWEEP_ID, raising=False)
    client = sweep_store.client
    exp_id = sweep_store.create_experiment("sweeper")
    parent = client.create_run(exp_id).info.run_id
    sweep_dir = str((tmp_path / "multirun").resolve())
    write_record(sweep_dir, {"tracking_uri": sweep_store.tracking_uri, "experiment_id": exp_id,
                             "parent_run_id": parent, "sweep_id": "s1", "sweep_name": "app"})
    children = []
    for job in ("0", "1", "1"):  # job 1 ran twice: the first try superseded below
        tags = {TAG_ROLE: ROLE_CHILD, TAG_PARENT: parent, TAG_HYDRA_SWEEP_DIR: sweep_dir, TAG_HYDRA_JOB: job}
        children.append(client.create_run(exp_id, tags=tags).info.run_id)
    return SweeperStore(sweep_identity(sweep_dir)), children


def test_the_identity_comes_from_the_callbacks_record(sweep, tmp_path):
    store, _ = sweep
    assert store.sweep_name == "app" and store.sweep_dir == str((tmp_path / "multirun").resolve())
    with pytest.raises(NoCallback, match="add the callback"):
        sweep_identity(str(tmp_path / "elsewhere"))


def test_children_by_job_number_without_superseded_tries(sweep):
    store, (job0, first1, second1) = sweep
    store.tag(store.client.get_run(second1), _proposal(1, trial=4, seed=7, supersedes=first1))
    store.tag(store.client.get_run(second1), _proposal(1, trial=9, seed=9))
    children = store.children()
    assert {k: r.info.run_id for k, r in children.items()} == {"0": job0, "1": second1}
    tags = store.client.get_run(second1).data.tags
    assert (tags[TAG_TRIAL], tags[TAG_SEED]) == ("4", "7")  # tagged once
    old = store.client.get_run(first1)
    assert old.data.tags[TAG_SUPERSEDED] == second1 and old.info.status == "KILLED"


def test_pruned_and_the_return_value(sweep):
    store, (job0, _, _) = sweep
    run = store.client.get_run(job0)
    store.mark_pruned(run, "step 2: loss=3")
    assert store.client.get_run(job0).data.tags[TAG_PRUNED] == "step 2: loss=3"
    points = store.log_value(job0, "loss", 0.5, [])
    assert store.log_value(job0, "loss", 0.5, points) == points  # already the last point
    assert [(s, v) for s, _, v in store.history(job0, "loss")] == [(0, 0.5)]


def test_groups_are_runs_of_consecutive_indexes():
    proposals = [_proposal(i) for i in (5, 0, 1, 3, 4, 7)]
    assert [[p.index for p in g] for g in groups(proposals)] == [[0, 1], [3, 4, 5], [7]]
