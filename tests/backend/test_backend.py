"""``mlflow run --backend sweep``: a real ``mlflow run`` of examples/sweep_project on a 2x2
grid against a sqlite store, then a resumed run; plus the config rules and the
``mlflow.projects.run`` path."""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

from mlflow_sweep_plugin.backend.config import (SweepConfigError, grid_points,
                                                             parse_backend_config)
from mlflow_sweep_plugin.testing import report_files
from sweep_test_helpers import mlflow_run

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "sweep_project"


# -- the backend config -------------------------------------------------------------------
def test_grid_is_the_cartesian_product_in_key_order():
    points = grid_points({"lr": [0.1, 0.5], "layers": [1, 2], "relu": [True]})
    assert points == [
        {"lr": "0.1", "layers": "1", "relu": "true"}, {"lr": "0.1", "layers": "2", "relu": "true"},
        {"lr": "0.5", "layers": "1", "relu": "true"}, {"lr": "0.5", "layers": "2", "relu": "true"},
    ]


@pytest.mark.parametrize("value, kind, text, problem", [
    (1, "float", "1.0", None), ("1", "float", "1.0", None), (0.5, "float", "0.5", None),
    ("1e-3", "float", "0.001", None), (True, "float", "true", "is a boolean"),
    ("abc", "float", "abc", "is not a number"), (2.0, "int", "2", None), ("3", "int", "3", None),
    (2.5, "int", "2.5", "is not a whole number"), (True, "string", "true", None),
    (1, "string", "1", None), ("s3://b/x", "uri", "s3://b/x", None),
])
def test_grid_values_take_the_declared_type(value, kind, text, problem):
    from mlflow_sweep_plugin.backend.config import typed_value

    assert typed_value(value, kind) == (text, problem)


def test_config_file_yaml_with_inline_keys_winning(tmp_path):
    f = tmp_path / "sweep.yaml"
    f.write_text("grid:\n  lr: [0.1, 0.01]\n  seed: 3\nmax_parallel: 2\nsweep_name: from-file\n")
    cfg = parse_backend_config({"config_file": str(f), "sweep_name": "inline",
                                "ENV_MANAGER": "local", "SYNCHRONOUS": False})
    assert cfg.grid == {"lr": [0.1, 0.01], "seed": [3]}
    assert (cfg.max_parallel, cfg.sweep_name, cfg.resume) == (2, "inline", False)
    assert cfg.extra == {"ENV_MANAGER": "local", "SYNCHRONOUS": False}
    assert len(cfg.points()) == 2


@pytest.mark.parametrize("config, message", [
    ({}, '"grid" must be a non-empty mapping'),
    ({"grid": {"lr": []}}, "'lr' has no values"),
    ({"grid": {"lr": [[1, 2]]}}, "'lr' has a value that is not a string"),
    ({"grid": {"lr": [1]}, "max_parallel": 0}, '"max_parallel" must be an integer >= 1'),
    ({"grid": {"lr": [1]}, "resume": "yes"}, '"resume" must be true or false'),
    ({"grid": {"lr": [1]}, "gird": 1}, "unknown backend config key(s) gird"),
    ({"config_file": "/nonexistent/sweep.yaml"}, "cannot be read"),
])
def test_bad_config_is_named(config, message):
    with pytest.raises(SweepConfigError) as info:
        parse_backend_config(config)
    assert message in str(info.value)


