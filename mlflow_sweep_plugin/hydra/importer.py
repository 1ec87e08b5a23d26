"""``mlflow-sweep import-hydra``: log a finished Hydra multirun directory afterwards, through
the same :class:`~.sweep_log.HydraSweepLog` the callback logs with live."""

from __future__ import annotations

import os

from ..sweep.submitit_records import orphans, submitted_job_num
from ..warning_types import warn as _warn
from .job_status import job_status, read_returned_metrics
from .jobs import HydraJob, find_jobs, read_job
from .metrics_csv import read_metrics
from .record import read_record
from .sweep_facts import read_sweep_facts
from .sweep_log import HydraSweepLog


def _mtime_ms(path: str) -> int | None:
    try:
        return int(os.stat(path).st_mtime * 1000)
    except OSError:
        return None


def _job_times(job: HydraJob) -> tuple[int | None, int | None]:
    """When an imported job started (its ``.hydra/config.yaml`` was written) and ended
    (its newest file)."""
    start = _mtime_ms(os.path.join(job.path, ".hydra", "config.yaml")) or _mtime_ms(job.path)
    end = start
    for dirpath, _dirs, files in os.walk(job.path):
        for name in files:
            t = _mtime_ms(os.path.join(dirpath, name))
            if t is not None and (end is None or t > end):
                end = t
    return start, end


def _warn_orphans(sweep_dir: str, job_ids) -> None:
    """One warning per submitit job that left no job directory (nothing to import)."""
    for record in orphans(sweep_dir, job_ids):
        num = submitted_job_num(record.folder, record.job_id)
        what = f"job {num} (submitit job {record.job_id})" if num is not None else f"submitit job {record.job_id}"
        how = f": {record.status} ({record.reason})" if record.ended and record.reason else \
            (f": {record.status}" if record.ended else "")
        _warn(f"{record.folder}: {what} left no Hydra job directory (it ended before Hydra started "
              f"it, or has not started yet){how}; not imported")


def import_sweep(sweep_dir: str, *, tracking_uri: str | None = None, experiment_name: str | None = None,
                 include_models: bool = False, flatten: bool = True, redact=None,
                 report: dict | bool = True) -> dict:
    """Log a finished Hydra multirun directory (``mlflow-sweep import-hydra``).

    ``redact``: as for :func:`~mlflow_sweep_plugin.tracking.params.log_config` (credential
    keys as ``***``; a list extends the names, ``()`` turns it off). Problems are
    :class:`~mlflow_sweep_plugin.warning_types.SweepWarning` warnings.

    Returns counts: ``jobs`` found, ``imported`` now, ``skipped`` (already complete),
    ``failed`` among the imported, and the ``parent_run_id`` and ``experiment_id``.
    """
    sweep_dir = os.path.abspath(sweep_dir)
    if not os.path.isdir(sweep_dir):
        raise FileNotFoundError(f"{sweep_dir} is not a directory")
    jobs = find_jobs(sweep_dir)
    if not jobs:
        raise ValueError(f"{sweep_dir} holds no Hydra job directories (sub-directories with .hydra/ "
                         "or cfg.yaml)")
    record = read_record(sweep_dir)  # the callback ran: its names, and every end it saw
    problems: list = []
    # named and tagged as the callback logged it (its record, multirun.yaml, the jobs' hydra.yaml)
    facts = read_sweep_facts(sweep_dir, record, jobs, problems)
    sweep = HydraSweepLog(sweep_dir, tracking_uri=tracking_uri, experiment_name=experiment_name,
                          include_models=include_models, flatten=flatten, redact=redact, facts=facts)
    sweep.problems.extend(problems)
    # the sweep's report on its parent, as the callback logs it (a dict: objective and mode)
    sweep.report = {} if report is True else (report or None)
    unrecorded = "KILLED" if record is not None else "FINISHED"
    for problem in sweep.problems:
        _warn(f"{sweep_dir}: {problem}")
    sweep.open_parent()
    imported = failed = 0
    job_ids = []
    for path in jobs:
        job = read_job(path, sweep_dir)
        job_ids.append(job.job_id)
        start, end = _job_times(job)
        run, complete = sweep.child_for(job, live=False, start_time=start)
        if complete:
            sweep.n_skipped += 1
            continue
        run_id = run.info.run_id
        metrics = read_metrics(job.path, sweep_dir, job.problems)
        status, reason = job_status(job, metrics, sweep_dir=sweep_dir, unrecorded=unrecorded)
        sweep.log_params(run_id, job, known=run.data.params)
        sweep.log_results(run_id, job, metrics, status, reason, end_time=end,
                          returned=read_returned_metrics(job.path, sweep_dir))
        imported += 1
        failed += status != "FINISHED"
    _warn_orphans(sweep_dir, job_ids)
    sweep.close_parent()
    return {"jobs": len(jobs), "imported": imported, "skipped": sweep.n_skipped, "failed": failed,
            "parent_run_id": sweep.parent_id, "experiment_id": sweep.experiment_id}
