"""``sweep_run``: ``mlflow.start_run`` for research jobs that must outlive the tracking server.

::

    with sweep_run(experiment="dibs_vs_ensembles", run_name="seed-3") as run:
        log_config(cfg)                      # or run.log_config(cfg)
        for step in range(n_steps):
            log_metrics({"loss": loss}, step=step)
        log_artifacts_selectively("results/")

Online it is an ordinary MLflow run (``mlflow.active_run()`` is it, and the logging
API writes to it). If the server cannot be reached when the run starts, or stops
answering during the run, one warning is shown and everything from then on (params,
metrics with their steps and timestamps, tags, artifacts, the final status) goes to
the spool (:mod:`.spool`); the job goes on. ``mlflow-sweep sync`` replays the spool
later, exactly once (:mod:`.sync`). Unreachability is detected in seconds (:func:`~mlflow_sweep_plugin.failures.probe`).

Inside an offline ``sweep_run`` use this package's logging functions (or the run
object's methods), not ``mlflow.log_*``: MLflow's own calls have no spool.
"""

from __future__ import annotations

import contextlib
import os

import mlflow
from mlflow.tracking import MlflowClient

from ..failures import describe_error, fail_fast_http, is_offline, no_credential_urls, probe
from ..stores import ensure_sqlite_store
from ..uri import redact_uri, resolve_tracking_uri
from ..warning_types import SweepWarning, warn
from . import sink as _sink
from .artifacts import log_artifacts_selectively
from .bound import BoundLogging
from .metrics import log_metrics
from .results import log_result
from .spool import Spool, spool_root

STATUS_FINISHED, STATUS_FAILED, STATUS_KILLED = "FINISHED", "FAILED", "KILLED"


class SpoolWarning(SweepWarning):
    """The tracking store was unreachable; the run is being written to the spool."""