def test_bad_config_fails_before_any_run_is_made(sweep_store, tmp_path):
    from mlflow.exceptions import ExecutionException

    from mlflow_sweep_plugin.backend import SweepBackend

    exp = sweep_store.create_experiment("bad")
    with pytest.raises(ExecutionException, match="sweep backend config: .*max_parallel"):
        SweepBackend().run(str(PROJECT), "main", {}, None, {"grid": {"lr": [1]}, "max_parallel": -1},
                           sweep_store.tracking_uri, exp)
    # a required param given only by the grid is fine; a grid value MLflow refuses is
    # reported with its grid point before anything runs
    project = tmp_path / "proj"
    project.mkdir()
    (project / "MLproject").write_text(
        "name: p\nentry_points:\n  main:\n    parameters:\n      data: {type: uri}\n"
        "    command: \"python -c pass\"\n")
    with pytest.raises(ExecutionException, match="grid point 1 \\(data=not a uri\\).*Expected URI"):
        SweepBackend().run(str(project), "main", {}, None, {"grid": {"data": ["s3://b/x", "not a uri"]}},
                           sweep_store.tracking_uri, exp)
    assert sweep_store.client.search_runs([exp]) == []


# -- a real `mlflow run` ------------------------------------------------------------------
def _mlflow_run(store, config: dict, *params: str) -> subprocess.CompletedProcess:
    return mlflow_run(store, PROJECT, config, *params)


def _runs(client, exp_id):
    return client.search_runs([exp_id], max_results=1000)


def _table(client, run_id):
    import pandas as pd

    path = client.download_artifacts(run_id, "sweep_table.csv")
    return pd.read_csv(path)


