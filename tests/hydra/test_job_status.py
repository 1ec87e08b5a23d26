"""mlflow_sweep_plugin.hydra.job_status: how a job ended, as far as its directory proves it."""

from __future__ import annotations

import pathlib
import shutil

from mlflow_sweep_plugin.hydra.job_status import (JOB_RETURN, NO_END_RECORDED, job_status, log_failure,
                                                  read_job_return, write_job_return)
from mlflow_sweep_plugin.hydra.jobs import read_job
from mlflow_sweep_plugin.hydra.metrics_csv import parse_metrics_csv

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def _job(tmp_path):
    sweep = tmp_path / "multirun"
    shutil.copytree(DATA / "hydra_multirun", sweep)
    return sweep / "0"


def test_the_callbacks_record_round_trips(tmp_path):
    job = _job(tmp_path)
    write_job_return(str(job), "FAILED", "ValueError: bad lr")
    assert read_job_return(str(job)) == ("FAILED", "ValueError: bad lr")
    assert job_status(read_job(str(job)), None) == ("FAILED", "ValueError: bad lr")
    write_job_return(str(job), "COMPLETED")
    assert job_status(read_job(str(job)), None) == ("FINISHED", None)
    (job / JOB_RETURN).write_text("status: exploded\n")
    assert read_job_return(str(job)) is None


def test_a_log_ending_in_a_traceback_is_a_failure_unless_the_job_went_on(tmp_path):
    job = _job(tmp_path)
    log = job / "train.log"
    log.write_text("[2024-01-01 10:00:00] start\nTraceback (most recent call last):\n  File \"x\"\n"
                   "RuntimeError: CUDA out of memory\n")
    assert log_failure(str(job)) == "RuntimeError: CUDA out of memory"
    assert job_status(read_job(str(job)), None) == ("FAILED", "RuntimeError: CUDA out of memory")
    log.write_text(log.read_text() + "[2024-01-01 10:05:00] retrying on CPU\n")
    assert log_failure(str(job)) is None


def test_a_partial_metrics_file_is_a_failure(tmp_path):
    job = _job(tmp_path)
    metrics_csv = job / "facts" / "metrics.csv"
    complete = parse_metrics_csv(metrics_csv.read_text())
    assert job_status(read_job(str(job)), complete) == ("FINISHED", None)
    partial = parse_metrics_csv(metrics_csv.read_text().rstrip("\n") + "\n2,299,0.5")  # cut short
    status, reason = job_status(read_job(str(job)), partial)
    assert status == "FAILED" and reason.startswith("partial facts/metrics.csv: ")
    assert "cut short" in reason


def test_without_any_record_the_caller_decides(tmp_path):
    job = read_job(str(_job(tmp_path)))
    assert job_status(job, None) == ("FINISHED", None)
    assert job_status(job, None, unrecorded=None) == (None, None)
    assert job_status(job, None, unrecorded="KILLED") == ("KILLED", NO_END_RECORDED)
