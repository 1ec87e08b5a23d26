"""Log a Hydra multirun sweep into MLflow: the one code path behind the Hydra callback
(live, job by job) and ``mlflow-sweep import-hydra`` (afterwards, from the directory).

The sweep is a parent run keyed by its directory (tag ``mlflow_sweep.hydra.sweep_dir``,
the real path); each job a child run keyed by its number (``mlflow_sweep.hydra.job``)
with:

- params: each of the job's overrides under its own name, whatever their order
  (``db = mysql`` and ``db.port = 1111``, ``+x=1`` -> ``x``, ``~x`` -> ``x = (deleted)``)
  and its composed config (``.hydra/config.yaml``, else ``cfg.yaml``) flattened under
  ``config.`` (``config.phase1.trainer.lr``); keys that look like credentials are
  ``***`` there, in the run name and in the job's YAML and log files as logged;
- metrics: ``facts/metrics.csv`` as step metrics (``train/total_loss`` at step 99, ...),
  then the registered parsers' numbers from its artifacts (``flatten_artifacts``);
- artifacts: the job directory as it is (configs, ``facts/``, figures, logs), models and
  checkpoints only with ``include_models``;
- status: FINISHED or FAILED (the job raised; on import: what the directory proves,
  see :func:`~.job_status.job_status`), with the reason in the tag ``mlflow_sweep.error``;
- tags ``mlflow_sweep.point`` (the override params as JSON), ``mlflow_sweep.index`` (the
  job number), ``mlflow_sweep.metrics_file`` (``absent``/``partial``/``complete``), and
  ``mlflow_sweep.hydra.logged = complete`` once all of that is logged.

Problems are :class:`~mlflow_sweep_plugin.warning_types.SweepWarning` warnings.

Idempotent: a job whose run is complete is skipped on import; a run left incomplete
(an interrupted import, a killed job) is completed in place, metric points already there
not logged twice. At the end the parent gets the counts and the sweep table.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import Counter

from mlflow.entities import RunTag
from mlflow.tracking import MlflowClient

from ..failures import hide_run_urls
from ..stores import ensure_sqlite_store
from ..sweep.identity import Sweep, point_key
from ..sweep.lifecycle import SweepLifecycle
from ..sweep.outcome import error_text
from ..sweep.submitit_records import job_folder
from ..tags import (CONFIG_PREFIX, KIND_HYDRA, ROLE_CHILD, ROLE_PARENT, TAG_ERROR, TAG_EXECUTOR, TAG_HYDRA_JOB,
                    TAG_HYDRA_LOGGED, TAG_HYDRA_OVERRIDES, TAG_HYDRA_SWEEP_DIR, TAG_HYDRA_SWEEPER,
                    TAG_JOB_ID, TAG_KIND,
                    TAG_LOG_DIR, TAG_METRICS_FILE, TAG_POINT, TAG_ROLE, TAG_SUPERSEDED)
from ..tracking.keys import metric_name
from ..tracking.params import ParamChanged, log_config, log_params_checked
from ..tracking.redact import REDACTED, redact_override, redact_overrides_text, redactor
from ..tracking.sink import ClientSink, get_or_create_experiment, now_ms
from ..uri import absolute_uri, resolve_tracking_uri
from ..warning_types import warn as _warn
from .job_status import job_status, read_returned_metrics
from .jobs import HydraJob, find_jobs, job_files, outside, read_job
from .metrics_csv import MetricsTable, metrics_file_state, read_metrics
from .overrides import override_params
from .record import sweep_lock
from .secrets import redacted_text, secret_values
from .sweep_facts import SweepFacts, read_sweep_facts

KIND = KIND_HYDRA
#: files of the sweep directory logged on the parent: Hydra's record of the sweep and the
#: Optuna sweeper's best trial (``best_params``, ``best_value``)
SWEEP_FILES = ("multirun.yaml", "optimization_results.yaml")


class HydraSweepLog:
    """One Hydra sweep in one experiment of one tracking store."""

    def __init__(self, sweep_dir: str, *, tracking_uri: str | None = None,
                 experiment_name: str | None = None, sweep_name: str | None = None,
                 include_models: bool = False, flatten: bool = True, redact=None,
                 facts: SweepFacts | None = None):
        """``facts``: the sweep's name, sweeper and overrides (:mod:`.sweep_facts`); None:
        read from the directory's records. The sweep is named ``sweep_name``, else as the
        facts say (the callback's name, the job name), else after its directory."""
        self._setup(sweep_dir, resolve_tracking_uri(tracking_uri), include_models, flatten, redact)
        if facts is None:
            facts = read_sweep_facts(self.sweep_dir, None, (), self.problems)
        self.facts = facts
        self.sweep_name = sweep_name or facts.sweep_name or facts.job_name or os.path.basename(self.sweep_dir)
        self.experiment_name = experiment_name or facts.experiment_name or self.sweep_name
        self._track(Sweep(name=self.sweep_name, kind=KIND, experiment_id=self._experiment_id(self.experiment_name)))

    def _setup(self, sweep_dir: str, tracking_uri: str, include_models: bool, flatten: bool,
               redact) -> None:
        self.sweep_dir = os.path.realpath(sweep_dir)
        self.tracking_uri = absolute_uri(tracking_uri)
        hide_run_urls(self.tracking_uri)  # MLflow's "View run ... at: <URI>" never shows credentials
        # a new sqlite file: created once, under a lock (the callback's jobs start together)
        ensure_sqlite_store(self.tracking_uri)
        self.client = MlflowClient(self.tracking_uri)
        self.include_models = include_models
        self.flatten = flatten
        self.secrets = redactor(redact)  # None: redaction turned off
        self.problems: list = []
        self.facts = SweepFacts()
        self.n_skipped = 0

    def _track(self, sweep: Sweep) -> None:
        """The sweep's identity and its lifecycle in the store (the report: see ``report``)."""
        self.sweep = sweep
        self.lifecycle = SweepLifecycle(self.client, sweep, report={})

    # the sweep's report on its parent when it ends: report_parent's objective/mode; None: none
    report = property(lambda self: self.lifecycle.report,
                      lambda self, value: setattr(self.lifecycle, "report", value))
    parent_id = property(lambda self: self.sweep.parent_run_id)
    sweep_id = property(lambda self: self.sweep.sweep_id)
    experiment_id = property(lambda self: self.sweep.experiment_id)

    @classmethod
    def attach(cls, identity: dict, *, sweep_dir: str | None = None, include_models: bool = False,
               flatten: bool = True, redact=None) -> "HydraSweepLog":
        """The sweep a job belongs to, from its identity (see :mod:`.sweep_record`): no
        search and no new run, so a job never makes a parent of its own. A missing
        tracking URI is ``$MLFLOW_TRACKING_URI``'s; a missing experiment id, the parent's."""
        self = cls.__new__(cls)
        self._setup(sweep_dir or identity["sweep_dir"], resolve_tracking_uri(identity.get("tracking_uri")),
                    include_models, flatten, redact)
        parent_id = identity["parent_run_id"]
        experiment_id = identity.get("experiment_id") or self.client.get_run(parent_id).info.experiment_id
        self.sweep_name = identity.get("sweep_name") or os.path.basename(self.sweep_dir)
        self._track(Sweep(name=self.sweep_name, kind=KIND, experiment_id=experiment_id,
                          sweep_id=identity["sweep_id"], parent_run_id=parent_id))
        self.experiment_name = None
        return self

    def identity(self) -> dict:
        """What a job needs to log into this sweep (plain strings; :mod:`.sweep_record`)."""
        return {"tracking_uri": self.tracking_uri, "experiment_id": str(self.experiment_id),
                "parent_run_id": self.parent_id, "sweep_id": self.sweep_id,
                "sweep_name": self.sweep_name, "sweep_dir": self.sweep_dir}

    def _experiment_id(self, name: str) -> str:
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                raise ValueError(f"experiment {name!r} is deleted; restore it or choose another name")
            return exp.experiment_id
        return get_or_create_experiment(self.client, name)  # another process may create it meanwhile

    # -- the parent ---------------------------------------------------------------------
    def open_parent(self) -> str:
        """Find the sweep's parent run (reopening it) or create it, under the sweep
        directory's lock (:func:`~.record.sweep_lock`); its tags tell the sweeper and the
        multirun's overrides (credentials as ``***``) as the facts have them."""
        tags = {TAG_HYDRA_SWEEP_DIR: self.sweep_dir}
        if self.facts.sweeper:
            tags[TAG_HYDRA_SWEEPER] = self.facts.sweeper
        if self.facts.overrides is not None:
            tags[TAG_HYDRA_OVERRIDES] = " ".join(self.redacted_overrides(self.facts.overrides))[:5000]
        with sweep_lock(self.sweep_dir):  # processes starting at once: one parent
            return self.lifecycle.open_parent(
                {TAG_KIND: KIND, TAG_ROLE: ROLE_PARENT, TAG_HYDRA_SWEEP_DIR: self.sweep_dir}, tags)

    def close_parent(self, status: str | None = None, stopped_early: bool = False,
                     unrecorded: str | None | bool = False) -> str:
        """Counts, ``multirun.yaml`` and the sweep table on the parent; end it (FAILED
        when a job failed). ``stopped_early``: the sweep did not reach its end (Hydra's
        sweeper raised, or a job failed): FAILED, with ``mlflow_sweep.error`` when no job
        failed to say why.

        ``unrecorded``: first end the children still RUNNING without a complete log
        (their job's process died before the callback's ``on_job_end``: killed, out of
        memory, timed out) from their directories and submitit's record
        (:func:`~.hydra_jobs.job_status`); a job with no record of its end gets this
        status (None: left RUNNING, it may still be running on the cluster)."""
        if unrecorded is not False:
            self.end_unfinished(self._children(), unrecorded)
        runs = self._children()  # one search, not one per list
        children = [r for r in runs if TAG_SUPERSEDED not in r.data.tags]
        superseded = [r.info.run_id for r in runs if TAG_SUPERSEDED in r.data.tags]
        n_failed = sum(1 for r in children if r.info.status != "FINISHED")
        self.counts = (len(children), n_failed)
        if stopped_early and not n_failed and status is None:
            status = "FAILED"
            with contextlib.suppress(Exception):
                self.client.set_tag(self.parent_id, TAG_ERROR,
                                    error_text("the sweep stopped before its end: Hydra did not call "
                                               "on_multirun_end (its sweeper or launcher raised; see the "
                                               "command's output)"))
        for name in SWEEP_FILES:  # multirun.yaml; a sampling sweeper's results (Optuna's best trial)
            path = os.path.join(self.sweep_dir, name)
            real = outside(path, self.sweep_dir) if os.path.lexists(path) else None
            if real is not None:  # a link to a file elsewhere: its content is not the sweep's
                _warn(f"{self.sweep_dir}: {name}: a link leading out of the sweep directory "
                      f"(to {real}): not logged")
                continue
            if os.path.isfile(path):
                with contextlib.suppress(Exception):
                    self._log_file(self.parent_id, path, None)
        return self.lifecycle.finish(n_children=len(children), n_failed=n_failed, n_skipped=self.n_skipped,
                                     exclude_run_ids=superseded, status=status)

    def end_unfinished(self, runs, unrecorded: str | None) -> int:
        """End the children in ``runs`` that are RUNNING without a complete log, as
        their directories and submitit's record tell (see :meth:`close_parent`).
        Returns how many were ended."""
        open_runs = [r for r in runs if r.info.status == "RUNNING" and TAG_SUPERSEDED not in r.data.tags
                     and r.data.tags.get(TAG_HYDRA_LOGGED) != "complete"]
        if not open_runs:
            return 0
        jobs = {}
        for path in find_jobs(self.sweep_dir):
            job = read_job(path, self.sweep_dir)
            jobs[job.key] = job
        ended = 0
        for run in open_runs:
            run_id = run.info.run_id
            job = jobs.get(run.data.tags.get(TAG_HYDRA_JOB))
            try:
                if job is None:  # its directory is gone: nothing to log but the end
                    self.client.log_batch(run_id, tags=[RunTag(TAG_ERROR, error_text("its job directory is gone"))])
                    self.client.set_terminated(run_id, status="KILLED")
                    ended += 1
                    continue
                metrics = read_metrics(job.path, self.sweep_dir, job.problems)
                status, reason = job_status(job, metrics, sweep_dir=self.sweep_dir, unrecorded=unrecorded)
                if status is None:
                    _warn(f"run {run_id}, job {job.path}: no record of its end yet (submitit job "
                          f"{job.job_id}): left RUNNING; `mlflow-sweep import-hydra {self.sweep_dir}` "
                          "ends it and the parent once it has ended")
                    continue
                self.log_results(run_id, job, metrics, status, reason,
                                 returned=read_returned_metrics(job.path, self.sweep_dir))
                ended += 1
            except Exception as exc:  # noqa: BLE001 - one run: warn, go on with the others
                _warn(f"run {run_id}: not ended: {type(exc).__name__}: {exc}")
        return ended

    # -- secrets ------------------------------------------------------------------------
    def _redacted_override(self, text) -> str:
        return redact_override(str(text), self.secrets)

    def redacted_overrides(self, overrides) -> list:
        """``overrides`` with credentials as ``***``."""
        return [self._redacted_override(o) for o in overrides]

    def run_name(self, job: HydraJob) -> str:
        """The job's overrides (credentials as ``***``), or ``job <num>``."""
        if not job.overrides:
            return f"job {job.key}"
        return ",".join(self._redacted_override(o) for o in job.overrides)

    def _log_file(self, run_id: str, path: str, directory: str | None, values=()) -> None:
        """Log one file; a text file holding secrets as a redacted copy of it."""
        text = redacted_text(path, self.secrets, values)
        if text is None:
            ClientSink(run_id, self.client).log_artifact(path, directory)
            return
        with tempfile.TemporaryDirectory(prefix="mlflow-sweep-redacted-") as tmp:
            copy = os.path.join(tmp, os.path.basename(path))
            with open(copy, "w", encoding="utf-8") as fh:
                fh.write(text)
            ClientSink(run_id, self.client).log_artifact(copy, directory)

    def _children(self) -> list:
        return self.lifecycle.find({TAG_ROLE: ROLE_CHILD, TAG_HYDRA_SWEEP_DIR: self.sweep_dir})

    # -- the jobs -----------------------------------------------------------------------
    def child_for(self, job: HydraJob, *, live: bool, start_time: int | None = None):
        """The run to log ``job`` into, and whether it is already complete.

        On import (``live=False``) a complete run is returned as is (skip it); a run left
        incomplete is reused. Live (the job is running now), an earlier run of the same
        job is superseded by a new one.
        """
        existing = []
        if not (live and self.lifecycle.new_parent):  # (a parent this process made has no children yet)
            existing = [r for r in self.lifecycle.find({TAG_ROLE: ROLE_CHILD, TAG_HYDRA_SWEEP_DIR: self.sweep_dir,
                                                        TAG_HYDRA_JOB: job.key})
                        if TAG_SUPERSEDED not in r.data.tags]
        if existing and not live:
            complete = [r for r in existing if r.data.tags.get(TAG_HYDRA_LOGGED) == "complete"]
            run = (complete or existing)[-1]
            if not complete and run.info.status != "RUNNING":
                self.client.update_run(run.info.run_id, status="RUNNING")
            return run, bool(complete)
        tags = {TAG_HYDRA_SWEEP_DIR: self.sweep_dir, TAG_HYDRA_JOB: job.key,
                TAG_POINT: point_key(override_params(job.overrides, self.secrets or ()))[:5000]}
        tags.update(self.job_tags(job))
        run = self.lifecycle.create_child(job.num, self.run_name(job), tags, start_time=start_time,
                                          supersedes=[old.info.run_id for old in existing])
        return run, False

    def job_tags(self, job: HydraJob) -> dict:
        """Where the job ran: ``mlflow_sweep.executor`` (the Hydra launcher: ``basic``,
        ``joblib``, ``submitit_slurm``, ...) and, under submitit, ``mlflow_sweep.job_id``
        (the scheduler's job id) and ``mlflow_sweep.log_dir`` (submitit's folder with the
        job's stdout/stderr)."""
        tags = {}
        if job.launcher:
            tags[TAG_EXECUTOR] = job.launcher
        if job.job_id:
            tags[TAG_JOB_ID] = job.job_id
            folder = job_folder(job.job_id, self.sweep_dir, job.submitit_folder)
            if folder:
                tags[TAG_LOG_DIR] = os.path.realpath(folder)
        return tags

    def log_params(self, run_id: str, job: HydraJob, config=None, *, known: dict | None = None) -> None:
        """Each override under its own name, the composed config under ``config.``
        (``config`` is used when the job directory holds none); credentials as ``***``.
        ``known``: the params the run has (those of the run :meth:`child_for` returned),
        so that they are not read back first; None: read them."""
        redact = self.secrets or ()
        cfg = job.config if job.config is not None else config
        overrides = override_params(job.overrides, redact)
        sink = ClientSink(run_id, self.client, params=known)
        try:
            if overrides:
                log_params_checked(sink, overrides)
        except ParamChanged as exc:
            _warn(f"job {job.path}: overrides not logged again: {exc}")
        try:
            if cfg:
                log_config(cfg, CONFIG_PREFIX, run_id=sink, client=self.client, redact=redact)
        except ParamChanged as exc:
            _warn(f"job {job.path}: config not logged again: {exc}")

    def log_results(self, run_id: str, job: HydraJob, metrics: MetricsTable | None,
                    status: str, reason: str | None = None, end_time: int | None = None,
                    returned: dict | None = None) -> None:
        """Step metrics, the metrics of the job's return value (``returned``: name ->
        number, at step 0; :func:`~.job_status.returned_metrics`), artifacts,
        parsed-artifact metrics, status; then mark complete."""
        run = self.client.get_run(run_id)
        for problem in job.problems + (metrics.problems if metrics else []):
            _warn(f"run {run_id}, job {job.path}: {problem}")
        points = [(metric_name([k]), v, s) for k, v, s in metrics.points] if metrics is not None else []
        points += [(k, v, 0) for k, v in (returned or {}).items()]
        if points:
            already = {k for k, _, _ in points if k in run.data.metrics}
            if already:
                points = _without_logged(self.client, run_id, points, already)
            ts = now_ms()
            ClientSink(run_id, self.client).log_batch(metrics=[(k, v, ts, s) for k, v, s in points])
        values = secret_values(job.config, job.overrides, self.secrets)
        for rel in job_files(job.path, self.include_models):
            directory, _, _name = rel.rpartition("/")
            try:
                self._log_file(run_id, os.path.join(job.path, *rel.split("/")), directory or None,
                               values)
            except Exception as exc:  # noqa: BLE001 - one unreadable file: warn, go on
                _warn(f"run {run_id}: job file {rel} not logged: {type(exc).__name__}: {exc}")
        if self.flatten:
            self.lifecycle.flatten_child(run_id)
        tags = [RunTag(TAG_METRICS_FILE, metrics_file_state(metrics)), RunTag(TAG_HYDRA_LOGGED, "complete")]
        if reason:
            reason = redact_overrides_text(str(reason), self.secrets)
            for value in sorted(values, key=len, reverse=True):
                reason = reason.replace(value, REDACTED)
            tags.append(RunTag(TAG_ERROR, error_text(reason)))
        self.client.log_batch(run_id, tags=tags)
        self.client.set_terminated(run_id, status=status, end_time=end_time)


def _without_logged(client, run_id: str, points: list, keys: set) -> list:
    """``points`` minus those the run already has (same key, step and value): completing
    an interrupted import logs each point once."""
    have = Counter()
    for key in keys:
        for m in client.get_metric_history(run_id, key):
            have[(key, m.step, m.value)] += 1
    out = []
    for key, value, step in points:
        if have[(key, step, value)] > 0:
            have[(key, step, value)] -= 1
            continue
        out.append((key, value, step))
    return out