@pytest.mark.slow  # real processes for a minute or more: CI's slow group
def test_mlflow_run_sweep_backend_grid_then_resume(sweep_store):
    client = sweep_store.client
    config = {"grid": {"lr": [0.1, 0.5], "layers": [1, 2]}, "max_parallel": 2,
              "sweep_name": "grid-test", "report": {"objective": "metrics.loss", "mode": "min"}}
    proc = _mlflow_run(sweep_store, config, "eval_run=1")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Sweep 'grid-test'" in proc.stderr and "1 of 4 grid points failed" in proc.stderr

    exp_id = client.get_experiment_by_name("grid").experiment_id
    runs = _runs(client, exp_id)
    parents = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"]
    evals = [r for r in runs if r.info.run_name == "eval"]
    assert len(parents) == 1 and len(children) == 4 and len(evals) == 3
    parent = parents[0]
    sweep_id = parent.data.tags["mlflow_sweep.sweep_id"]
    assert parent.info.status == "FAILED"
    assert parent.data.tags["mlflow_sweep.n_failed"] == "1"
    assert parent.data.tags["mlflow_sweep.n_children"] == "4"
    assert parent.data.tags["mlflow.project.backend"] == "sweep"

    by_point = {(c.data.params["lr"], c.data.params["layers"]): c for c in children}
    assert set(by_point) == {("0.1", "1"), ("0.1", "2"), ("0.5", "1"), ("0.5", "2")}
    for (lr, layers), child in by_point.items():
        tags = child.data.tags
        assert tags["mlflow.parentRunId"] == parent.info.run_id  # nested in the UI
        assert tags["mlflow_sweep.sweep_id"] == sweep_id
        assert tags["mlflow_sweep.sweep_name"] == "grid-test"
        assert child.data.params["eval_run"] == "1"  # -P merged under the grid values
        assert child.data.params["max_lr"] == "0.8"
        failing = (lr, layers) == ("0.5", "2")
        assert child.info.status == ("FAILED" if failing else "FINISHED")
        if not failing:  # flattened by the clustering parser after the child ended
            assert "layer_0.energy_contrast_ratio" in child.data.metrics
            assert ("layer_1.energy_contrast_ratio" in child.data.metrics) == (layers == "2")
    indexes = sorted(int(c.data.tags["mlflow_sweep.index"]) for c in children)
    assert indexes == [0, 1, 2, 3]
    assert all(c.data.tags["mlflow_sweep.role"] == "child" for c in children)  # resumed, not retagged
    assert by_point[("0.1", "1")].data.tags["mlflow_sweep.index"] == "0"

    # runs the job made itself carry the sweep tags (environment -> context provider)
    for ev in evals:
        parent_child = client.get_run(ev.data.tags["mlflow.parentRunId"])
        assert ev.data.tags["mlflow_sweep.sweep_id"] == sweep_id
        assert ev.data.tags["mlflow_sweep.index"] == parent_child.data.tags["mlflow_sweep.index"]
        assert ev.data.tags["mlflow_sweep.role"] == "job"  # not a child the sweep made

    table = _table(client, parent.info.run_id)
    assert set(table["run_id"]) == {c.info.run_id for c in children}  # children only
    assert len(table) == 1 + 2 + 1 + 1  # one row per layer; the failed run: one empty row

    # resume: the three finished points are skipped; the failed one runs again and,
    # with a larger max_lr, finishes
    proc = _mlflow_run(sweep_store, dict(config, resume=True), "max_lr=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 already finished (resume)" in proc.stderr
    runs = _runs(client, exp_id)
    children2 = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"]
    assert len(children2) == 5
    new = [c for c in children2 if c.info.run_id not in {x.info.run_id for x in children}]
    assert len(new) == 1 and new[0].info.status == "FINISHED"
    assert (new[0].data.params["lr"], new[0].data.params["layers"]) == ("0.5", "2")
    old_failed = client.get_run(by_point[("0.5", "2")].info.run_id)
    assert old_failed.data.tags["mlflow_sweep.superseded_by"] == new[0].info.run_id
    for key in (("0.1", "1"), ("0.1", "2"), ("0.5", "1")):  # untouched
        assert client.get_run(by_point[key].info.run_id).info.end_time == by_point[key].info.end_time
    parent2 = client.get_run(parent.info.run_id)  # the same parent, reopened and ended again
    assert [r.info.run_id for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"] == [parent.info.run_id]
    assert parent2.info.status == "FINISHED"
    assert parent2.data.tags["mlflow_sweep.n_skipped"] == "3"
    assert parent2.data.tags["mlflow_sweep.n_failed"] == "0"
    table = _table(client, parent.info.run_id)
    assert old_failed.info.run_id not in set(table["run_id"])
    assert len(table) == 1 + 2 + 1 + 2

    # the sweep's report on its parent: the best point as tags, its mean as a metric
    assert {"report.html", "summary.csv", "best.json"} <= report_files(client, parent.info.run_id)
    where = client.get_run(parent.info.run_id).data.tags["mlflow_sweep.report.path"]
    best = json.loads(open(client.download_artifacts(parent.info.run_id, f"{where}/best.json")).read())
    assert best["objective"] == "metrics.loss" and best["mode"] == "min"
    losses = {(c.data.params["lr"], c.data.params["layers"]): c.data.metrics["loss"]
              for c in _runs(client, exp_id) if c.data.tags.get("mlflow_sweep.role") == "child"
              and c.info.status == "FINISHED"}
    lowest = min(losses, key=losses.get)
    assert parent2.info.run_id == parent.info.run_id
    tags = client.get_run(parent.info.run_id).data.tags
    assert tags["mlflow_sweep.best.lr"] == lowest[0]
    assert client.get_run(parent.info.run_id).data.metrics  # the objective's mean is a parent metric


def test_projects_run_api_returns_a_submitted_run_to_wait_on(sweep_store):
    import mlflow

    exp = sweep_store.create_experiment("api")
    submitted = mlflow.projects.run(str(PROJECT), backend="sweep", experiment_id=exp,
                                    backend_config={"grid": {"lr": [0.2]}, "sweep_name": "api"},
                                    parameters={"layers": "1"}, env_manager="local",
                                    synchronous=False)
    assert submitted.wait() is True
    assert submitted.get_status() == "FINISHED"
    parent = sweep_store.client.get_run(submitted.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlflow_sweep.role"] == "parent"
    children = sweep_store.client.search_runs(
        [exp], "tags.`mlflow_sweep.role` = 'child'")
    assert [c.data.params["lr"] for c in children] == ["0.2"]
    assert children[0].data.metrics["layer_0.energy_contrast_ratio"] > 0
