"""mlflow_sweep_plugin.sweep.identity: what a sweep's parent, children and jobs share."""

from __future__ import annotations

import json

from mlflow_sweep_plugin.mlflow_hooks.context import sweep_tags
from mlflow_sweep_plugin.sweep.identity import Sweep, new_sweep_id, point_key, start_order, study_key
from mlflow_sweep_plugin.tags import (KIND_HYDRA, ROLE_CHILD, ROLE_PARENT, TAG_KIND, TAG_PARENT, TAG_ROLE,
                                      TAG_RUN_NAME, TAG_SWEEP_ID, TAG_SWEEP_INDEX, TAG_SWEEP_NAME)


def test_point_key_is_the_same_whatever_the_order():
    assert point_key({"b": 2, "a": 0.1}) == point_key({"a": "0.1", "b": "2"})
    assert json.loads(point_key({"a": 1})) == {"a": "1"}
    assert point_key({"a": 1}) != point_key({"a": 2})


def test_sweep_ids_are_unique_hex():
    ids = {new_sweep_id() for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def _sweep(name="grid"):
    return Sweep(name=name, kind=KIND_HYDRA, experiment_id="1", sweep_id="s1", parent_run_id="p1")


def test_parent_and_child_tags():
    sweep = _sweep()
    assert sweep.parent_tags() == {TAG_SWEEP_ID: "s1", TAG_SWEEP_NAME: "grid", TAG_ROLE: ROLE_PARENT,
                                   TAG_KIND: KIND_HYDRA, TAG_RUN_NAME: "grid"}
    child = sweep.child_tags(3, "grid-3")
    assert child == {TAG_SWEEP_ID: "s1", TAG_PARENT: "p1", TAG_ROLE: ROLE_CHILD, TAG_KIND: KIND_HYDRA,
                     TAG_RUN_NAME: "grid-3", TAG_SWEEP_INDEX: "3", TAG_SWEEP_NAME: "grid"}
    assert TAG_SWEEP_INDEX not in sweep.child_tags(None, "x")
    assert TAG_SWEEP_NAME not in _sweep(name="").child_tags(0, "x")


def test_the_jobs_environment_gives_their_runs_the_childs_sweep_tags():
    sweep = _sweep()
    env = sweep.env(index=3)
    child = sweep.child_tags(3, "grid-3")
    assert sweep_tags(env) == {k: child[k] for k in (TAG_SWEEP_ID, TAG_SWEEP_INDEX, TAG_SWEEP_NAME)} \
        | {TAG_PARENT: "p1"}


def test_a_parents_study_and_the_order_of_sessions(sweep_store):
    """``study_key``: the parent's ``mlflow_sweep.study`` else its own id; ``start_order``:
    by start time, ties by run id (what the sweeper and ``status`` both use)."""
    client = sweep_store.client
    exp = sweep_store.create_experiment("studies")
    first = client.create_run(exp, start_time=1000).info.run_id
    second = client.create_run(exp, start_time=2000, tags={"mlflow_sweep.study": first}).info.run_id
    runs = [client.get_run(second), client.get_run(first)]
    assert [study_key(r) for r in runs] == [first, first]
    assert [r.info.run_id for r in sorted(runs, key=start_order)] == [first, second]
