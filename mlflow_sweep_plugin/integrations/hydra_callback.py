"""The Hydra callback (public name ``mlflow_sweep_plugin.hydra.MLflowSweepCallback``).

Configure it in the app's config::

    hydra:
      callbacks:
        mlflow_sweep:
          _target_: mlflow_sweep_plugin.hydra.MLflowSweepCallback
          experiment_name: my_sweep      # default: $MLFLOW_EXPERIMENT_NAME, else the job name
          # tracking_uri: http://...     # default: $MLFLOW_TRACKING_URI / MLflow's default
          # include_models: false        # log model.pt / checkpoints too
          # flatten: true                # parse the job's artifacts into metrics
          # redact_keys: [hf_home]       # more credential names; [] logs them as they are

In ``--multirun`` mode: on multirun start, a parent run; per job, a child run (logged by
:mod:`.hydra_sweep`, the same code as ``mlflow-sweep import-hydra``) that the job's own
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

from ..console import printing_warnings
from ..envvars import scoped_environ
from ..warning_types import warn as _warn

try:
    from hydra.experimental.callback import Callback as _Base
except ImportError:  # hydra-core is an optional extra; the class is still importable
    _Base = object


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


class MLflowSweepCallback(_Base):
    """Log a Hydra multirun sweep into MLflow: one parent run, one child run per job."""

    def __init__(self, experiment_name: str | None = None, tracking_uri: str | None = None,
                 sweep_name: str | None = None, include_models: bool = False,
                 flatten: bool = True, redact_keys=None):
        self.experiment_name = experiment_name
        self.tracking_uri = tracking_uri
        self.sweep_name = sweep_name
        self.include_models = bool(include_models)
        self.flatten = bool(flatten)
        # credential names beyond the defaults; [] turns redaction off (see tracking.redact)
        self.redact_keys = _redact_keys(redact_keys)
        self._sweep = None
        self._open = False
        self._multirun = False  # a multirun started: record each job's end in its directory
        self._job = None  # (run_id, HydraJob, the job's environment: closing it restores ours)

    # -- multirun ----------------------------------------------------------------------
    @_printing
    def on_multirun_start(self, config, **kwargs) -> None:
        self._multirun = True
        try:
            from omegaconf import OmegaConf

            from .hydra_sweep import HydraSweepLog

            sweep_dir = os.path.abspath(str(OmegaConf.select(config, "hydra.sweep.dir")))
            job_name = OmegaConf.select(config, "hydra.job.name")
            overrides = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
            experiment = self.experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or job_name
            if self.tracking_uri:
                import mlflow

                mlflow.set_tracking_uri(self.tracking_uri)  # the jobs' own logging goes there too
            self._sweep = HydraSweepLog(sweep_dir, tracking_uri=self.tracking_uri,
                                        experiment_name=experiment,
                                        sweep_name=self.sweep_name or job_name,
                                        include_models=self.include_models, flatten=self.flatten,
                                        redact=self.redact_keys)
            self._sweep.open_parent(overrides)
            self._open = True
            atexit.register(self._close_at_exit)
        except Exception as exc:  # noqa: BLE001 - never break the user's sweep
            self._sweep = None
            _warn(f"sweep not tracked: {type(exc).__name__}: {exc}")

    @_printing
    def on_multirun_end(self, config, **kwargs) -> None:
        self._close()

    def _close(self, stopped_early: bool = False) -> None:
        if not self._open or self._sweep is None:
            return
        self._open = False
        with contextlib.suppress(Exception):
            atexit.unregister(self._close_at_exit)
        try:
            self._sweep.close_parent(stopped_early=stopped_early)
        except Exception as exc:  # noqa: BLE001
            _warn(f"parent run {self._sweep.parent_id} not closed: {type(exc).__name__}: {exc}")

    @_printing
    def _close_at_exit(self) -> None:
        if self._job is not None:  # the process is ending inside a job
            with contextlib.suppress(Exception):
                run_id, job = self._job[0], self._job[1]
                self._restore_env()
                self._record(job.path, "KILLED", "the process ended while the job ran")
                self._sweep.client.set_terminated(run_id, status="KILLED")
        self._close(stopped_early=True)  # Hydra skips on_multirun_end when something raised

    # -- jobs --------------------------------------------------------------------------
    @_printing
    def on_job_start(self, config, *, task_function=None, **kwargs) -> None:
        if self._sweep is None:
            return  # RUN mode, or the sweep could not be tracked
        try:
            from omegaconf import OmegaConf

            from .hydra_jobs import plain_config, read_job
            from .sweep_runs import sweep_env

            output_dir = str(OmegaConf.select(config, "hydra.runtime.output_dir"))
            job = read_job(output_dir)
            num = OmegaConf.select(config, "hydra.job.num")
            if isinstance(num, int):
                job.num, job.key = num, str(num)
            if not job.overrides:
                job.overrides = list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
            if job.config is None:  # hydra.output_subdir: null -> no .hydra/config.yaml
                data = OmegaConf.to_container(config, resolve=False)
                data.pop("hydra", None)
                job.config = plain_config(data)
            run, _ = self._sweep.child_for(job, live=True)
            run_id = run.info.run_id
            self._sweep.log_params(run_id, job)
            env = sweep_env(self._sweep.sweep_id, job.num, self._sweep.parent_id, self._sweep.sweep_name)
            env.update({"MLFLOW_RUN_ID": run_id, "MLFLOW_EXPERIMENT_ID": self._sweep.experiment_id,
                        "MLFLOW_TRACKING_URI": self._sweep.tracking_uri})
            job_env = contextlib.ExitStack()
            job_env.enter_context(scoped_environ(env))
            self._job = (run_id, job, job_env)
        except Exception as exc:  # noqa: BLE001
            _warn(f"job not tracked: {type(exc).__name__}: {exc}")

    def _restore_env(self) -> None:
        if self._job is not None:
            self._job[2].close()

    @staticmethod
    def _outcome(job_return) -> tuple[str, str | None]:
        from hydra.core.utils import JobStatus

        if job_return.status == JobStatus.COMPLETED:
            return "FINISHED", None
        exc = getattr(job_return, "_return_value", None)
        return "FAILED", (f"{type(exc).__name__}: {exc}" if exc is not None else "the job failed")

    @staticmethod
    def _record(job_path: str, status: str, reason: str | None) -> None:
        from .hydra_jobs import write_job_return

        try:
            write_job_return(job_path, status, reason)
        except Exception as exc:  # noqa: BLE001 - a read-only job directory: the run still has it
            _warn(f"job {job_path}: its status could not be recorded: {type(exc).__name__}: {exc}")

    @_printing
    def on_job_end(self, config, job_return, **kwargs) -> None:
        if self._multirun and (self._sweep is None or self._job is None):
            # not tracked: still record how the job ended, for a later import-hydra
            with contextlib.suppress(Exception):
                from omegaconf import OmegaConf

                self._record(str(OmegaConf.select(config, "hydra.runtime.output_dir")),
                             *self._outcome(job_return))
        if self._sweep is None or self._job is None:
            return
        run_id, job, _env = self._job
        try:
            from .hydra_jobs import read_metrics

            status, reason = self._outcome(job_return)
            self._record(job.path, status, reason)
            self._end_fluent_run(run_id, status)
            self._restore_env()
            self._job = None
            self._sweep.log_results(run_id, job, read_metrics(job.path), status, reason)
        except Exception as exc:  # noqa: BLE001
            self._restore_env()
            self._job = None
            _warn(f"run {run_id}: job results not logged: {type(exc).__name__}: {exc}")

    @staticmethod
    def _end_fluent_run(run_id: str, status: str) -> None:
        """End the job's MLflow run if its code left it active (so the next job's
        logging does not go into it)."""
        import sys

        mlflow = sys.modules.get("mlflow")
        if mlflow is None:
            return
        with contextlib.suppress(Exception):
            while mlflow.active_run() is not None:
                active = mlflow.active_run().info.run_id
                mlflow.end_run(status=status if active == run_id else "FINISHED")
