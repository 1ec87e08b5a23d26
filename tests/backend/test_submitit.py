"""``mlflow run --backend sweep`` with ``"executor": "submitit"``: each grid point a
submitit job (submitit's local executor here; SLURM takes the same config), for real:
``max_parallel`` bounds the jobs in flight, the parent, resume and failure recording work
as with local processes, a job the cluster kills is KILLED with submitit's reason, and
each child names its executor, job id and log folder."""

from __future__ import annotations

import pathlib

import pytest

from mlflow_sweep_plugin.testing import artifact_paths, report_files
from sweep_test_helpers import mlflow_run, write_project

pytest.importorskip("submitit")

MLPROJECT = """\
name: cluster
entry_points:
  main:
    parameters:
      mode: {type: string, default: ok}
      max_alpha: {type: float, default: 1.0}
    command: "python train.py --mode {mode} --max-alpha {max_alpha}"
"""

TRAIN = '''\
import argparse
import os
import signal
import sys
import time

import mlflow

p = argparse.ArgumentParser()
p.add_argument("--mode")
p.add_argument("--max-alpha", type=float)
args = p.parse_args()


def submitit_process():
    """The job's own process (submitit's task), above bash and us."""
    pid = os.getppid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"submitit.core._submit" in fh.read():
                return pid
        with open(f"/proc/{pid}/stat") as fh:
            pid = int(fh.read().rsplit(")", 1)[1].split()[1])
    return None


with mlflow.start_run():
    time.sleep(0.5)
    print(f"working on {args.mode}", flush=True)
    if args.max_alpha < 1.5 and args.mode == "killjob":  # as the OOM killer would
        os.kill(submitit_process(), signal.SIGKILL)
        os._exit(3)
    if args.max_alpha < 1.5 and args.mode == "raise":
        raise FloatingPointError(f"alpha 2.0 above {args.max_alpha}")
    mlflow.log_metric("score", 1.0)
'''


@pytest.fixture
def project(tmp_path) -> pathlib.Path:
    return write_project(tmp_path / "project", MLPROJECT, TRAIN)


def _mlflow_run(store, project, config, *params):
    return mlflow_run(store, project, config, *params, timeout=400)


def _children(client):
    exp = client.get_experiment_by_name("grid")
    runs = client.search_runs([exp.experiment_id], "tags.`mlflow_sweep.role` = 'child'")
    return sorted(runs, key=lambda r: r.info.start_time)


def _max_in_flight(runs) -> int:
    events = sorted([(r.info.start_time, 1) for r in runs] + [(r.info.end_time, -1) for r in runs],
                    key=lambda e: (e[0], e[1]))
    level = top = 0
    for _t, step in events:
        level += step
        top = max(top, level)
    return top


def test_bad_submitit_settings_fail_before_any_run(sweep_store, project):
    from mlflow.exceptions import ExecutionException

    from mlflow_sweep_plugin.backend import SweepBackend

    exp = sweep_store.create_experiment("bad")
    for settings, message in (({"cluster": "local", "bogus_setting": 1}, "submitit refused the settings"),
                              ({"time": "soon"}, "time: 'soon' is neither minutes")):
        with pytest.raises(ExecutionException, match=message):
            SweepBackend().run(str(project), "main", {}, None,
                               {"grid": {"mode": ["ok"]}, "executor": "submitit", "submitit": settings},
                               sweep_store.tracking_uri, exp)
    with pytest.raises(ExecutionException, match='"executor" must be one of local, submitit'):
        SweepBackend().run(str(project), "main", {}, None, {"grid": {"mode": ["ok"]}, "executor": "slurm"},
                           sweep_store.tracking_uri, exp)
    assert sweep_store.client.search_runs([exp]) == []


@pytest.mark.slow  # real processes for a minute or more: CI's slow group
def test_grid_points_as_submitit_jobs_then_resume(sweep_store, project, tmp_path):
    client = sweep_store.client
    folder = tmp_path / "submitit" / "%j"
    config = {"grid": {"mode": ["ok", "raise", "killjob"]}, "max_parallel": 2, "sweep_name": "cluster",
              "executor": "submitit",
              # SLURM settings are accepted (the local executor ignores them)
              "submitit": {"cluster": "local", "folder": str(folder), "time": "0:10:00", "mem": "2G",
                           "partition": "gpu", "cpus": 1}}
    proc = _mlflow_run(sweep_store, project, dict(config, report=False))  # the report: on the resumed run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "2 of 3 grid points failed" in proc.stderr
    children = _children(client)
    assert len(children) == 3
    assert _max_in_flight(children) <= 2  # max_parallel bounds the jobs in flight
    by_mode = {c.data.params["mode"]: c for c in children}
    for mode, child in by_mode.items():
        tags = child.data.tags
        assert tags["mlflow_sweep.executor"] == "submitit"
        job_id = tags["mlflow_sweep.job_id"]
        log_dir = pathlib.Path(tags["mlflow_sweep.log_dir"])
        assert log_dir == tmp_path / "submitit" / job_id and (log_dir / f"{job_id}_0_log.out").exists()
        assert f"working on {mode}" in (log_dir / f"{job_id}_0_log.out").read_text()
    ok, failed, killed = by_mode["ok"], by_mode["raise"], by_mode["killjob"]
    assert ok.info.status == "FINISHED" and ok.data.metrics["score"] == 1.0
    assert ok.data.tags["mlflow_sweep.exit_code"] == "0"
    # failure recording as with local processes: the error line, exit code, output tails
    assert failed.info.status == "FAILED"
    assert failed.data.tags["mlflow_sweep.error"] == "FloatingPointError: alpha 2.0 above 1.0"
    assert failed.data.tags["mlflow_sweep.exit_code"] == "1"
    assert "logs/stderr.txt" in artifact_paths(client, failed.info.run_id)
    # the job itself killed (no result, no exit code): KILLED with submitit's reason
    assert killed.info.status == "KILLED"
    assert "ended without a result" in killed.data.tags["mlflow_sweep.error"]
    assert "mlflow_sweep.exit_code" not in killed.data.tags
    exp_id = client.get_experiment_by_name("grid").experiment_id
    (parent,) = client.search_runs([exp_id], "tags.`mlflow_sweep.role` = 'parent'")
    assert parent.info.status == "FAILED" and parent.data.tags["mlflow_sweep.n_failed"] == "2"

    # resume: the finished point is skipped, the other two run again (and now finish)
    proc = _mlflow_run(sweep_store, project, dict(config, resume=True), "max_alpha=3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 already finished (resume)" in proc.stderr
    children2 = _children(client)
    new = [c for c in children2 if c.info.run_id not in {x.info.run_id for x in children}]
    assert sorted(c.data.params["mode"] for c in new) == ["killjob", "raise"]
    assert all(c.info.status == "FINISHED" and c.data.tags["mlflow_sweep.executor"] == "submitit" for c in new)
    for old in (failed, killed):
        assert client.get_run(old.info.run_id).data.tags["mlflow_sweep.superseded_by"] in {c.info.run_id for c in new}
    parent2 = client.get_run(parent.info.run_id)
    assert parent2.info.status == "FINISHED"
    assert "report.html" in report_files(client, parent.info.run_id)  # as for local processes
    assert (parent2.data.tags["mlflow_sweep.n_skipped"], parent2.data.tags["mlflow_sweep.n_failed"]) == ("1", "0")
