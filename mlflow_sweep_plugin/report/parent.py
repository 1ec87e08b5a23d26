"""A report on a run: ``--log-to RUN_ID``, and the end of a sweep (backend, Hydra).

:func:`log_report` logs a written report's directory under the run's ``report/``
artifacts, the best configuration as tags ``mlflow_sweep.best.<param>`` (the group's
values, by their bare param names), ``mlflow_sweep.report.objective`` / ``.mode`` /
``.n_tied``, and the best group's objective mean as the metric
``mlflow_sweep.best.<objective>``.

:func:`report_parent` is what a sweep calls when it ends: the report of the sweep's
children (tag ``mlflow_sweep.sweep_id``, role ``child``; superseded retries left out) is
built in a temporary directory and logged on the parent. Any failure is one warning;
it never raises.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile

from ..errors import UsageError
from ..sweep.query import client_uri, tag_filter, without_runs
from ..tags import TAG_ROLE, TAG_SWEEP_ID
from ..tracking.sink import tracking_uri_set_to
from ..warning_types import SweepWarning
from ..warning_types import warn as channel_warn

ARTIFACT_PATH = "report"
TAG_BEST = "mlflow_sweep.best."
_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]")


def mlflow_key(text: str) -> str:
    """A valid MLflow tag / metric key (other characters become ``_``, at most 250)."""
    return _KEY.sub("_", str(text))[:250]


def best_tags(best) -> dict:
    """The tags :func:`log_report` sets for ``best`` (a :class:`~.best.Best`)."""
    from .stats import bare_name

    if best is None:
        return {}
    tags = {"mlflow_sweep.report.objective": best.objective, "mlflow_sweep.report.mode": best.mode}
    if best.best is not None:
        tags["mlflow_sweep.report.n_tied"] = str(len(best.tied))
        for column, value in best.best["group"].items():
            tags[mlflow_key(TAG_BEST + bare_name(column))] = "" if value is None else str(value)[:5000]
    return tags


def log_report(report, run_id: str, *, client=None, tracking_uri: str | None = None,
               artifact_path: str = ARTIFACT_PATH) -> None:
    """Log ``report`` (a :class:`~.build.Report`) on run ``run_id`` (see the module
    docstring). An unknown run is a :class:`UsageError`."""
    import math

    from mlflow.entities import Metric, RunTag
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from ..uri import resolve_tracking_uri

    if client is None:
        client = MlflowClient(resolve_tracking_uri(tracking_uri))
    try:
        client.get_run(run_id)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or "not found" in str(exc).lower():
            raise UsageError(f"--log-to: no run {run_id!r} in this tracking store") from None
        raise
    with _maybe_uri(client_uri(client)):
        client.log_artifacts(run_id, report.directory, artifact_path)
    best = report.best
    tags = [RunTag(k, v) for k, v in best_tags(best).items()]
    metrics = []
    if best is not None and best.best is not None and best.best["mean"] is not None \
            and math.isfinite(best.best["mean"]):
        import time

        metrics.append(Metric(mlflow_key(TAG_BEST + best.objective), float(best.best["mean"]),
                              int(time.time() * 1000), 0))
    if tags or metrics:
        client.log_batch(run_id, metrics=metrics, tags=tags)


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
