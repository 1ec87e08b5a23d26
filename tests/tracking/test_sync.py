"""``mlflow-sweep sync`` completes only the run its spool started and uploads only the
spool's own files (issue 23, items 2 and 3); real sqlite store, spools as jobs write them."""

from __future__ import annotations

import json
import os

import pytest

from mlflow_sweep_plugin.tracking.spool import Spool
from mlflow_sweep_plugin.testing import artifact_paths


def run_state(client, run_id) -> dict:
    run = client.get_run(run_id)
    history = {k: [(m.value, m.step, m.timestamp) for m in client.get_metric_history(run_id, k)]
               for k in run.data.metrics}
    return {"status": run.info.status, "end_time": run.info.end_time, "params": run.data.params,
            "tags": run.data.tags, "metrics": history, "artifacts": artifact_paths(client, run_id)}


@pytest.fixture
def spool_dir(tmp_path):
    return tmp_path / "spool"


def write_spool(spool_dir, meta: dict, events=()) -> Spool:
    spool = Spool.create(spool_dir, meta)
    spool.log_batch(params={"p": "1"}, metrics=[("m", 1.0, 1000, 0)], tags={"t": "x"})
    for e in events:
        spool._append(e)
    spool.end("FAILED", 1234)
    return spool


def sync(sweep_cli, spool_dir, sweep_store):
    return sweep_cli("sync", "--spool-dir", str(spool_dir), "--tracking-uri", sweep_store.tracking_uri)


def foreign_run(sweep_store, experiment="theirs", status="FINISHED"):
    client = sweep_store.client
    exp = sweep_store.create_experiment(experiment)
    run_id = client.create_run(exp, tags={"owner": "someone else"}).info.run_id
    client.log_param(run_id, "theirs", "v")
    if status != "RUNNING":
        client.set_terminated(run_id, status)
    return exp, run_id


def assert_refused(res, run_id, spool):
    assert res.exit_code == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert f"run {run_id}" in res.stderr and "nothing synced" in res.stderr
    assert "0 synced" in res.stderr and "1 failed" in res.stderr
    assert spool.path.is_dir()  # the spool is kept


def test_a_finished_run_of_another_experiment_is_refused_and_untouched(sweep_cli, sweep_store, spool_dir):
    _, victim = foreign_run(sweep_store)
    mine = sweep_store.create_experiment("mine")
    before = run_state(sweep_store.client, victim)
    spool = write_spool(spool_dir, {"run_id": victim, "experiment_id": mine})
    res = sync(sweep_cli, spool_dir, sweep_store)
    assert_refused(res, victim, spool)
    assert "not the spool's" in res.stderr
    assert run_state(sweep_store.client, victim) == before


def test_a_run_that_ended_elsewhere_is_refused_even_in_the_same_experiment(sweep_cli, sweep_store,
                                                                           spool_dir):
    exp, victim = foreign_run(sweep_store, "same")
    before = run_state(sweep_store.client, victim)
    spool = write_spool(spool_dir, {"run_id": victim, "experiment_id": exp})  # a legacy spool: no start time
    res = sync(sweep_cli, spool_dir, sweep_store)
    assert_refused(res, victim, spool)
    assert "already ended elsewhere (FINISHED)" in res.stderr
    assert run_state(sweep_store.client, victim) == before


def test_a_running_run_that_is_not_the_spools_is_refused(sweep_cli, sweep_store, spool_dir):
    exp, victim = foreign_run(sweep_store, "same", status="RUNNING")
    start = sweep_store.client.get_run(victim).info.start_time
    before = run_state(sweep_store.client, victim)
    spool = write_spool(spool_dir, {"run_id": victim, "experiment_id": exp, "run_start_time": start - 5})
    res = sync(sweep_cli, spool_dir, sweep_store)
    assert_refused(res, victim, spool)
    assert run_state(sweep_store.client, victim) == before
    # a run another spool created (its identity tag) is refused the same way
    sweep_store.client.set_tag(victim, "mlflow_sweep.spool_id", "another-spool")
    before = run_state(sweep_store.client, victim)
    spool.update_meta(run_start_time=start)
    res = sync(sweep_cli, spool_dir, sweep_store)
    assert_refused(res, victim, spool)
    assert "belongs to spool another-spool" in res.stderr
    assert run_state(sweep_store.client, victim) == before


def test_the_spools_own_run_is_completed(sweep_cli, sweep_store, spool_dir):
    exp = sweep_store.create_experiment("mine")
    run = sweep_store.client.create_run(exp)
    spool = write_spool(spool_dir, {"run_id": run.info.run_id, "experiment_id": exp,
                                    "run_start_time": run.info.start_time})
    res = sync(sweep_cli, spool_dir, sweep_store)
    assert res.exit_code == 0, res.stderr
    state = run_state(sweep_store.client, run.info.run_id)
    assert (state["status"], state["end_time"], state["params"]) == ("FAILED", 1234, {"p": "1"})
    assert not spool.path.exists()  # moved to .synced


