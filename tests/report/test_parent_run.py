"""report_parent(): the sweep's report on its parent run (what the backend and the Hydra
callback call at the end of a sweep); a failure is one warning, never an exception."""

from __future__ import annotations

import warnings

import pytest

from mlflow_sweep_plugin.report.parent import report_parent
from mlflow_sweep_plugin.testing import artifact_paths, report_files
from mlflow_sweep_plugin.warning_types import SweepWarning

LOSS = {("a", 0): 0.50, ("a", 1): 0.61, ("b", 0): 0.30, ("b", 1): 0.36}


def sweep_like_the_backend(store, sweep_id="s1", experiment="sweep"):
    """A parent and its children, tagged as the sweep lifecycle (``sweep/lifecycle.py``) tags them."""
    from mlflow.entities import Metric, Param

    client = store.client
    exp = store.create_experiment(experiment)
    parent = client.create_run(exp, run_name="sweep", tags={
        "mlflow_sweep.sweep_id": sweep_id, "mlflow_sweep.role": "parent"}).info.run_id
    children = []
    for i, ((opt, seed), loss) in enumerate(LOSS.items()):
        rid = client.create_run(exp, run_name=f"{opt}-{seed}", tags={
            "mlflow_sweep.sweep_id": sweep_id, "mlflow_sweep.role": "child",
            "mlflow.parentRunId": parent, "mlflow_sweep.index": str(i)}).info.run_id
        client.log_batch(rid, params=[Param("opt", opt), Param("seed", str(seed))],
                         metrics=[Metric("loss", loss, 0, 0)])
        client.set_terminated(rid, "FINISHED")
        children.append(rid)
    # a failed child that a resumed sweep re-ran: superseded, never counted
    old = client.create_run(exp, run_name="b-1-old", tags={
        "mlflow_sweep.sweep_id": sweep_id, "mlflow_sweep.role": "child", "mlflow.parentRunId": parent,
        "mlflow_sweep.superseded_by": children[-1]}).info.run_id
    client.log_batch(old, params=[Param("opt", "b"), Param("seed", "1")], metrics=[Metric("loss", 0.01, 0, 0)])
    client.set_terminated(old, "FINISHED")
    # a run of another sweep in the same experiment
    other = client.create_run(exp, run_name="other", tags={
        "mlflow_sweep.sweep_id": "s2", "mlflow_sweep.role": "child"}).info.run_id
    client.log_batch(other, params=[Param("opt", "z"), Param("seed", "0")], metrics=[Metric("loss", 0.0, 0, 0)])
    client.set_terminated(other, "FINISHED")
    return exp, parent


def test_report_parent_logs_the_report_tags_and_metric(sweep_store):
    exp, parent = sweep_like_the_backend(sweep_store)
    client = sweep_store.client
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepWarning)  # a clean sweep reports without a warning
        report = report_parent(client, parent, exp, objective="metrics.loss", mode="min", max_plots=1)
    assert report is not None
    assert {"report.html", "summary.csv", "best.json"} <= report_files(client, parent)
    run = client.get_run(parent)
    assert run.data.tags["mlflow_sweep.best.opt"] == "b"
    assert run.data.metrics["mlflow_sweep.best.metrics.loss"] == pytest.approx((0.30 + 0.36) / 2)
    s = report.summary
    # the superseded retry is left out (by the export, or by its tag) and its 0.01 never counts
    assert s.counts["runs_used"] == 4 and s.counts["runs"] - s.counts["superseded"] == 4
    assert sorted(s.groups["opt"]) == ["a", "b"]  # not the other sweep's "z"
    assert run.info.status == "RUNNING"  # the sweep ends its parent itself


def test_without_an_objective_the_report_is_still_logged(sweep_store):
    exp, parent = sweep_like_the_backend(sweep_store)
    report = report_parent(sweep_store.client, parent, exp, max_plots=0)
    assert report is not None and report.best is None
    run = sweep_store.client.get_run(parent)
    assert not [t for t in run.data.tags if t.startswith("mlflow_sweep.best.")]
    assert "report.html" in report_files(sweep_store.client, parent)


def test_a_failure_is_one_warning_never_an_exception(sweep_store):
    exp, parent = sweep_like_the_backend(sweep_store)
    client = sweep_store.client
    with pytest.warns(SweepWarning) as caught:
        assert report_parent(client, parent, exp, objective="no_such_column") is None
    failures = [w for w in caught if "the sweep report could not be made" in str(w.message)]
    assert len(failures) == 1 and f"run {parent}" in str(failures[0].message)
    assert "no_such_column" in str(failures[0].message)
    lonely = client.create_run(exp, run_name="not-a-parent").info.run_id
    with pytest.warns(SweepWarning) as caught:
        assert report_parent(client, lonely, exp) is None
    told = [str(w.message) for w in caught if isinstance(w.message, SweepWarning)]
    assert len(told) == 1 and "is not a sweep parent" in told[0]
    assert artifact_paths(client, lonely) == []


def test_the_detached_report_leaves_the_parent_done_or_failed(sweep_store):
    from mlflow_sweep_plugin.report import detached

    exp, parent = sweep_like_the_backend(sweep_store)
    job = {"parent_run_id": parent, "experiment_id": exp, "sweep_id": "s1",
           "report": {"objective": "metrics.loss", "mode": "min", "max_plots": 0}}
    assert detached.run(job, sweep_store.tracking_uri) == detached.DONE
    tags = sweep_store.client.get_run(parent).data.tags
    assert tags["mlflow_sweep.report.state"] == "done" and tags["mlflow_sweep.best.opt"] == "b"
    with pytest.warns(SweepWarning):
        state = detached.run({**job, "report": {"objective": "no_such_column"}}, sweep_store.tracking_uri)
    assert state == detached.FAILED
    assert sweep_store.client.get_run(parent).data.tags["mlflow_sweep.report.state"] == "failed"
