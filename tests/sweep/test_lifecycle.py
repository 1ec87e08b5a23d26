"""mlflow_sweep_plugin.sweep.lifecycle: open and reopen the parent, create and supersede
children, finish with counts and the table — on a real sqlite store."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.sweep.identity import Sweep
from mlflow_sweep_plugin.sweep.lifecycle import SweepLifecycle
from mlflow_sweep_plugin.tags import (KIND_BACKEND, ROLE_CHILD, TABLE_ARTIFACT, TAG_N_CHILDREN, TAG_N_FAILED,
                                      TAG_N_SKIPPED, TAG_PARENT, TAG_ROLE, TAG_SUPERSEDED, TAG_SWEEP_ID,
                                      TAG_SWEEP_NAME)
from mlflow_sweep_plugin.testing import artifact_paths


@pytest.fixture
def lifecycle(sweep_store):
    exp_id = sweep_store.create_experiment("life")
    return SweepLifecycle(sweep_store.client, Sweep(name="grid", kind=KIND_BACKEND, experiment_id=exp_id))


def test_a_sweep_from_open_to_finish(lifecycle):
    client = lifecycle.client
    parent_id = lifecycle.open_parent({TAG_SWEEP_NAME: "grid"}, {"extra": "1"})
    parent = client.get_run(parent_id)
    assert parent.data.tags[TAG_SWEEP_ID] == lifecycle.sweep.sweep_id and parent.data.tags["extra"] == "1"
    assert parent.info.run_name == "grid"

    failed = lifecycle.create_child(0, "grid-0")
    client.set_terminated(failed.info.run_id, "FAILED")
    retry = lifecycle.create_child(0, "grid-0", supersedes=[failed.info.run_id])
    other = lifecycle.create_child(1, "grid-1", {"mine": "x"})
    for run in (retry, other):
        client.set_terminated(run.info.run_id, "FINISHED")
    assert client.get_run(failed.info.run_id).data.tags[TAG_SUPERSEDED] == retry.info.run_id
    tags = client.get_run(other.info.run_id).data.tags
    assert (tags[TAG_PARENT], tags[TAG_ROLE], tags["mine"]) == (parent_id, ROLE_CHILD, "x")
    assert [r.info.run_id for r in lifecycle.runs({TAG_ROLE: ROLE_CHILD})] == \
        [failed.info.run_id, retry.info.run_id, other.info.run_id]

    assert lifecycle.finish(n_children=2, n_failed=0, n_skipped=1) == "FINISHED"
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert {k: parent.data.tags[k] for k in (TAG_N_CHILDREN, TAG_N_FAILED, TAG_N_SKIPPED)} == \
        {TAG_N_CHILDREN: "2", TAG_N_FAILED: "0", TAG_N_SKIPPED: "1"}
    assert artifact_paths(client, parent_id) == [TABLE_ARTIFACT]
    table = open(client.download_artifacts(parent_id, TABLE_ARTIFACT)).read()
    assert retry.info.run_id in table and other.info.run_id in table
    assert failed.info.run_id not in table  # a superseded retry is left out


def test_reopening_reuses_the_parent_and_its_sweep_id(lifecycle):
    client = lifecycle.client
    first = lifecycle.open_parent({TAG_SWEEP_NAME: "grid"}, {})
    sweep_id = lifecycle.sweep.sweep_id
    assert lifecycle.finish(n_children=1, n_failed=1) == "FAILED"
    again = SweepLifecycle(client, Sweep(name="grid", kind=KIND_BACKEND,
                                         experiment_id=lifecycle.sweep.experiment_id))
    assert again.open_parent({TAG_SWEEP_NAME: "grid"}, {"resumed": "yes"}) == first
    assert again.sweep.sweep_id == sweep_id
    parent = client.get_run(first)
    assert parent.info.status == "RUNNING" and parent.data.tags["resumed"] == "yes"


def test_no_match_always_makes_a_new_parent(lifecycle):
    first = lifecycle.open_parent(None, {})
    assert lifecycle.open_parent(None, {}) != first