def hostile_events(spool_dir, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("not the spool's")
    return outside, [
        {"op": "artifact", "file": "../../../../../../../../etc/hostname", "artifact_path": "stolen"},
        {"op": "artifact", "file": "/etc/passwd", "artifact_path": "stolen"},
        {"op": "artifact", "file": "artifacts/link/outside.txt", "artifact_path": "stolen"},
        {"op": "artifact", "file": "run.json", "artifact_path": "stolen"},
        {"op": "artifact", "file": "artifacts/000001/ok.txt", "artifact_path": "../../escape"},
        {"op": "artifact", "file": "artifacts/000001/ok.txt", "artifact_path": "kept"},
    ]


def test_only_files_inside_the_spools_artifacts_are_uploaded(sweep_cli, sweep_store, spool_dir, tmp_path):
    exp = sweep_store.create_experiment("mine")
    spool = Spool.create(spool_dir, {"experiment_id": exp})
    (spool.path / "artifacts" / "000001").mkdir()
    (spool.path / "artifacts" / "000001" / "ok.txt").write_text("mine")
    outside, events = hostile_events(spool_dir, tmp_path)
    os.symlink(tmp_path, spool.path / "artifacts" / "link")
    for e in events:
        spool._append(e)
    spool.end("FINISHED", 99)
    res = sync(sweep_cli, spool_dir, sweep_store)
    assert res.exit_code == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 5, res.stderr  # one per event skipped
    assert all("skipped" in w for w in warnings)
    (run,) = sweep_store.client.search_runs([exp])
    assert artifact_paths(sweep_store.client, run.info.run_id) == ["kept/ok.txt"]
    assert outside.read_text() == "not the spool's"
    assert json.loads((spool_dir / ".synced" / spool.spool_id / "sync.json").read_text())["applied"] == 7


# -- the library functions behind the command -----------------------------------------------
def test_sync_spool_completes_the_spools_own_run(sweep_store, spool_dir):
    from mlflow_sweep_plugin.tracking.sync import sync_spool

    exp = sweep_store.create_experiment("library")
    run = sweep_store.client.create_run(exp)
    spool = write_spool(spool_dir, {"run_id": run.info.run_id, "experiment_id": exp,
                                    "run_start_time": run.info.start_time})
    (result,) = sync_spool(spool_dir, sweep_store.tracking_uri)
    assert result.spool_id == spool.spool_id and result.run_id == run.info.run_id
    state = run_state(sweep_store.client, run.info.run_id)
    assert (state["status"], state["params"]) == ("FAILED", {"p": "1"})


def test_check_run_refuses_another_experiments_run_and_names_it(sweep_store, spool_dir):
    from mlflow_sweep_plugin.tracking.spool_checks import ForeignRun, check_run

    mine = sweep_store.create_experiment("mine")
    _, theirs = foreign_run(sweep_store)
    spool = Spool.create(spool_dir, {"run_id": theirs, "experiment_id": mine})
    with pytest.raises(ForeignRun, match=f"run {theirs} is in experiment .* nothing synced"):
        check_run(sweep_store.client, spool, theirs, [])
    own = sweep_store.client.create_run(mine)
    check_run(sweep_store.client, Spool.create(spool_dir, {"run_id": own.info.run_id, "experiment_id": mine,
                                                          "run_start_time": own.info.start_time}),
              own.info.run_id, [])  # the spool's own RUNNING run passes


def test_artifact_file_keeps_only_files_inside_the_spools_artifacts(spool_dir, tmp_path):
    from mlflow_sweep_plugin.tracking.spool_checks import artifact_file
    from mlflow_sweep_plugin.warning_types import SweepWarning

    spool = Spool.create(spool_dir, {"experiment_id": "0"})
    (spool.path / "artifacts" / "000001").mkdir(parents=True, exist_ok=True)
    (spool.path / "artifacts" / "000001" / "ok.txt").write_text("mine")
    path, where = artifact_file(spool, {"file": "artifacts/000001/ok.txt", "artifact_path": "kept"})
    assert path.endswith("ok.txt") and where == "kept"
    for event in ({"file": "/etc/passwd"}, {"file": "../../outside.txt"}, {"file": "run.json"},
                  {"file": "artifacts/000001/ok.txt", "artifact_path": "../escape"}):
        with pytest.warns(SweepWarning, match="skipped"):
            assert artifact_file(spool, event) is None
