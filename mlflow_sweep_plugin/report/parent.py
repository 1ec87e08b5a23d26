"""A report on a run: ``--log-to RUN_ID``, and the end of a sweep (backend, Hydra).

:func:`log_report` logs the files a report wrote (:attr:`~.build.Report.written`, never
anything else of its directory) under the run's ``report/<version>/`` artifacts
(``<version>`` = UTC time and a random suffix), the best configuration as tags
``mlflow_sweep.best.<param>`` (the group's values, by their bare param names),
``mlflow_sweep.report.objective`` / ``.mode`` / ``.n_tied``, ``mlflow_sweep.decided_by`` (the
stage whose runs decided the best: ``best.json``'s ``decided_by``), the path of the files as
``mlflow_sweep.report.path``, and the best group's objective mean as the metric
``mlflow_sweep.best.<objective>``.

**A second report replaces the first.** MLflow can neither rename artifacts nor change
several tags atomically, so the path tag is the switch: the new files are uploaded
beside the old ones (invisible until the tag names them), then the tags are set in one
request, the earlier report's tags that the new one does not set are deleted
(``delete_tag``; not the sweep's ``mlflow_sweep.report.state``: pending stays pending
until the sweep says done) and, last, the earlier version's files are deleted where the artifact
store can delete (local, S3, ``mlflow-artifacts``; elsewhere they stay, one warning).
Two reports logged at once never mix: the one whose path tag is set last wins, re-sets
its tags until the run shows exactly them, and the other deletes its own files and
changes nothing more (in a close race the loser's files may stay beside the winner's,
never named by the tag). Metrics cannot be deleted in MLflow: an earlier objective's
``mlflow_sweep.best.<objective>`` metric stays (the tags say which is current).

:func:`report_parent` is what a sweep calls when it ends: the report of the sweep's
children (tag ``mlflow_sweep.sweep_id``, role ``child``; superseded retries left out) is
built in a temporary directory and logged on the parent. Any failure is one warning;
it never raises.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import tempfile
import time
import uuid

from ..errors import UsageError
from ..sweep.query import client_uri, tag_filter, without_runs
from ..tags import (TAG_BEST_PREFIX, TAG_DECIDED_BY, TAG_REPORT_PATH, TAG_REPORT_PREFIX, TAG_REPORT_STATE, TAG_ROLE,
                    TAG_SWEEP_ID)
from ..tracking.sink import tracking_uri_set_to
from ..warning_types import SweepWarning
from ..warning_types import warn as channel_warn

ARTIFACT_PATH = "report"
TAG_BEST = TAG_BEST_PREFIX
_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]")


def mlflow_key(text: str) -> str:
    """A valid MLflow tag / metric key (other characters become ``_``, at most 250)."""
    return _KEY.sub("_", str(text))[:250]


def best_tags(best) -> dict:
    """The tags :func:`log_report` sets for ``best`` (a :class:`~.best.Best`)."""
    from .columns import bare_name

    if best is None:
        return {}
    tags = {"mlflow_sweep.report.objective": best.objective, "mlflow_sweep.report.mode": best.mode}
    if best.best is not None:
        tags["mlflow_sweep.report.n_tied"] = str(len(best.tied))
        tags[TAG_DECIDED_BY] = best.decided_by
        for column, value in best.best["group"].items():
            tags[mlflow_key(TAG_BEST + bare_name(column))] = "" if value is None else str(value)[:5000]
    return tags


def log_report(report, run_id: str, *, client=None, tracking_uri: str | None = None,
               artifact_path: str = ARTIFACT_PATH) -> str:
    """Log ``report`` (a :class:`~.build.Report`) on run ``run_id``, replacing the
    report logged there before (see the module docstring). Returns the artifact path the
    report's files are under. An unknown run is a :class:`UsageError`."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from ..uri import resolve_tracking_uri

    if client is None:
        client = MlflowClient(resolve_tracking_uri(tracking_uri))
    try:
        before = client.get_run(run_id)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or "not found" in str(exc).lower():
            raise UsageError(f"--log-to: no run {run_id!r} in this tracking store") from None
        raise
    version = f"{artifact_path}/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    with _maybe_uri(client_uri(client)):
        with tempfile.TemporaryDirectory(prefix="mlflow-sweep-report-upload-") as tmp:
            for rel in report.written:  # the report's own files, and nothing else of its directory
                target = os.path.join(tmp, *rel.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.join(report.directory, *rel.split("/")), target)
            client.log_artifacts(run_id, tmp, version)
        tags = {**best_tags(report.best), TAG_REPORT_PATH: version}
        previous = client.get_run(run_id).data.tags.get(TAG_REPORT_PATH)  # just before ours is set
        if _make_current(client, run_id, tags, _best_metrics(report.best)):
            if previous and previous != version and _is_version(previous, artifact_path):
                _delete_artifacts(client, before.info.artifact_uri, previous)
        else:  # another report logged at the same time is the current one: ours is dropped
            _delete_artifacts(client, before.info.artifact_uri, version)
            channel_warn(SweepWarning(f"run {run_id}: another report was logged on it at the same time "
                                      "and replaced this one"))
    return version


