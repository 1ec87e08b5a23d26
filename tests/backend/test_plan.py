"""mlflow_sweep_plugin.backend.plan: the grid's children (typed, checked, warned about),
and a resumed sweep's indexes and skips, from real runs of a sqlite store."""

from __future__ import annotations

import pytest
from mlflow.exceptions import ExecutionException
from mlflow.projects._project_spec import load_project

from mlflow_sweep_plugin.backend.plan import Child, checked_grid, plan_children, resume_plan, run_name
from mlflow_sweep_plugin.sweep.identity import point_key
from mlflow_sweep_plugin.tags import TAG_POINT, TAG_SUPERSEDED, TAG_SWEEP_ID, TAG_SWEEP_INDEX
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


@pytest.fixture
def project(tmp_path):
    return load_project(str(write_project(tmp_path / "proj", MLPROJECT, "")))


def test_children_in_grid_order_with_typed_params(project):
    children = plan_children(project, "main", {"tag": "b"}, {"lr": [1, 0.5], "depth": ["3"]})
    assert [c.index for c in children] == [0, 1]
    assert [c.point for c in children] == [{"lr": "1.0", "depth": "3"}, {"lr": "0.5", "depth": "3"}]
    assert children[0].params == {"tag": "b", "lr": "1.0", "depth": "3"}
    assert children[0].logged_params == {"lr": "1.0", "depth": "3", "tag": "b"}
    assert children[0].name == run_name(children[0].point) == "lr=1.0,depth=3"
    assert children[0].key == point_key({"lr": "1.0", "depth": "3"})


def test_checked_grid_warns_about_undeclared_keys_and_values_that_do_not_fit(project):
    entry = project.get_entry_point("main")
    with pytest.warns(SweepWarning) as seen:
        grid = checked_grid({"lr": ["fast", 0.1], "depth": [2.5], "epochs": [3]}, entry, "main")
    assert grid == {"lr": ["fast", "0.1"], "depth": ["2.5"], "epochs": ["3"]}
    messages = sorted(str(w.message) for w in seen)
    assert any("'epochs' is not a parameter of entry point 'main'" in m and "--epochs VALUE" in m
               for m in messages)
    assert any("'fast' of 'lr' is not a number" in m for m in messages)
    assert any("2.5 of 'depth' is not a whole number" in m for m in messages)
    assert checked_grid({"x": [1]}, None, "main") == {"x": [1]}


def test_a_point_the_entry_point_refuses_is_named(project):
    with pytest.raises(ExecutionException, match=r"sweep grid point 0 \(depth=3\)"):
        plan_children(project, "main", {}, {"depth": [3]})  # lr is required


def _children(*points):
    return [Child(i, p, dict(p)) for i, p in enumerate(points)]


def test_resume_keeps_indexes_skips_finished_points_and_supersedes_failed_ones(make_sweep, sweep_store):
    a, b, c = {"x": "1"}, {"x": "2"}, {"x": "3"}

    def run(point, index, status, sweep_id="s1", **tags):
        return {"status": status, "tags": {TAG_POINT: point_key(point), TAG_SWEEP_INDEX: str(index),
                                           TAG_SWEEP_ID: sweep_id, **tags}}

    sweep = make_sweep([run(b, 0, "FINISHED"), run(a, 1, "FAILED"),
                        run(a, 5, "FAILED", **{TAG_SUPERSEDED: "z"}),
                        run({"x": "9"}, 9, "FINISHED", sweep_id="other")])
    runs = [sweep_store.client.get_run(r) for r in sweep.run_ids]
    children = _children(a, b, c)  # the grid reordered and grown
    todo, skipped = resume_plan(children, runs, "s1")
    assert [(ch.point, ch.index) for ch in todo] == [(a, 1), (c, 6)]  # c: after the highest (5) this sweep used
    assert [(ch.point, ch.index, ch.status, ch.run_id) for ch in skipped] == [(b, 0, "FINISHED", sweep.run_ids[0])]
    assert todo[0].supersedes == [sweep.run_ids[1]]  # not the already superseded one
    assert todo[1].supersedes == []
