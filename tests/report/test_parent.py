"""log_report(): a second report logged on a run replaces the first (artifacts and tags),
and two logged at once never mix (issue 23, item 6); real sqlite store."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from mlflow_sweep_plugin.report.build import ReportOptions, build_report
from mlflow_sweep_plugin.report.parent import log_report
from mlflow_sweep_plugin.testing import artifact_paths, report_files

PATH_TAG = "mlflow_sweep.report.path"


def table(factor: str) -> pd.DataFrame:
    rows = []
    for i, (level, seed, loss, acc) in enumerate([("x", 0, 0.5, 0.7), ("x", 1, 0.6, 0.8),
                                                  ("y", 0, 0.3, 0.6), ("y", 1, 0.35, 0.65)]):
        rows.append({"run_id": f"r{i}", "status": "FINISHED", factor: level, "seed": seed,
                     "metrics.loss": loss, "metrics.acc": acc})
    return pd.DataFrame(rows)


def report_tags(tags: dict) -> dict:
    return {k: v for k, v in tags.items() if k.startswith(("mlflow_sweep.report.", "mlflow_sweep.best."))}


@pytest.fixture
def run(sweep_store):
    exp = sweep_store.create_experiment("holder")
    run_id = sweep_store.client.create_run(exp, tags={"mine": "kept"}).info.run_id
    sweep_store.client.log_artifact(run_id, __file__, "report")  # a file of the user's under report/
    return run_id


def test_a_second_report_replaces_the_first_files_and_tags(run, sweep_store, tmp_path):
    client = sweep_store.client
    a = build_report(table("lr"), str(tmp_path / "a"), ReportOptions(objective="metrics.loss", max_plots=2))
    log_report(a, run, client=client)
    first = client.get_run(run).data.tags
    assert first["mlflow_sweep.best.lr"] == "y" and first["mlflow_sweep.report.objective"] == "metrics.loss"
    b = build_report(table("opt"), str(tmp_path / "b"), ReportOptions(max_plots=0))  # no objective
    where = log_report(b, run, client=client)
    tags = client.get_run(run).data.tags
    assert report_tags(tags) == {PATH_TAG: where}  # A's best.lr, objective, mode, n_tied: gone
    assert tags["mine"] == "kept"
    assert report_files(client, run) == set(b.written)
    # A's files are deleted (a local store can), the user's own file under report/ is not
    assert set(artifact_paths(client, run)) == {f"{where}/{f}" for f in b.written} | {"report/test_parent.py"}


def test_the_sweeps_report_state_is_never_deleted_by_a_report(run, sweep_store, tmp_path):
    """``mlflow_sweep.report.state`` belongs to the sweep that asked for the report: while
    the report is logged it stays ``pending`` (a reader waiting for ``done`` never sees it
    vanish), whatever earlier report tags are replaced."""
    client = sweep_store.client
    client.set_tag(run, "mlflow_sweep.report.state", "pending")
    client.set_tag(run, "mlflow_sweep.report.n_tied", "7")  # an earlier report's: replaced
    b = build_report(table("opt"), str(tmp_path / "b"), ReportOptions(max_plots=0))
    log_report(b, run, client=client)
    tags = client.get_run(run).data.tags
    assert tags["mlflow_sweep.report.state"] == "pending"
    assert "mlflow_sweep.report.n_tied" not in tags


def test_two_reports_at_once_never_mix(run, sweep_store, tmp_path):
    client = sweep_store.client
    reports = [build_report(table(f), str(tmp_path / f), ReportOptions(objective=obj, max_plots=1))
               for f, obj in (("lr", "metrics.loss"), ("opt", "metrics.acc"))]
    errors = []
    barrier = threading.Barrier(2)

    def log(rep):
        try:
            barrier.wait()
            log_report(rep, run, client=client)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=log, args=(r,)) for r in reports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    tags = report_tags(client.get_run(run).data.tags)
    where = tags[PATH_TAG]
    (winner,) = [r for r in reports if r.best.objective == tags["mlflow_sweep.report.objective"]]
    expected = {PATH_TAG: where, "mlflow_sweep.report.objective": winner.best.objective,
                "mlflow_sweep.report.mode": "min", "mlflow_sweep.report.n_tied": str(len(winner.best.tied))}
    expected.update({f"mlflow_sweep.best.{k}": str(v) for k, v in winner.best.best["group"].items()})
    assert tags == expected  # one report's tags, whole; none of the other's
    assert report_files(client, run) == set(winner.written)
    loser = next(r for r in reports if r is not winner)
    assert set(loser.written) - set(winner.written)  # the two reports' plots differ
    assert not (set(loser.written) - set(winner.written)) & report_files(client, run)


def test_an_unknown_run_is_a_usage_error_and_uploads_nothing(sweep_store, tmp_path):
    from mlflow_sweep_plugin.errors import UsageError

    rep = build_report(table("lr"), str(tmp_path / "a"), ReportOptions(max_plots=0))
    with pytest.raises(UsageError, match="no run 'deadbeef'"):
        log_report(rep, "deadbeef", client=sweep_store.client)
