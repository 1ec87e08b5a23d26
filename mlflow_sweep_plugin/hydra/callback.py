"""The Hydra callback (public name ``mlflow_sweep_plugin.hydra.MLflowSweepCallback``).

Configure it in the app's config (a ``defaults:`` list ends with ``- _self_``, so that
this block is merged last and Hydra does not warn that ``_self_`` is missing)::

    hydra:
      callbacks:
        mlflow_sweep:
          _target_: mlflow_sweep_plugin.hydra.MLflowSweepCallback
          experiment_name: my_sweep      # default: $MLFLOW_EXPERIMENT_NAME, else the job name
          # tracking_uri: http://...     # default: $MLFLOW_TRACKING_URI / MLflow's default
          # include_models: false        # log model.pt / checkpoints too
          # flatten: true                # parse the job's artifacts into metrics
          # redact_keys: [hf_home]       # more credential names; [] logs them as they are
          # return_metric: return_value  # a job's numeric return value (a dict: one per number)
          # report_in_background: true   # the sweep's report made after it, by a process of its own

In ``--multirun`` mode: on multirun start, a parent run; per job, a child run (logged by
:mod:`.sweep_log`, the same code as ``mlflow-sweep import-hydra``) that the job's own
MLflow calls log into (``MLFLOW_RUN_ID`` is set while it runs; runs it creates itself get
the sweep tags); on job end, ``facts/metrics.csv``, the job's files and its status
(FAILED when it raised, recorded in the job's ``.hydra/job_return.yaml`` too, so that
``import-hydra`` of the directory gives the same status); on multirun end, the counts and
sweep table on the parent.
Hydra's basic sweeper stops the sweep after a failed job without calling
``on_multirun_end``, so the parent is also closed when the process exits.

A failure in here never fails the job: it becomes one warning
(:class:`~mlflow_sweep_plugin.warning_types.SweepWarning`); each hook prints the warnings
of its work as ``mlflow-sweep: warning: ...`` lines on stderr
(:func:`~mlflow_sweep_plugin.console.printing_warnings`).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os

import sys

from ..console import printing_warnings
from ..console import say as _say
from ..envvars import scoped_environ
from ..failures import is_uncompleted_job
from ..sweep.outcome import error_text
from ..tags import (ENV_EXPERIMENT_ID, ENV_EXPERIMENT_NAME, ENV_HYDRA_SWEEP_DIR, ENV_RUN_ID,
                    ENV_TRACKING_URI, HYDRA_REPORT_LOG, TAG_ERROR)
from ..uri import redact_uri
from ..warning_types import warn as _warn
from .job_status import RETURN_METRIC, returned_metrics, write_job_return
from .jobs import launcher_facts, plain_config, read_job
from .metrics_csv import read_metrics
from .record import identity_env, identity_from_env, read_record, write_record
from .sweep_facts import SweepFacts, from_hydra, read_sweep_facts
from .sweep_log import HydraSweepLog

try:  # hydra-core is an optional extra; the class is still importable without it
    from hydra.core.utils import JobStatus
    from hydra.experimental.callback import Callback as _Base
    from omegaconf import OmegaConf
except ImportError:
    _Base = object
    JobStatus = OmegaConf = None

ENV_SWEEP_DIR = ENV_HYDRA_SWEEP_DIR


def _printing(hook):
    """Run a hook with our warnings printed, one ``mlflow-sweep: warning:`` line each."""

    @functools.wraps(hook)
    def wrapper(*args, **kwargs):
        with printing_warnings():
            return hook(*args, **kwargs)

    return wrapper


def _redact_keys(value):
    """``redact_keys`` as given in the app's YAML (a ListConfig) -> a list, or None."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return [str(value)]
    return [str(v) for v in value]


def _multirun_mode(config) -> bool:
    """Whether ``config`` is a job's (or the sweep's) config in ``--multirun`` mode."""
    return str(OmegaConf.select(config, "hydra.mode", default="")).upper().endswith("MULTIRUN")


def _hydra_of(config) -> dict:
    """The live config's ``hydra`` node as plain data (interpolations as written), or {}."""
    try:
        hydra = OmegaConf.to_container(config.hydra, resolve=False)
    except Exception:  # noqa: BLE001 - a config without hydra: nothing to tell
        return {}
    return hydra if isinstance(hydra, dict) else {}


def _facts_of(config, *, multirun: bool) -> SweepFacts:
    """The sweep's facts (:mod:`.sweep_facts`) from the live config, as an import reads them
    from the directory; ``multirun``: the multirun's config (its overrides are the sweep's)."""
    facts = from_hydra(_hydra_of(config), with_overrides=multirun)
    job_name = OmegaConf.select(config, "hydra.job.name")
    facts.job_name = str(job_name) if job_name else facts.job_name
    return facts