class SweepRun(BoundLogging):
    """The run a :func:`sweep_run` block logs to: online, spooled or disabled.

    It is a sink (see :mod:`.sink`): the package's logging functions write through it
    while it is active, and it moves to the spool the first time the store is gone.
    """

    def __init__(self, tracking_uri: str, experiment_name=None, experiment_id=None,
                 run_name=None, tags=None, spool_dir=None, enabled=True, nested=False):
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.experiment_id = experiment_id
        self.run_name = run_name
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.spool_dir = spool_dir
        self.enabled = enabled
        self.nested = nested
        self.start_time = _sink.now_ms()
        self._online = None  # ClientSink
        self._online_identity: dict = {}  # experiment_id and start time of the online run
        self._spool: Spool | None = None
        self._params: dict = {}
        self._fluent = False  # whether mlflow's fluent run stack holds our run

    # -- state ---------------------------------------------------------------------
    @property
    def run_id(self) -> str | None:
        """The MLflow run id; ``None`` while the run exists only in the spool."""
        if self._spool is not None:
            return self._spool.run_id
        return self._online.run_id if self._online is not None else None

    @property
    def spooled(self) -> bool:
        return self._spool is not None

    @property
    def spool_path(self):
        return self._spool.path if self._spool is not None else None

    # -- start and end -----------------------------------------------------------------
    def _experiment_id(self, client) -> str | None:
        if self.experiment_id is not None:
            return str(self.experiment_id)
        if not self.experiment_name:
            return None
        return _sink.get_or_create_experiment(client, self.experiment_name)

    def start(self) -> "SweepRun":
        if not self.enabled:
            return self
        reason = probe(self.tracking_uri)
        if reason is None:
            try:
                self._start_online()
                return self
            except Exception as exc:  # noqa: BLE001 - classified just below
                if not is_offline(exc):
                    raise
                reason = describe_error(exc)
        self._go_offline(reason)
        return self

    def _start_online(self) -> None:
        # a sqlite file another writer holds locked (MLflow waits 5 s to open a store, 20 s
        # in a call): wait for it rather than spool a run nobody is offline for
        _sink.retry_locked(self._open_online)

    def _open_online(self) -> None:
        ensure_sqlite_store(self.tracking_uri)  # a new sqlite file: created once, under a lock
        client = MlflowClient(self.tracking_uri)
        with fail_fast_http():
            exp_id = self._experiment_id(client)
            run = mlflow.start_run(experiment_id=exp_id, run_name=self.run_name,
                                   tags=self.tags or None, nested=self.nested)
        self._fluent = True
        self._online = _sink.ClientSink(run.info.run_id, client)
        # the run's identity, for sync to check that a spool completes only this run
        self._online_identity = {"experiment_id": str(run.info.experiment_id),
                                 "run_start_time": run.info.start_time}

    def _context_tags(self) -> dict:
        """The tags MLflow would add at run creation (source, user, git commit, ...)."""
        try:
            from mlflow.tracking.context.registry import resolve_tags  # private API: handled below

            return {str(k): str(v) for k, v in resolve_tags(self.tags).items()}
        except Exception:  # noqa: BLE001 - context tags are a courtesy offline
            return dict(self.tags)

    def _go_offline(self, reason: str) -> None:
        safe = redact_uri(self.tracking_uri)
        run_id = self._online.run_id if self._online is not None else None
        meta = {
            "tracking_uri": safe,
            "uri_redacted": safe != self.tracking_uri,
            "experiment_name": self.experiment_name,
            "experiment_id": None if self.experiment_id is None else str(self.experiment_id),
            "run_name": self.run_name,
            "start_time": self.start_time,
            "tags": self._context_tags() if run_id is None else {},
            "run_id": run_id,
            "reason": reason,
        }
        if run_id is not None:
            meta.update(self._online_identity)
        self._spool = Spool.create(self.spool_dir, meta, known_params=self._params)
        what = f"run {run_id}" if run_id else "the run"
        warn(SpoolWarning(
            f"tracking store {safe} is unreachable ({reason}); {what} goes on and is written "
            f"to the spool {self._spool.path}. Run `mlflow-sweep sync` when the store is back."),
            stacklevel=4)

    def _leave_fluent(self, status: str) -> None:
        """Take our run off MLflow's active-run stack without waiting for the server."""
        if not self._fluent:
            return
        self._fluent = False
        active = mlflow.active_run()
        if active is None or active.info.run_id != self._online.run_id:
            return
        try:
            with fail_fast_http(), no_credential_urls(self.tracking_uri):
                mlflow.end_run(status)  # pops first, then calls the (dead) server
        except Exception:  # noqa: BLE001 - the spool has the status
            pass
        active = mlflow.active_run()
        if active is not None and active.info.run_id == self._online.run_id:
            _pop_fluent_run()  # MLflow versions that call the server before popping

    def finish(self, status: str = STATUS_FINISHED) -> None:
        if not self.enabled:
            return
        end_time = _sink.now_ms()
        if self._spool is None:
            try:
                with fail_fast_http(), no_credential_urls(self.tracking_uri):
                    if self._fluent:
                        self._fluent = False
                        mlflow.end_run(status)
                    else:
                        self._online.end(status, end_time)
                return
            except Exception as exc:  # noqa: BLE001 - classified just below
                if not is_offline(exc):
                    raise
                self._go_offline(describe_error(exc))
        self._leave_fluent(status)
        self._spool.end(status, end_time)

    # -- the sink interface ------------------------------------------------------------
    def _call(self, op: str, *args, **kwargs):
        if self._spool is None:
            try:
                with fail_fast_http():
                    return getattr(self._online, op)(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - classified just below
                if not is_offline(exc):
                    raise
                self._go_offline(describe_error(exc))
        return getattr(self._spool, op)(*args, **kwargs)

    def existing_params(self) -> dict:
        if not self.enabled:
            return {}
        params = self._call("existing_params")
        self._params.update(params)
        return params

    def log_batch(self, params=None, metrics=(), tags=None) -> None:
        if not self.enabled:
            return
        self._call("log_batch", params, metrics, tags)
        if params:
            self._params.update({str(k): str(v) for k, v in params.items()})

    def log_artifact(self, local_path, artifact_path: str | None = None) -> None:
        if not self.enabled:
            return
        self._call("log_artifact", os.fspath(local_path), artifact_path)

    def end(self, status: str = STATUS_FINISHED, end_time=None) -> None:
        self.finish(status)

    # -- the logging API, bound to this run (the rest is in BoundLogging) ----------------
    @property
    def _target(self):
        return self  # what the logging functions get: this run, spool and all

    def log_param(self, key: str, value) -> None:
        self.log_params({key: value})

    def log_metric(self, key: str, value, step=None, timestamp=None) -> None:
        log_metrics({key: value}, step=step, run_id=self, timestamp=timestamp)

    def set_tag(self, key: str, value) -> None:
        self.set_tags({key: value})

    def log_artifacts(self, local_dir, artifact_path: str | None = None) -> list[str]:
        """Every file under ``local_dir`` (as ``mlflow.log_artifacts``)."""
        return log_artifacts_selectively(local_dir, artifact_path, exclude=(), run_id=self)

    def log_result(self, kind: str, result, **options):
        return log_result(kind, result, run_id=self, **options)


def _pop_fluent_run() -> None:
    try:
        from mlflow.tracking import fluent  # private API: handled below

        stack = fluent._active_run_stack
        stack = stack.get() if hasattr(stack, "get") else stack
        if stack:
            stack.pop()
    except Exception:  # noqa: BLE001 - private API; nothing else to try
        pass


@contextlib.contextmanager
def sweep_run(experiment: str | None = None, run_name: str | None = None,
              tracking_uri: str | None = None, *, experiment_id: str | None = None,
              tags: dict | None = None, spool_dir=None, nested: bool = False,
              enabled: bool = True):
    """Start a run that survives an unreachable tracking store (see the module docstring).

    - ``experiment``: experiment name (created if missing); default
      ``$MLFLOW_EXPERIMENT_NAME``; ``experiment_id`` (default ``$MLFLOW_EXPERIMENT_ID``)
      instead; neither: MLflow's default experiment.
    - ``tracking_uri``: default ``$MLFLOW_TRACKING_URI``, else MLflow's default.
    - ``spool_dir``: default ``$MLFLOW_SWEEP_SPOOL_DIR``, else ``./.mlflow-sweep/spool``.
    - ``enabled=False``: log nothing anywhere (for ``--no-mlflow``); the block runs.

    Yields a :class:`SweepRun`. The run ends ``FINISHED``, ``FAILED`` when the block
    raises, ``KILLED`` on ``KeyboardInterrupt``; the exception propagates.
    """
    uri = resolve_tracking_uri(tracking_uri)
    if experiment is None and experiment_id is None:
        experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or None
        experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or None
    run = SweepRun(uri, experiment, experiment_id, run_name, tags, spool_root(spool_dir),
                   enabled, nested)
    with contextlib.ExitStack() as stack:
        if enabled and tracking_uri and tracking_uri != mlflow.get_tracking_uri():
            stack.enter_context(_sink.tracking_uri_set_to(uri))  # mlflow.start_run uses it
        run.start()
        _sink._ACTIVE_RUNS.append(run)
        try:
            yield run
        except KeyboardInterrupt:
            run.finish(STATUS_KILLED)
            raise
        except BaseException:
            run.finish(STATUS_FAILED)
            raise
        else:
            run.finish(STATUS_FINISHED)
        finally:
            if run in _sink._ACTIVE_RUNS:
                _sink._ACTIVE_RUNS.remove(run)
