"""How a Hydra job ended, as far as its directory proves it: the callback's
``.hydra/job_return.yaml``, submitit's record, a traceback its log ends with, a partial
``facts/metrics.csv``; and the metrics its return value gave (recorded by the callback in
``.hydra/job_return.yaml`` too)."""

from __future__ import annotations

import numbers
import os
import re
from collections.abc import Mapping

import yaml

from ..sweep.outcome import traceback_error
from ..sweep.submitit_records import record_of
from ..sweep.tails import tail_lines
from ..tracking.keys import metric_name
from .jobs import HydraJob, read_yaml
from .metrics_csv import METRICS_CSV, MetricsTable

JOB_RETURN = ".hydra/job_return.yaml"  # written by the callback: how the job ended
_LOG_RECORD = re.compile(r"^\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d")  # a new log line: the job went on
_STATUSES = {"COMPLETED": "FINISHED", "FINISHED": "FINISHED", "FAILED": "FAILED", "KILLED": "KILLED"}


RETURN_METRIC = "return_value"  # the callback's default name for a job's numeric return value


def _number(value) -> float | None:
    """``value`` as a float when it is a real number (not a bool), else None."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def returned_metrics(value, name: str | None = RETURN_METRIC) -> dict:
    """The metrics a task function's return value gives: a number as ``name``; a mapping
    as ``name/<key>`` for each of its numeric entries; anything else (None, text, a list,
    a model) none. ``name`` None or empty: none."""
    if not name:
        return {}
    number = _number(value)
    if number is not None:
        return {metric_name([name]): number}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            number = _number(item)
            if number is not None and isinstance(key, (str, int)) and not isinstance(key, bool):
                out[metric_name([name, str(key)], sep="/")] = number
        return out
    return {}


def write_job_return(job_path: str, status: str, error: str | None = None,
                     metrics: dict | None = None) -> None:
    """Record how a job ended in ``.hydra/job_return.yaml`` (Hydra itself records
    nothing), so that importing the directory later gives the status the callback saw,
    and the metrics its return value gave (:func:`returned_metrics`)."""
    path = os.path.join(job_path, *JOB_RETURN.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {"status": status}
    if error:
        data["error"] = str(error)[:5000]
    if metrics:
        data["metrics"] = {str(k): float(v) for k, v in metrics.items()}
    text = ("# how this job ended, written by mlflow-sweep's Hydra callback\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _job_return(job_path: str, problems: list | None, root: str | None) -> dict | None:
    root = os.path.dirname(os.path.abspath(job_path)) if root is None else root
    data = read_yaml(os.path.join(job_path, *JOB_RETURN.split("/")),
                     problems if problems is not None else [], JOB_RETURN, root)
    return data if isinstance(data, dict) else None


def read_job_return(job_path: str, problems: list | None = None, root: str | None = None):
    """``(status, error)`` from ``.hydra/job_return.yaml``, or None without a usable one
    (or one resolving outside ``root``, default the job directory's parent)."""
    data = _job_return(job_path, problems, root)
    if data is None:
        return None
    status = _STATUSES.get(str(data.get("status", "")).upper())
    if status is None:
        return None
    error = data.get("error")
    return status, (str(error) if error else None)


def read_returned_metrics(job_path: str, root: str | None = None) -> dict:
    """The metrics the callback logged from the job's return value, as it recorded them in
    ``.hydra/job_return.yaml`` (entries that are not ``name: number`` are left out)."""
    data = _job_return(job_path, None, root)  # (its problems are told by read_job_return)
    metrics = (data or {}).get("metrics")
    if not isinstance(metrics, dict):
        return {}
    out = {}
    for key, value in metrics.items():
        number = _number(value)
        if number is not None and isinstance(key, str) and key:
            out[metric_name([key])] = number
    return out


def log_failure(job_path: str) -> str | None:
    """The error a job's log ends with, or None: a Python traceback (``log.exception``)
    that nothing was logged after, in a ``*.log`` file of the job directory (Hydra's
    ``<job name>.log``). Returns the exception line (``ValueError: bad lr``)."""
    try:
        names = sorted(os.listdir(job_path))
    except OSError:
        return None
    for name in names:
        path = os.path.join(job_path, name)
        if not name.endswith(".log") or os.path.islink(path) or not os.path.isfile(path):
            continue
        lines = tail_lines(path)
        error, at = traceback_error(lines)
        if error and not any(_LOG_RECORD.match(line) for line in lines[at + 1:]):
            return error  # (a log record after it: the job went on, it is not how it ended)
    return None


NO_END_RECORDED = ("no record of how the job ended: the callback did not see its end and "
                   "nothing else recorded one (its process was killed, or it is still running)")


def job_status(job: HydraJob, metrics: MetricsTable | None, *, sweep_dir: str | None = None,
               unrecorded: str | None = "FINISHED") -> tuple[str | None, str | None]:
    """FINISHED, FAILED (or KILLED) with the reason, for a job read from disk, as far as
    its directory proves it: the callback's ``.hydra/job_return.yaml``, else submitit's
    record of a job that died (:mod:`~mlflow_sweep_plugin.sweep.submitit_records`: time limit, preemption, out of
    memory, an error outside the task), else a traceback its log ends with, else a
    partial ``facts/metrics.csv`` (the job stopped while writing it). Otherwise
    ``unrecorded``: FINISHED for a directory that ran without the callback (a job
    without ``facts/metrics.csv`` is not a failure: most apps write none); KILLED where
    the callback ran (it records every end it sees); None to leave the job alone (it may
    still be running)."""
    record = read_job_return(job.path, job.problems, sweep_dir)
    if record is not None:
        status, error = record
        return status, (error or "the job failed") if status != "FINISHED" else None
    submitit = None
    if job.job_id:
        submitit = record_of(job, sweep_dir or os.path.dirname(job.path))
        if submitit is not None and submitit.ended and submitit.status != "FINISHED":
            return submitit.status, submitit.reason
    error = log_failure(job.path)
    if error:
        return "FAILED", error
    if metrics is not None and not metrics.complete:
        return "FAILED", f"partial {METRICS_CSV}: " + "; ".join(metrics.problems[:3])
    if submitit is not None and submitit.ended:  # submitit saw it succeed
        return "FINISHED", None
    if unrecorded in (None, "FINISHED"):
        return unrecorded, None
    return unrecorded, NO_END_RECORDED