class MLflowSweepCallback(_Base):
    """Log a Hydra multirun sweep into MLflow: one parent run, one child run per job.

    With launchers that run each job in a process of its own (submitit, joblib) the
    callback is pickled into every job with Hydra's context; its state there is its
    config and the sweep's identity (:mod:`.record`), plain strings, so a job on
    another host needs nothing of the process that submitted it. Only that process (the
    one that ran ``on_multirun_start``) closes the parent.
    """

    def __init__(self, experiment_name: str | None = None, tracking_uri: str | None = None,
                 sweep_name: str | None = None, include_models: bool = False,
                 flatten: bool = True, redact_keys=None, report: bool = True,
                 report_objective: str | None = None, report_mode: str = "min",
                 return_metric: str | None = RETURN_METRIC, report_in_background: bool = True):
        self.experiment_name = experiment_name
        self.tracking_uri = tracking_uri
        self.sweep_name = sweep_name
        self.include_models = bool(include_models)
        self.flatten = bool(flatten)
        # credential names beyond the defaults; [] turns redaction off (see tracking.redact)
        self.redact_keys = _redact_keys(redact_keys)
        # the sweep's report on its parent when it ends (report_objective ranks the configurations)
        self.report = {"objective": report_objective, "mode": report_mode} if report else None
        # made by a process of its own once the parent has ended: the sweep does not wait for it
        self.report_in_background = bool(report_in_background)
        # the metric a job's numeric return value is logged as (a dict: one per entry); None: none
        self.return_metric = str(return_metric) if return_metric else None
        self._multirun = False  # a multirun started: record each job's end in its directory
        self._identity = None  # the sweep's identity (sweep_record.IDENTITY_KEYS), travels to the jobs
        self._process_state()

    def _process_state(self) -> None:
        """What belongs to this process only (never pickled)."""
        self._sweep = None
        self._open = False  # this process opened the parent and must close it
        self._job = None  # (run_id, HydraJob, the job's environment: closing it restores ours)
        self._exported = None  # the sweep's identity in this process's environment
        self._at_exit = False
        self._launcher = None

    # -- what travels to a job ---------------------------------------------------------
    def __getstate__(self) -> dict:
        # the callback's settings (every public attribute: what its config gave), not what
        # belongs to this process (the clients, the open job, the exported environment)
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        state["_multirun"] = self._multirun
        identity = dict(self._identity) if self._identity else None
        if identity and identity.get("tracking_uri") and redact_uri(identity["tracking_uri"]) != identity["tracking_uri"]:
            identity["tracking_uri"] = None  # no credentials in the job's pickle: $MLFLOW_TRACKING_URI
        state["_identity"] = identity
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._process_state()

    def _reporting(self, sweep: HydraSweepLog) -> None:
        """The sweep's report as configured: on its parent when it ends, made in the
        background (warnings in ``.mlflow_sweep_report.log`` in the sweep directory)."""
        sweep.report = self.report
        sweep.lifecycle.detach_report = self.report_in_background
        sweep.lifecycle.report_log = os.path.join(sweep.sweep_dir, HYDRA_REPORT_LOG)

    # -- multirun ----------------------------------------------------------------------
    @_printing
    def on_multirun_start(self, config, **kwargs) -> None:
        self._multirun = True
        try:
            sweep_dir = os.path.abspath(str(OmegaConf.select(config, "hydra.sweep.dir")))
            facts = _facts_of(config, multirun=True)
            experiment = self.experiment_name or os.environ.get(ENV_EXPERIMENT_NAME) or facts.job_name
            if self.tracking_uri:
                import mlflow  # loaded by now (the sweep log's client); the jobs' fluent API

                mlflow.set_tracking_uri(self.tracking_uri)  # the jobs' own logging goes there too
            self._sweep = HydraSweepLog(sweep_dir, tracking_uri=self.tracking_uri,
                                        experiment_name=experiment,
                                        sweep_name=self.sweep_name or facts.job_name,
                                        include_models=self.include_models, flatten=self.flatten,
                                        redact=self.redact_keys, facts=facts)
            self._reporting(self._sweep)
            self._sweep.open_parent()
            self._open = True
            self._launcher = launcher_facts(_hydra_of(config))[0]
            atexit.register(self._close_at_exit)
            self._at_exit = True
            self._identity = self._sweep.identity()
            # the jobs find the sweep in their pickled state, their environment (submitit,
            # sbatch and joblib pass it on) or the sweep record on the shared file system
            self._exported = contextlib.ExitStack()
            self._exported.enter_context(scoped_environ(dict(identity_env(self._identity),
                                                             **{ENV_SWEEP_DIR: self._sweep.sweep_dir})))
            try:
                record = dict(facts.record(), experiment_name=experiment, launcher=self._launcher)
                if facts.overrides is not None:  # as on the parent: credentials as ***
                    record["overrides"] = self._sweep.redacted_overrides(facts.overrides)
                write_record(self._sweep.sweep_dir, self._identity, **record)
            except OSError as exc:
                _warn(f"{sweep_dir}: the sweep record could not be written: {exc}")
        except Exception as exc:  # noqa: BLE001 - never break the user's sweep
            self._sweep = None
            _warn(f"sweep not tracked: {type(exc).__name__}: {exc}")

    @_printing
    def on_multirun_end(self, config, **kwargs) -> None:
        self._close()

    def _close(self, stopped_early: bool = False) -> None:
        """End the parent, once, in the process that opened it. Children whose job died
        without reporting are ended first from their directories and submitit's record;
        after an early stop, a submitit job without a record of its end is left RUNNING
        (it may still run on the cluster: ``import-hydra`` ends it and the parent later)."""
        if not self._open or self._sweep is None:
            return
        self._open = False
        with contextlib.suppress(Exception):
            atexit.unregister(self._close_at_exit)
        unrecorded = "KILLED"
        if stopped_early and str(self._launcher or "").startswith("submitit"):
            unrecorded = None
        try:
            status = self._sweep.close_parent(stopped_early=stopped_early, unrecorded=unrecorded)
            n_children, n_failed = getattr(self._sweep, "counts", ("?", "?"))
            _say(f"sweep {self._sweep.sweep_name!r}: parent run {self._sweep.parent_id} {status} "
                 f"({n_children} job(s), {n_failed} failed)")
        except Exception as exc:  # noqa: BLE001
            _warn(f"parent run {self._sweep.parent_id} not closed: {type(exc).__name__}: {exc}")
        finally:
            if self._exported is not None:
                self._exported.close()
                self._exported = None

    @_printing
    def _close_at_exit(self) -> None:
        if self._job is not None:  # the process is ending inside a job
            with contextlib.suppress(Exception):
                run_id, job = self._job[0], self._job[1]
                self._restore_env()
                self._job = None
                self._record(job.path, "KILLED", "the process ended while the job ran")
                self._sweep.client.set_tag(run_id, TAG_ERROR, error_text("the process ended while the job ran"))
                self._sweep.client.set_terminated(run_id, status="KILLED")
        self._close(stopped_early=True)  # Hydra skips on_multirun_end when something raised

    # -- jobs --------------------------------------------------------------------------
    def _job_sweep(self, config):
        """The sweep this job logs into: this process's (the basic launcher), else one
        attached from the identity in the callback's state, the environment or the
        sweep record; with none of them, the parent found or created under the sweep
        directory's lock (jobs starting at once make one)."""
        if self._sweep is not None:
            return self._sweep
        if not (self._multirun or _multirun_mode(config)):
            return None  # RUN mode
        sweep_dir = os.path.realpath(os.path.abspath(str(OmegaConf.select(config, "hydra.sweep.dir"))))
        identity = self._identity
        if not identity:
            identity = identity_from_env()
            if identity and os.environ.get(ENV_SWEEP_DIR) != sweep_dir:
                identity = None  # another sweep's (a sweep running inside a sweep's job)
        if not identity:
            identity = read_record(sweep_dir)
        options = dict(include_models=self.include_models, flatten=self.flatten, redact=self.redact_keys)
        if identity:
            identity = dict(identity, tracking_uri=identity.get("tracking_uri") or self.tracking_uri)
            self._sweep = HydraSweepLog.attach(identity, sweep_dir=sweep_dir, **options)
            self._reporting(self._sweep)
        else:
            # the job's config, then what the directory holds (multirun.yaml: the overrides)
            facts = _facts_of(config, multirun=False).merged(read_sweep_facts(sweep_dir, None, (), []))
            experiment = self.experiment_name or os.environ.get(ENV_EXPERIMENT_NAME) or facts.job_name
            self._sweep = HydraSweepLog(sweep_dir, tracking_uri=self.tracking_uri, experiment_name=experiment,
                                        sweep_name=self.sweep_name or facts.job_name, facts=facts, **options)
            self._reporting(self._sweep)
            self._sweep.open_parent()
        self._identity = self._sweep.identity()
        return self._sweep

    @_printing
    def on_job_start(self, config, *, task_function=None, **kwargs) -> None:
        try:
            sweep = self._job_sweep(config)
        except Exception as exc:  # noqa: BLE001
            _warn(f"job not tracked: the sweep could not be found: {type(exc).__name__}: {exc}")
            return
        if sweep is None:
            return  # RUN mode, or the sweep could not be tracked
        try:
            output_dir = str(OmegaConf.select(config, "hydra.runtime.output_dir"))
            job = read_job(output_dir, sweep.sweep_dir)  # nothing read through a link out of the sweep
            num = OmegaConf.select(config, "hydra.job.num")
            if isinstance(num, int):
                job.num, job.key = num, str(num)
            if not job.overrides:
                job.overrides = list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
            if job.config is None:  # hydra.output_subdir: null -> no .hydra/config.yaml
                data = OmegaConf.to_container(config, resolve=False)
                data.pop("hydra", None)
                job.config = plain_config(data)
            launcher, job_id, folder = launcher_facts(_hydra_of(config))  # the live config: what ran it
            job.launcher = launcher or job.launcher
            job.job_id = job_id or job.job_id
            job.submitit_folder = folder or job.submitit_folder
            run, _ = sweep.child_for(job, live=True)
            run_id = run.info.run_id
            sweep.log_params(run_id, job, known=run.data.params)
            env = sweep.sweep.env(job.num)
            env.update({ENV_RUN_ID: run_id, ENV_EXPERIMENT_ID: sweep.experiment_id,
                        ENV_TRACKING_URI: sweep.tracking_uri})
            job_env = contextlib.ExitStack()
            job_env.enter_context(scoped_environ(env))
            self._job = (run_id, job, job_env)
            if not self._at_exit:  # a job process: a job it is running when it ends is KILLED
                atexit.register(self._close_at_exit)
                self._at_exit = True
        except Exception as exc:  # noqa: BLE001
            _warn(f"job not tracked: {type(exc).__name__}: {exc}")

    def _restore_env(self) -> None:
        if self._job is not None:
            self._job[2].close()

    def _outcome(self, job_return) -> tuple[str, str | None, dict]:
        """FINISHED with the metrics of the task function's return value
        (:func:`~.job_status.returned_metrics`), or FAILED with the exception; KILLED when
        submitit stopped the job (its ``UncompletedJobError``: timed out and not requeued)."""
        if job_return.status == JobStatus.COMPLETED:
            return "FINISHED", None, returned_metrics(getattr(job_return, "_return_value", None),
                                                      self.return_metric)
        exc = getattr(job_return, "_return_value", None)
        if exc is None:
            return "FAILED", "the job failed", {}
        status = "KILLED" if is_uncompleted_job(exc) else "FAILED"
        return status, f"{type(exc).__name__}: {exc}", {}

    @staticmethod
    def _record(job_path: str, status: str, reason: str | None, returned: dict | None = None) -> None:
        try:
            write_job_return(job_path, status, reason, returned)
        except Exception as exc:  # noqa: BLE001 - a read-only job directory: the run still has it
            _warn(f"job {job_path}: its status could not be recorded: {type(exc).__name__}: {exc}")

    @_printing
    def on_job_end(self, config, job_return, **kwargs) -> None:
        multirun = self._multirun
        if not multirun:
            with contextlib.suppress(Exception):
                multirun = _multirun_mode(config)
        if multirun and (self._sweep is None or self._job is None):
            # not tracked: still record how the job ended, for a later import-hydra
            with contextlib.suppress(Exception):
                self._record(str(OmegaConf.select(config, "hydra.runtime.output_dir")),
                             *self._outcome(job_return))
        if self._sweep is None or self._job is None:
            return
        run_id, job, _env = self._job
        try:
            status, reason, returned = self._outcome(job_return)
            self._record(job.path, status, reason, returned)
            self._end_fluent_run(run_id, status)
            self._restore_env()
            self._job = None
            self._sweep.log_results(run_id, job, read_metrics(job.path, self._sweep.sweep_dir, job.problems),
                                    status, reason, returned=returned)
        except Exception as exc:  # noqa: BLE001
            self._restore_env()
            self._job = None
            _warn(f"run {run_id}: job results not logged: {type(exc).__name__}: {exc}")
        finally:
            if self._at_exit and not self._open:  # a job process: nothing left to end at its exit
                with contextlib.suppress(Exception):
                    atexit.unregister(self._close_at_exit)
                self._at_exit = False

    @staticmethod
    def _end_fluent_run(run_id: str, status: str) -> None:
        """End the job's MLflow run if its code left it active (so the next job's
        logging does not go into it)."""
        mlflow = sys.modules.get("mlflow")
        if mlflow is None:
            return
        with contextlib.suppress(Exception):
            while mlflow.active_run() is not None:
                active = mlflow.active_run().info.run_id
                mlflow.end_run(status=status if active == run_id else "FINISHED")
