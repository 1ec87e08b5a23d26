"""What a spool may touch when it is synced: its own run, its own files.

A spool is a directory anyone could have edited (or copied from another job), so
``mlflow-sweep sync`` believes nothing in it that would reach beyond it:

- **The run** named in ``run.json`` must be the one this spool started
  (:func:`check_run`): in the spool's experiment; carrying this spool's identity tag
  ``mlflow_sweep.spool_id`` if a sync created it, or, for a run that started online,
  created at the start time the job recorded; and still RUNNING, unless it was ended
  by this spool's own ``end`` event (a sync that died after ending it). Otherwise
  :class:`ForeignRun`: the spool fails (exit 1) naming the run, and nothing is written.
- **Artifacts** are only files inside the spool's ``artifacts/`` directory, resolved
  with links (a link out of the spool is refused), logged under a relative artifact
  path without ``..`` (:func:`artifact_file`); any other artifact event is one warning
  and skipped.
"""

from __future__ import annotations

import os
import posixpath

from ..errors import SweepError
from ..tags import TAG_SPOOL_ID
from ..warning_types import SweepWarning, warn


class ForeignRun(SweepError):
    """The run a spool names is not the one it started: nothing is written to it."""


def _expected_experiment(client, meta: dict) -> str | None:
    if meta.get("experiment_id"):
        return str(meta["experiment_id"])
    if meta.get("experiment_name"):
        exp = client.get_experiment_by_name(meta["experiment_name"])
        return exp.experiment_id if exp is not None else ""
    return None


def _own_end(events: list, run) -> bool:
    """Whether ``run`` was ended by this spool's own last ``end`` event."""
    ends = [e for e in events if e.get("op") == "end"]
    if not ends:
        return False
    end = ends[-1]
    return run.info.status == end.get("status") and run.info.end_time == end.get("end_time")


def check_run(client, spool, run_id: str, events: list) -> None:
    """Raise :class:`ForeignRun` unless ``run_id`` is the run ``spool`` started (module
    docstring)."""
    from mlflow.exceptions import MlflowException

    meta = spool.meta
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise ForeignRun(f"run {run_id} named by spool {spool.spool_id} does not exist in this store; "
                         "nothing synced") from None
    experiment = _expected_experiment(client, meta)
    if experiment is not None and run.info.experiment_id != experiment:
        raise ForeignRun(f"run {run_id} is in experiment {run.info.experiment_id}, not the spool's "
                         f"({meta.get('experiment_name') or experiment}): spool {spool.spool_id} did not "
                         "start it; nothing synced")
    tag = run.data.tags.get(TAG_SPOOL_ID)
    if tag is not None and tag != spool.spool_id:
        raise ForeignRun(f"run {run_id} belongs to spool {tag}, not {spool.spool_id}; nothing synced")
    started = meta.get("run_start_time")
    if tag is None and started is not None and run.info.start_time != started:
        raise ForeignRun(f"run {run_id} started at {run.info.start_time}, not when spool {spool.spool_id}'s "
                         f"run started ({started}): it is another run; nothing synced")
    if run.info.status != "RUNNING" and not _own_end(events, run):
        raise ForeignRun(f"run {run_id} has already ended elsewhere ({run.info.status}); spool "
                         f"{spool.spool_id} only completes a run it started and nothing ended; nothing synced")


def artifact_file(spool, event: dict) -> tuple[str, str | None] | None:
    """The local file and artifact path of an ``artifact`` event, or None (one warning)
    when the event names anything but a file inside the spool's ``artifacts/``."""
    root = os.path.realpath(os.path.join(spool.path, "artifacts"))
    name, artifact_path = event.get("file"), event.get("artifact_path")
    problem = None
    if not isinstance(name, str) or not name or os.path.isabs(name) or "\0" in name:
        problem = "is not a path inside the spool"
    else:
        path = os.path.realpath(os.path.join(spool.path, name))
        if os.path.commonpath([root, path]) != root or path == root:
            problem = "is outside the spool's artifacts/ (links resolved)"
        elif not os.path.isfile(path):
            problem = "is not a regular file"
    if problem is None and artifact_path is not None and not _relative(artifact_path):
        problem = f"is to be logged under {str(artifact_path)[:200]!r}, not a relative artifact path"
    if problem is not None:
        warn(SweepWarning(f"spool {spool.spool_id}: artifact {str(name)[:200]!r} {problem}: skipped"))
        return None
    return path, artifact_path


def _relative(artifact_path) -> bool:
    if not isinstance(artifact_path, str) or "\\" in artifact_path or "\0" in artifact_path:
        return False
    norm = posixpath.normpath(artifact_path)
    return not artifact_path.startswith("/") and norm != ".." and not norm.startswith("../")