def _best_metrics(best) -> list:
    from mlflow.entities import Metric

    if best is None or best.best is None or best.best["mean"] is None or not math.isfinite(best.best["mean"]):
        return []
    return [Metric(mlflow_key(TAG_BEST + best.objective), float(best.best["mean"]), int(time.time() * 1000), 0)]


def _is_report_tag(key: str) -> bool:
    """A tag a report sets (and a newer one replaces); not ``mlflow_sweep.report.state``,
    which the sweep that asked for the report owns (pending until it sets done/failed:
    deleting it would tell a waiting reader the report is no longer being made)."""
    return key.startswith((TAG_REPORT_PREFIX, TAG_BEST_PREFIX)) and key != TAG_REPORT_STATE


def _make_current(client, run_id: str, tags: dict, metrics: list, rounds: int = 5) -> bool:
    """Set the report's tags (its path among them) and delete every other report tag,
    as one step for readers that follow the path tag: False when another report took
    the path tag meanwhile (the last to set it wins; the loser then changes nothing).
    Repeated until the run shows exactly ``tags``: a concurrent loser's deletions are
    undone."""
    from mlflow.entities import RunTag

    version = tags[TAG_REPORT_PATH]
    client.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
    for _ in range(rounds):
        current = client.get_run(run_id).data.tags
        if current.get(TAG_REPORT_PATH) != version:
            return False
        stale = [k for k in current if _is_report_tag(k) and k not in tags]
        missing = [RunTag(k, v) for k, v in tags.items() if current.get(k) != v]
        if not stale and not missing:
            return True
        if missing:
            client.log_batch(run_id, tags=missing)
        for key in stale:
            with contextlib.suppress(Exception):  # gone already (a concurrent report removed it)
                client.delete_tag(run_id, key)
    return client.get_run(run_id).data.tags.get(TAG_REPORT_PATH) == version


def _is_version(path: str, artifact_path: str) -> bool:
    return bool(re.fullmatch(re.escape(artifact_path) + r"/\d{8}T\d{6}Z-[0-9a-f]{8}", path))


def _delete_artifacts(client, artifact_uri: str, path: str) -> None:
    """Remove an earlier report's files; a store that cannot delete keeps them (one warning)."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        get_artifact_repository(artifact_uri).delete_artifacts(path)
    except Exception as exc:  # noqa: BLE001 - not every artifact store can delete
        channel_warn(SweepWarning(f"the earlier report's files under {path} are kept: this artifact store "
                                  f"could not delete them ({type(exc).__name__}: {exc})"))


def current_report_path(run) -> str | None:
    """The artifact path of the report logged on ``run`` (a run or its tags), if any."""
    tags = run if isinstance(run, dict) else run.data.tags
    return tags.get(TAG_REPORT_PATH)


def report_parent(client, parent_run_id: str, experiment_id: str, objective: str | None = None,
                  mode: str = "min", *, sweep_id: str | None = None, exclude_run_ids=(), **options):
    """Build the report of a sweep's children and log it on the parent run.

    ``options``: more :class:`~.build.ReportOptions` fields (``over``, ``band``, ...).
    Returns the :class:`~.build.Report`, or None when it could not be made (one
    :class:`SweepWarning` through the library's warning channel)."""
    try:
        return _report_parent(client, parent_run_id, experiment_id, objective, mode, sweep_id,
                              exclude_run_ids, options)
    except Exception as exc:  # noqa: BLE001 - a report never fails the sweep
        channel_warn(SweepWarning(
            f"run {parent_run_id}: the sweep report could not be made: {type(exc).__name__}: {exc}"))
        return None


def _maybe_uri(uri: str | None):
    """MLflow 2.x resolves ``mlflow-artifacts:/`` against the *current* tracking URI."""
    return tracking_uri_set_to(uri) if uri else contextlib.nullcontext()


def _report_parent(client, parent_run_id, experiment_id, objective, mode, sweep_id, exclude_run_ids,
                   options):
    from .build import ReportOptions, build_report
    from .source import load

    if sweep_id is None:
        sweep_id = client.get_run(parent_run_id).data.tags.get(TAG_SWEEP_ID)
    if not sweep_id:
        raise UsageError(f"run {parent_run_id} has no {TAG_SWEEP_ID} tag: it is not a sweep parent")
    if "'" in sweep_id:
        raise UsageError(f"unexpected sweep id {sweep_id!r}")
    source = load(experiment_ids=[str(experiment_id)], tracking_uri=client_uri(client),
                  filter_string=tag_filter({TAG_SWEEP_ID: sweep_id, TAG_ROLE: "child"}))
    df = without_runs(source.df, {parent_run_id, *exclude_run_ids})
    with tempfile.TemporaryDirectory(prefix="mlflow-sweep-report-") as tmp:
        report = build_report(df, os.path.join(tmp, ARTIFACT_PATH),
                              ReportOptions(objective=objective, mode=mode, **options),
                              captures=source.captures, source=source)
        log_report(report, parent_run_id, client=client)
    return report
