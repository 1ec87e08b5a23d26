"""Where logging calls go: a tracking store through ``MlflowClient``, or a ``sweep_run``.

Every public logging function (``log_config``, ``log_metrics``, the artifact helpers)
writes through a *sink* with four operations (params/metrics/tags in batches, one
artifact file, end of run, and the params already logged). :func:`resolve_sink`
picks it: the active :func:`~mlflow_sweep_plugin.sweep_run` when there is one (which
switches to its spool when the server goes away), else the given run, else MLflow's
active run. So code written against these functions keeps working offline.
"""

from __future__ import annotations

import contextlib
import os
import random
import time

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ..envvars import scoped_environ
from ..failures import is_locked, no_credential_urls
from ..stores import ensure_sqlite_store

MAX_PARAMS_TAGS_PER_BATCH = 100  # mlflow.utils.validation limits of one log_batch request
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000

# the sweep runs entered and not yet left, innermost last (see run.py)
_ACTIVE_RUNS: list = []


def now_ms() -> int:
    return int(time.time() * 1000)


# -- "database is locked" (:func:`~mlflow_sweep_plugin.failures.is_locked`) ------------------
LOCK_RETRY_SECONDS_ENV = "MLFLOW_SWEEP_LOCK_RETRY_SECONDS"
DEFAULT_LOCK_RETRY_SECONDS = 300.0
#: how many calls this process retried because the database was locked (benchmarks print it)
LOCK_RETRIES = {"count": 0}


def retry_locked(call, *args, **kwargs):
    """``call(*args, **kwargs)``, tried again with backoff (0.05 s doubling to 2 s, with
    jitter) while it fails with "database is locked", for up to
    ``$MLFLOW_SWEEP_LOCK_RETRY_SECONDS`` (default 300 s; then the error is raised, and a
    ``sweep_run`` spools what it could not log). Safe because MLflow's SQL store writes
    each call in one transaction, rolled back when it fails: nothing is logged twice."""
    try:
        budget = float(os.environ.get(LOCK_RETRY_SECONDS_ENV, DEFAULT_LOCK_RETRY_SECONDS))
    except ValueError:
        budget = DEFAULT_LOCK_RETRY_SECONDS
    deadline = time.monotonic() + budget
    delay = 0.05
    while True:
        try:
            return call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - only "locked" is retried; the rest is raised
            if not is_locked(exc) or time.monotonic() + delay > deadline:
                raise
        LOCK_RETRIES["count"] += 1
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 2.0)


def batches(params: dict, metrics: list, tags: dict):
    """Split into ``log_batch``-sized chunks: <= 100 params, <= 100 tags,
    <= 1000 metrics and <= 1000 entities per request; as few requests as possible."""
    params, tags, metrics = list(params.items()), list(tags.items()), list(metrics)
    while params or tags or metrics:
        p, params = params[:MAX_PARAMS_TAGS_PER_BATCH], params[MAX_PARAMS_TAGS_PER_BATCH:]
        t, tags = tags[:MAX_PARAMS_TAGS_PER_BATCH], tags[MAX_PARAMS_TAGS_PER_BATCH:]
        room = MAX_ENTITIES_PER_BATCH - len(p) - len(t)
        n = min(room, MAX_METRICS_PER_BATCH)
        m, metrics = metrics[:n], metrics[n:]
        yield dict(p), m, dict(t)


class ClientSink:
    """Logs straight into one run of a tracking store."""

    def __init__(self, run_id: str, client=None, params: dict | None = None):
        """``params``: the params the run has, when the caller knows them (a run it has
        just created: ``{}``), so that none is read back before logging more."""
        if client is None:
            client = MlflowClient()
        self.client = client
        self.run_id = run_id
        self._params = None if params is None else dict(params)

    def existing_params(self) -> dict:
        if self._params is not None:
            return dict(self._params)
        return dict(retry_locked(self.client.get_run, self.run_id).data.params)

    def log_batch(self, params=None, metrics=(), tags=None) -> None:
        """``metrics`` are ``(key, value, timestamp_ms, step)`` tuples."""
        if self._params is not None and params:
            self._params.update({k: str(v) for k, v in params.items()})

        for p, m, t in batches(params or {}, metrics, tags or {}):
            retry_locked(
                self.client.log_batch,
                self.run_id,
                metrics=[Metric(k, float(v), int(ts), int(s)) for k, v, ts, s in m],
                params=[Param(k, str(v)) for k, v in p.items()],
                tags=[RunTag(k, str(v)) for k, v in t.items()],
            )

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        retry_locked(self.client.log_artifact, self.run_id, local_path, artifact_path or None)

    def end(self, status: str = "FINISHED", end_time: int | None = None) -> None:
        # MLflow prints "View run ... at: <tracking URI>" here: never with credentials
        with no_credential_urls(getattr(self.client, "tracking_uri", None)):
            retry_locked(self.client.set_terminated, self.run_id, status=status, end_time=end_time)


def get_or_create_experiment(client, name: str) -> str:
    """The id of experiment ``name``, created if missing (and if a parallel job created
    it meanwhile, that one)."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def active_sweep_run():
    return _ACTIVE_RUNS[-1] if _ACTIVE_RUNS else None


def resolve_sink(run_id: str | None = None, client=None):
    """The sink for ``run_id``; for ``None`` the active sweep run, else MLflow's active
    run (started when there is none, as ``mlflow.log_param`` does). A sink object
    (a ``SweepRun``) passed as ``run_id`` is used as it is."""
    if hasattr(run_id, "log_batch"):
        return run_id
    active = active_sweep_run()
    if active is not None and (run_id is None or run_id == active.run_id):
        return active
    if run_id is None:
        run = mlflow.active_run()
        if run is None:
            ensure_sqlite_store(mlflow.get_tracking_uri())  # a new sqlite file: created once, under a lock
            run = mlflow.start_run()
        run_id = run.info.run_id
    return ClientSink(run_id, client)


@contextlib.contextmanager
def tracking_uri_set_to(uri: str):
    """MLflow's current tracking URI is ``uri`` inside, and exactly what it was after
    (including "not set", so ``$MLFLOW_TRACKING_URI`` counts again). Needed where MLflow
    resolves something against the current URI rather than a client's (``mlflow.start_run``;
    ``mlflow-artifacts:`` artifact URIs on MLflow 2.x)."""
    try:
        from mlflow.tracking._tracking_service import utils as _utils  # private API: handled below

        saved = _utils._tracking_uri
    except (ImportError, AttributeError):  # pragma: no cover - other MLflow layouts
        _utils, saved = None, mlflow.get_tracking_uri()
    # mlflow.set_tracking_uri also writes $MLFLOW_TRACKING_URI: that is restored too
    with scoped_environ({"MLFLOW_TRACKING_URI": uri}):
        mlflow.set_tracking_uri(uri)
        try:
            yield
        finally:
            if _utils is not None and saved is None:
                _utils._tracking_uri = None
            else:
                mlflow.set_tracking_uri(saved)
